import Foundation

/// The effective configuration: every key resolved from the highest source that sets it.
///
/// Precedence, highest first: command-line flags, the YAML file, MXBACKUP_* secrets in the environment,
/// `--env-file` (legacy .env, or the file's `legacy.env_file`), `--homeserver-config` (Synapse's database.args), the libpq variables
/// (PGHOST …), built-in defaults. Explicit beats ambient: the PG* variables may be set for another purpose.
public struct Configuration: Sendable {
    public struct Resolved: Sendable {
        public var value: ConfigValue
        public var origin: String
        /// Taken from the scripts' `.env`.
        public var fromLegacyEnvFile = false
    }

    public struct Sources: Sendable {
        public var configFile: String?
        public var envFile: String?
        public var homeserverConfig: String?
        /// Later flags win over earlier ones.
        public var flags: [ConfigFlag]

        public init(configFile: String? = nil, envFile: String? = nil, homeserverConfig: String? = nil,
                    flags: [ConfigFlag] = []) {
            self.configFile = configFile
            self.envFile = envFile
            self.homeserverConfig = homeserverConfig
            self.flags = flags
        }
    }

    /// Every key's value and where it came from, for `mxbackup config` and messages.
    let values: [String: Resolved]
    /// The YAML file that was read, if any.
    public let configFile: String?
    /// What the sources set that mxbackup does not use (the scripts' RCLONE_*, compose's DOMAIN …).
    public let notes: [ConfigNote]
    /// The typed settings; everything but `mxbackup config` reads these.
    public let settings: Settings

    public static let defaultSearchPath = ["./mxbackup.yaml", "/etc/mxbackup/mxbackup.yaml"]

    /// Which YAML file to read: `--config`, else $MXBACKUP_CONFIG (both must exist), else the first of
    /// the default paths that exists, else none.
    public static func locateConfigFile(flag: String?, environment: [String: String]) throws -> String? {
        if let explicit = flag ?? environment["MXBACKUP_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw MXError.configuration("\(explicit): configuration file not found (from \(flag != nil ? "--config" : "$MXBACKUP_CONFIG")): create it with 'mxbackup init --output \(explicit)'")
            }
            return explicit
        }
        return defaultSearchPath.first { FileManager.default.fileExists(atPath: $0) }
    }

    public static func load(_ sources: Sources, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Configuration {
        var layers: [ConfigLayer] = [.defaults, try .libpqEnvironment(environment)]
        if let path = sources.homeserverConfig { layers.append(try HomeserverConfig.load(path: path)) }
        let configFile = try locateConfigFile(flag: sources.configFile, environment: environment)
        var file = try configFile.map { try YAMLConfigFile.load(path: $0) }
        // The .env is named by --env-file, else by the file's legacy.env_file (relative to the file's directory).
        var envFile = sources.envFile
        if let configFile, case .string(let named)? = file?["legacy.env_file"] {
            let joined = named.hasPrefix("/") ? named : ((configFile as NSString).deletingLastPathComponent as NSString).appendingPathComponent(named)
            let resolved = (joined as NSString).standardizingPath
            file?["legacy.env_file"] = .string(resolved)
            envFile = envFile ?? resolved
        }
        if let path = envFile { layers.append(try LegacyEnvFile.load(path: path, environment: environment)) }
        layers.append(.secretEnvironment(environment))
        if let file { layers.append(file) }
        if let path = sources.envFile { layers.append(ConfigLayer(origin: "--env-file", values: ["legacy.env_file": .string(path)])) }
        layers += sources.flags.map(\.layer)
        return try Configuration(layers: layers, configFile: configFile)
    }

    init(layers: [ConfigLayer], configFile: String?) throws {
        for layer in layers { try Self.check(layer) }
        var values: [String: Resolved] = [:]
        for key in ConfigKey.all {
            guard let layer = layers.last(where: { $0.entries[key.path] != nil }), let entry = layer.entries[key.path] else { continue }
            if let loose = entry.looseFile {
                throw MXError.configuration("\(key.path): the secret comes from \(loose), which is readable by group or others (mode \(Secrets.mode(loose))): run chmod 600 \(loose), or move the secret to \(key.name)_file")
            }
            values[key.path] = Resolved(value: entry.value, origin: layer.origin, fromLegacyEnvFile: layer.isLegacyEnvFile)
        }
        self.values = values
        notes = layers.flatMap(\.notes)
        self.configFile = configFile
        self.settings = try Settings(ResolvedValues(values: values))
    }

    /// Every value of every source must be of its key's type and, for an enumeration, one of its values,
    /// even where a higher source overrides it: a typo anywhere is an error, never a silent default.
    /// Messages name the key, the source and what is allowed, and never carry a secret's value.
    private static func check(_ layer: ConfigLayer) throws {
        for (path, entry) in layer.entries.sorted(by: { $0.key < $1.key }) {
            guard let key = ConfigKey.named(path) else {
                throw MXError.configuration("\(layer.origin): sets '\(path)', which is not a configuration key")
            }
            let place = "\(path) (from \(layer.origin))"
            switch (key.type, entry.value) {
            case (.choice(let options), .string(let value)):
                guard options.contains(value) else {
                    throw MXError.configuration("\(place): '\(value)' is not one of \(options.joined(separator: ", "))")
                }
            case (.string, .string(let value)), (.secret, .string(let value)):
                guard !value.contains(where: { $0 == "\r" || $0 == "\0" }) else {
                    throw MXError.configuration("\(place): the value contains a carriage return or NUL byte: rewrite it in that source")
                }
            case (.int, .int), (.bool, .bool), (.list, .list):
                break
            default:
                throw MXError.configuration("\(place): has the wrong type for a \(key.type) setting")
            }
        }
    }

    /// Where a key's value came from ("default", a file, "--services").
    public func origin(_ key: String) -> String { values[ConfigKey.known(key).path]?.origin ?? "unset" }

    // MARK: the settings most commands use, under the names they have always had

    public var compression: Compression { settings.backup.compression }

    public var backupDirectory: String { settings.backup.dir }

    public var retention: RetentionPolicy { settings.retention }

    public var encryption: Encryption { settings.gpg.encryption }

    public var gpg: GPG { GPG(program: settings.gpg.program, home: settings.gpg.home) }

    public var postgres: PostgresConnection { settings.postgres }

    /// Sessions loading table data at once (`restore.jobs`; 0: one per core, at most 4).
    public var restoreJobs: Int { settings.restore.jobs }

    public var auditLog: String { settings.restore.auditLog }

    /// The effective configuration as YAML, secrets redacted, each value with its source.
    public func rendered() -> String {
        var out = "# effective configuration" + (configFile.map { " (file: \($0))" } ?? " (no configuration file found)") + "\n"
        for note in notes { out += "# note: \(note.text)\n" }
        var section = ""
        for key in ConfigKey.all {
            if key.section != section {
                section = key.section
                out += "\(section):\n"
            }
            guard let resolved = values[key.path] else {
                out += "  # \(key.name): (unset)\n"
                continue
            }
            let shown: String
            if key.type == .secret {
                shown = "'<redacted>'"
            } else if case .list(let items) = resolved.value {
                shown = "[" + items.map(Self.quoted).joined(separator: ", ") + "]"
            } else if case .string(let s) = resolved.value {
                shown = Self.quoted(s)
            } else {
                shown = resolved.value.description
            }
            // A secret can also hide inside another value (`POSTGRES_USER=${POSTGRES_PASSWORD}`).
            out += "  \(key.name): \(Secrets.redact(shown, settings.secrets))  # from \(resolved.origin)\n"
        }
        return out
    }

    private static func quoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
