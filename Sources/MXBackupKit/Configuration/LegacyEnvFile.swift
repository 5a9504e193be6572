import Foundation

/// Reads the `.env` of the shell scripts mxbackup replaces (a docker compose env file).
/// Only the variables those scripts used are taken; the rest of the file belongs to compose.
public enum LegacyEnvFile {
    static let mapping: [String: String] = [
        "POSTGRES_USER": "postgres.user",
        "POSTGRES_PASSWORD": "postgres.password",
        "POSTGRES_DB": "postgres.database",
        "GPG_RECIPIENT": "gpg.recipients",
        "BACKUP_RETENTION_DAYS": "retention.keep_days",
        "TELEGRAM_BOT_TOKEN": "telegram.bot_token",
        "TELEGRAM_CHAT_ID": "telegram.chat_id",
    ]

    public static func load(path: String) throws -> ConfigLayer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MXError.configuration("\(path): cannot read the env file: check that it exists and is readable by this user")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path, loose: Secrets.looseness(path) != nil)
    }

    static func parse(_ text: String, path: String, loose: Bool) throws -> ConfigLayer {
        var layer = ConfigLayer(origin: path)
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard let key = mapping[name] else { continue }
            let value = unquote(String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces))
            if isPlaceholder(value) { continue }
            switch key {
            case "gpg.recipients":
                layer[key] = .list(value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init))
            case "retention.keep_days":
                guard let days = Int(value), days >= 0 else {
                    throw MXError.configuration("\(path):\(number + 1): BACKUP_RETENTION_DAYS=\(value) is not a number of days")
                }
                layer[key] = .int(days)
            default:
                let secret = ConfigKey.named(key)?.type == .secret
                layer.entries[key] = .init(value: .string(value), looseFile: secret && loose ? path : nil)
            }
        }
        return layer
    }

    /// The legacy templates ship values like `CHANGE_ME_strong_password`; those mean "not set".
    static func isPlaceholder(_ value: String) -> Bool {
        let upper = value.uppercased()
        return value.isEmpty || upper.hasPrefix("CHANGE_ME") || upper.hasPrefix("CHANGEME")
            || (value.hasPrefix("<") && value.hasSuffix(">"))
    }

    private static func unquote(_ value: String) -> String {
        if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
            return String(value.dropFirst().dropLast())
        }
        // an unquoted value ends at " #" (a trailing comment)
        if let hash = value.range(of: " #") { return value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces) }
        return value
    }
}
