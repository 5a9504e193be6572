import Foundation

/// Reads the `.env` of the shell scripts mxbackup replaces (a docker compose env file), the way docker
/// compose reads it: LF or CRLF line endings; `export `; `NAME=value` or `NAME: value`; single quotes
/// (literal), double quotes (escapes, may span lines) or bare values; `#` comments on their own line,
/// after a closing quote, or after a blank (space or TAB) in a bare value; `$NAME`, `${NAME}`,
/// `${NAME:-default}` (and `-`, `:?`, `?`, `:+`, `+`) from earlier lines, then the environment; `$$` is `$`.
/// Only the variables those scripts used are taken; each other variable gets a note (`config`, `doctor`).
/// No message quotes a line or a secret's value: they name the file, the line and the variable.
public enum LegacyEnvFile {
    static let mapping: [String: String] = [
        "POSTGRES_USER": "postgres.user",
        "POSTGRES_PASSWORD": "postgres.password",
        "POSTGRES_DB": "postgres.database",
        "GPG_RECIPIENT": "gpg.recipients",
        "BACKUP_RETENTION_DAYS": "retention.keep_days",
        "TELEGRAM_BOT_TOKEN": "telegram.bot_token",
        "TELEGRAM_CHAT_ID": "telegram.chat_id",
        "SYNAPSE_SERVER_NAME": "synapse.server_name",
    ]

    /// Variables the scripts or the compose file use that mxbackup does not: each gets its note.
    static let unused: [String: (what: String, lost: Bool)] = [
        "RCLONE_REMOTE": ("the scripts copied backups offsite with rclone; mxbackup does not run rclone: set backup.offsite: [telegram], or keep an rclone job of your own", true),
        "RCLONE_PATH": ("the scripts' rclone destination; mxbackup does not run rclone (see RCLONE_REMOTE)", true),
        "DOMAIN": ("compose's, for the reverse proxy; mxbackup takes the server name from the backup's users (or SYNAPSE_SERVER_NAME)", false),
    ]

    public static func load(path: String, environment: [String: String] = [:]) throws -> ConfigLayer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MXError.configuration("\(path): cannot read the env file: check that it exists and is readable by this user")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MXError.configuration("\(path): the env file is not UTF-8 text")
        }
        return try parse(text, path: path, loose: Secrets.looseness(path) != nil, environment: environment)
    }

    static func parse(_ text: String, path: String, loose: Bool, environment: [String: String] = [:]) throws -> ConfigLayer {
        var layer = ConfigLayer(origin: path)
        layer.isLegacyEnvFile = true
        var reader = EnvFileReader(text: text, path: path, environment: environment)
        while let variable = try reader.next() {
            guard let key = mapping[variable.name] else {
                let known = unused[variable.name]
                layer.notes.append(ConfigNote(text: "\(path):\(variable.line): \(variable.name) is not used by mxbackup" + (known.map { ": \($0.what)" } ?? ""),
                                              lostFunction: known?.lost ?? false))
                continue
            }
            let place = "\(path):\(variable.line): \(variable.name)"
            switch key {
            case "gpg.recipients":
                // Encryption was asked for: a value that does not give a recipient fails closed.
                if variable.fromEnvironment, !variable.unresolved.isEmpty {
                    throw MXError.configuration("\(place) takes its value from the environment, where \(variable.name) is not set: backups would not be encrypted; set it there or in the file, or delete the line to back up unencrypted")
                }
                if let missing = variable.unresolved.first {
                    throw MXError.configuration("\(place) uses $\(missing), which is set neither earlier in the file nor in the environment: backups would not be encrypted; set it, or delete the line to back up unencrypted")
                }
                // One user id per comma-separated item: "Matrix Backup" is one recipient, not two.
                let recipients = variable.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard !recipients.isEmpty, !recipients.contains(where: isPlaceholder) else {
                    throw MXError.configuration("\(place) is \(recipients.isEmpty ? "empty" : "a template placeholder"): backups would not be encrypted; set the key's fingerprint, or delete the line to back up unencrypted")
                }
                layer[key] = .list(recipients)
            case "retention.keep_days":
                if isPlaceholder(variable.value) { continue }
                guard let days = Int(variable.value), days >= 0 else {
                    throw MXError.configuration("\(place) is not a whole number of days")
                }
                layer[key] = .int(days)
            default:
                if isPlaceholder(variable.value) { continue }
                let secret = ConfigKey.named(key)?.type == .secret
                layer.entries[key] = .init(value: .string(variable.value), looseFile: secret && loose ? path : nil)
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
}

/// One assignment of an env file.
struct EnvFileVariable {
    var name: String
    var value: String
    /// The line the assignment starts on (1-based).
    var line: Int
    /// Variables the value refers to that had no value (they were replaced by nothing).
    var unresolved: [String]
    /// A bare `NAME` line: the value is the environment's.
    var fromEnvironment: Bool
}

/// Walks an env file one assignment at a time, over Unicode scalars so that CR LF is two characters.
struct EnvFileReader {
    private let scalars: [Unicode.Scalar]
    private let path: String
    private let environment: [String: String]
    private var index = 0
    private var line = 1
    /// Every assignment so far, for interpolation in later lines.
    private var earlier: [String: String] = [:]

    init(text: String, path: String, environment: [String: String]) {
        scalars = Array(text.unicodeScalars)
        self.path = path
        self.environment = environment
    }

    private var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" }

    private static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c == "." || c.properties.isAlphabetic || ("0"..."9").contains(c)
    }

    private func error(_ line: Int, _ what: String) -> MXError {
        MXError.configuration("\(path):\(line): \(what)")
    }

    private mutating func skipBlanks() {
        while let c = current, Self.isBlank(c) { index += 1 }
    }

    private mutating func skipToEndOfLine() {
        while let c = current, c != "\n" { index += 1 }
    }

    mutating func next() throws -> EnvFileVariable? {
        while true {
            skipBlanks()
            guard let c = current else { return nil }
            if c == "\n" { index += 1; line += 1; continue }
            if c == "#" { skipToEndOfLine(); continue }
            break
        }
        let start = line
        if scalars[index...].starts(with: "export".unicodeScalars), index + 6 < scalars.count, Self.isBlank(scalars[index + 6]) {
            index += 6
            skipBlanks()
        }
        var name = ""
        while let c = current, Self.isNameCharacter(c) { name.unicodeScalars.append(c); index += 1 }
        skipBlanks()
        let separator = current ?? "\n"
        guard !name.isEmpty, separator == "=" || separator == ":" || separator == "\n" else {
            throw error(start, "not a NAME=value line (the line is not shown: it may hold a secret)")
        }
        if separator == "\n" {
            // A bare NAME takes the value from the environment, as compose does; unset, it names nothing
            // (which encryption must not take as "no encryption").
            guard let value = environment[name] else {
                return EnvFileVariable(name: name, value: "", line: start, unresolved: [name], fromEnvironment: true)
            }
            earlier[name] = value
            return EnvFileVariable(name: name, value: value, line: start, unresolved: [], fromEnvironment: true)
        }
        index += 1
        skipBlanks()
        var unresolved: [String] = []
        let value: String
        switch current {
        case "'"?:
            value = try quoted("'", name: name, start: start)
            try endOfStatement(name: name, start: start)
        case "\""?:
            let raw = try quoted("\"", name: name, start: start)
            value = try interpolate(raw, name: name, start: start, unresolved: &unresolved)
            try endOfStatement(name: name, start: start)
        default:
            var raw = String.UnicodeScalarView()
            var previous: Unicode.Scalar = " "
            while let c = current, c != "\n" {
                if c == "#" && Self.isBlank(previous) { skipToEndOfLine(); break }
                raw.append(c)
                previous = c
                index += 1
            }
            while let last = raw.last, Self.isBlank(last) { raw.removeLast() }
            value = try interpolate(String(raw), name: name, start: start, unresolved: &unresolved)
        }
        earlier[name] = value
        return EnvFileVariable(name: name, value: value, line: start, unresolved: unresolved, fromEnvironment: false)
    }

    /// A quoted value up to its closing quote (which a backslash escapes); double quotes also take
    /// `\n`, `\r`, `\t`, `\\` and `\$`. The value may span lines.
    private mutating func quoted(_ quote: Unicode.Scalar, name: String, start: Int) throws -> String {
        index += 1
        var value = String.UnicodeScalarView()
        while let c = current {
            index += 1
            if c == "\n" { line += 1 }
            if c == quote { return String(value) }
            if c == "\\", let escaped = current {
                switch (quote, escaped) {
                case (_, quote): value.append(quote); index += 1; continue
                case ("\"", "n"): value.append("\n"); index += 1; continue
                case ("\"", "r"): value.append("\r"); index += 1; continue
                case ("\"", "t"): value.append("\t"); index += 1; continue
                case ("\"", "\\"): value.append("\\"); index += 1; continue
                // kept escaped for interpolation, which turns "\$" into a literal "$"
                case ("\"", "$"): value.append("\\"); value.append("$"); index += 1; continue
                default: break
                }
            }
            value.append(c)
        }
        throw error(start, "\(name): the quoted value is not closed: add the closing \(quote)")
    }

    /// After a closing quote only blanks and a comment may follow on the line.
    private mutating func endOfStatement(name: String, start: Int) throws {
        skipBlanks()
        switch current {
        case nil, "\n"?: return
        case "#"?: skipToEndOfLine()
        default: throw error(line, "\(name): unexpected text after the closing quote (a comment starts with #)")
        }
    }

    /// Replaces `$NAME`, `${NAME}` and `${NAME<op>word}` (op `:-`, `-`, `:?`, `?`, `:+`, `+`) by their
    /// values; `$$` and `\$` are a literal `$`.
    private func interpolate(_ text: String, name: String, start: Int, unresolved: inout [String]) throws -> String {
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "\\", i + 1 < s.count, s[i + 1] == "$" { out.append("$"); i += 2; continue }
            guard c == "$", i + 1 < s.count else { out.append(c); i += 1; continue }
            if s[i + 1] == "$" { out.append("$"); i += 2; continue }
            if s[i + 1] == "{" {
                var depth = 1
                var j = i + 2
                while j < s.count {
                    if s[j] == "{" { depth += 1 } else if s[j] == "}" { depth -= 1; if depth == 0 { break } }
                    j += 1
                }
                guard j < s.count else { throw error(start, "\(name): a ${ is not closed with }") }
                let inner = Array(s[(i + 2)..<j])
                out.append(contentsOf: try expand(inner, name: name, start: start, unresolved: &unresolved).unicodeScalars)
                i = j + 1
                continue
            }
            var j = i + 1
            while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
            guard j > i + 1 else { out.append(c); i += 1; continue }
            let variable = String(String.UnicodeScalarView(s[(i + 1)..<j]))
            if let value = lookup(variable) { out.append(contentsOf: value.unicodeScalars) } else { unresolved.append(variable) }
            i = j
        }
        return String(out)
    }

    private func expand(_ inner: [Unicode.Scalar], name: String, start: Int, unresolved: inout [String]) throws -> String {
        var k = 0
        while k < inner.count, inner[k] == "_" || inner[k].properties.isAlphabetic || ("0"..."9").contains(inner[k]) { k += 1 }
        let variable = String(String.UnicodeScalarView(inner[..<k]))
        guard !variable.isEmpty else { throw error(start, "\(name): ${} needs a variable name") }
        let value = lookup(variable)
        guard k < inner.count else {
            if value == nil { unresolved.append(variable) }
            return value ?? ""
        }
        let colon = inner[k] == ":"
        let opIndex = colon ? k + 1 : k
        guard opIndex < inner.count, ["-", "?", "+"].contains(inner[opIndex]) else {
            throw error(start, "\(name): ${\(variable)…} is not a substitution compose understands")
        }
        let word = String(String.UnicodeScalarView(inner[(opIndex + 1)...]))
        let isSet = colon ? !(value ?? "").isEmpty : value != nil
        switch inner[opIndex] {
        case "-": return isSet ? value ?? "" : try interpolate(word, name: name, start: start, unresolved: &unresolved)
        case "+": return isSet ? try interpolate(word, name: name, start: start, unresolved: &unresolved) : ""
        default:
            guard isSet, let value else { throw error(start, "\(name): requires \(variable), which is not set") }
            return value
        }
    }

    private func lookup(_ variable: String) -> String? { earlier[variable] ?? environment[variable] }
}
