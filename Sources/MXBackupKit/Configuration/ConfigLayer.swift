import Foundation

/// One source of configuration values (defaults, libpq environment, homeserver.yaml, legacy .env,
/// MXBACKUP_* environment, the YAML file, flags). `Configuration.resolve` takes each key from the
/// highest layer that sets it.
public struct ConfigLayer: Sendable {
    public struct Entry: Sendable {
        public var value: ConfigValue
        /// Set when the value is a secret read from a file that group or others can read; using it is refused.
        public var looseFile: String?
    }

    /// Where the values came from, for `mxbackup config` and error messages ("flag", "/etc/mxbackup/mxbackup.yaml").
    public var origin: String
    public var entries: [String: Entry] = [:]
    /// The scripts' `.env`: its values are the old deployment's, which some defaults treat apart.
    public var isLegacyEnvFile = false
    /// One line each about what the source sets that mxbackup does not use, for `config` and `doctor`.
    public var notes: [ConfigNote] = []

    public init(origin: String, values: [String: ConfigValue] = [:]) {
        self.origin = origin
        for (key, value) in values { entries[key] = Entry(value: value) }
    }

    public subscript(key: String) -> ConfigValue? {
        get { entries[key]?.value }
        set { entries[key] = newValue.map { Entry(value: $0) } }
    }

    public static let defaults = ConfigLayer(
        origin: "default",
        values: Dictionary(uniqueKeysWithValues: ConfigKey.all.compactMap { key in key.defaultValue.map { (key.path, $0) } })
    )

    /// The standard libpq variables.
    public static func libpqEnvironment(_ env: [String: String]) throws -> ConfigLayer {
        var layer = ConfigLayer(origin: "environment (libpq)")
        if let v = env["PGHOST"], !v.isEmpty { layer["postgres.host"] = .string(v) }
        if let v = env["PGPORT"], !v.isEmpty {
            guard let port = Int(v) else { throw MXError.configuration("PGPORT=\(v) is not a port number: fix or unset it") }
            layer["postgres.port"] = .int(port)
        }
        if let v = env["PGUSER"], !v.isEmpty { layer["postgres.user"] = .string(v) }
        if let v = env["PGDATABASE"], !v.isEmpty { layer["postgres.database"] = .string(v) }
        if let v = env["PGPASSWORD"], !v.isEmpty { layer["postgres.password"] = .string(v) }
        if let v = env["PGPASSFILE"], !v.isEmpty { layer["postgres.passfile"] = .string(v) }
        return layer
    }

    /// Secrets (and the Telegram chat that goes with the token) given to mxbackup through the environment.
    public static func secretEnvironment(_ env: [String: String]) -> ConfigLayer {
        var layer = ConfigLayer(origin: "environment (MXBACKUP_*)")
        let names = ["MXBACKUP_POSTGRES_PASSWORD": "postgres.password",
                     "MXBACKUP_GPG_PASSPHRASE": "gpg.passphrase",
                     "MXBACKUP_TELEGRAM_BOT_TOKEN": "telegram.bot_token",
                     "MXBACKUP_TELEGRAM_CHAT_ID": "telegram.chat_id"]
        for (variable, key) in names {
            if let v = env[variable], !v.isEmpty { layer[key] = .string(v) }
        }
        return layer
    }
}

/// Something a source sets that mxbackup does not use: said by `config` and `doctor`, not passed over.
public struct ConfigNote: Sendable, Equatable {
    public var text: String
    /// Something the old setup did that mxbackup will not do as configured (a warning in doctor).
    public var lostFunction: Bool
}

/// File-system checks shared by every source that reads secrets from a file.
public enum Secrets {
    /// The path if group or others may read the file, else nil.
    public static func looseness(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o077 != 0 ? path : nil
    }

    public static func mode(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "?" }
        return String(st.st_mode & 0o777, radix: 8)
    }

    /// The text with every occurrence of each secret replaced, for messages that quote other programs.
    public static func redact(_ text: String, _ secrets: [String]) -> String {
        secrets.filter { !$0.isEmpty }.sorted { $0.count > $1.count }.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
    }

    /// Reads a secret from its own file: must exist, be private and not empty. Trailing newlines are dropped.
    public static func read(_ path: String, key: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MXError.configuration("\(key): cannot read \(path): check that it exists and is readable by this user")
        }
        if looseness(path) != nil {
            throw MXError.configuration("\(key): \(path) is readable by group or others (mode \(mode(path))): run chmod 600 \(path)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !text.isEmpty else { throw MXError.configuration("\(key): \(path) is empty: write the secret into it") }
        return text
    }
}
