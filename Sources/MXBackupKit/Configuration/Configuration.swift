import Foundation

/// The effective configuration: every key resolved from the highest source that sets it.
///
/// Precedence, highest first: command-line flags, the YAML file, MXBACKUP_* secrets in the environment,
/// `--env-file` (legacy .env), `--homeserver-config` (Synapse's database.args), the libpq variables
/// (PGHOST …), built-in defaults. Explicit beats ambient: the PG* variables may be set for another purpose.
public struct Configuration: Sendable {
    public struct Resolved: Sendable {
        public var value: ConfigValue
        public var origin: String
    }

    public struct Sources: Sendable {
        public var configFile: String?
        public var envFile: String?
        public var homeserverConfig: String?
        public var flags: [String: ConfigValue]

        public init(configFile: String? = nil, envFile: String? = nil, homeserverConfig: String? = nil,
                    flags: [String: ConfigValue] = [:]) {
            self.configFile = configFile
            self.envFile = envFile
            self.homeserverConfig = homeserverConfig
            self.flags = flags
        }
    }

    public let values: [String: Resolved]
    /// The YAML file that was read, if any.
    public let configFile: String?

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
        if let path = sources.envFile { layers.append(try LegacyEnvFile.load(path: path)) }
        layers.append(.secretEnvironment(environment))
        let configFile = try locateConfigFile(flag: sources.configFile, environment: environment)
        if let configFile { layers.append(try YAMLConfigFile.load(path: configFile)) }
        layers.append(ConfigLayer(origin: "command line", values: sources.flags))
        return try Configuration(layers: layers, configFile: configFile)
    }

    init(layers: [ConfigLayer], configFile: String?) throws {
        var values: [String: Resolved] = [:]
        for key in ConfigKey.all {
            guard let layer = layers.last(where: { $0.entries[key.path] != nil }), let entry = layer.entries[key.path] else { continue }
            if let loose = entry.looseFile {
                throw MXError.configuration("\(key.path): the secret comes from \(loose), which is readable by group or others (mode \(Secrets.mode(loose))): run chmod 600 \(loose), or move the secret to \(key.name)_file")
            }
            values[key.path] = Resolved(value: entry.value, origin: layer.origin)
        }
        self.values = values
        self.configFile = configFile
        try validate()
    }

    private func validate() throws {
        if let level = int("backup.level") {
            let range = compression == .gzip ? 1...9 : 1...19
            guard range.contains(level) else {
                throw MXError.configuration("backup.level: \(level) is out of range for \(compression.rawValue) (\(range.lowerBound)–\(range.upperBound)), from \(origin("backup.level"))")
            }
        }
        if (string("synapse.canary_user") == nil) != (secret("synapse.canary_password") == nil) {
            throw MXError.configuration("synapse.canary_user and synapse.canary_password go together: set both or neither")
        }
        if let size = int("telegram.part_size") {
            let official = (string("telegram.api_url") ?? "").contains("api.telegram.org")
            guard size > 0, !(official && size > 20 * 1024 * 1024) else {
                throw MXError.configuration("telegram.part_size: \(size) bytes: bots cannot download files over 20 MiB from api.telegram.org; keep it at most 20971520 (default 19922944) or point telegram.api_url at a self-hosted Bot API server")
            }
        }
        for store in list("backup.offsite") where store != "telegram" {
            throw MXError.configuration("backup.offsite: unknown store '\(store)' (known: telegram)")
        }
        if !list("gpg.recipients").isEmpty && secret("gpg.passphrase") != nil {
            throw MXError.configuration("gpg: both recipients (from \(origin("gpg.recipients"))) and a passphrase (from \(origin("gpg.passphrase"))) are set: choose one")
        }
    }

    // MARK: typed access

    public func origin(_ key: String) -> String { values[key]?.origin ?? "unset" }

    public func string(_ key: String) -> String? {
        if case .string(let s)? = values[key]?.value { return s }
        return nil
    }

    public func int(_ key: String) -> Int? {
        if case .int(let i)? = values[key]?.value { return i }
        return nil
    }

    public func bool(_ key: String) -> Bool {
        if case .bool(let b)? = values[key]?.value { return b }
        return false
    }

    public func list(_ key: String) -> [String] {
        if case .list(let l)? = values[key]?.value { return l }
        return []
    }

    public func secret(_ key: String) -> String? { string(key) }

    public var compression: Compression { Compression(rawValue: string("backup.compression") ?? "zstd") ?? .zstd }

    public var backupDirectory: String { string("backup.dir") ?? "./backups" }

    public var retention: RetentionPolicy {
        RetentionPolicy(keepDays: int("retention.keep_days"), keepLast: int("retention.keep_last"),
                        keepDaily: int("retention.keep_daily"), keepWeekly: int("retention.keep_weekly"),
                        keepMonthly: int("retention.keep_monthly"))
    }

    public var encryption: Encryption {
        let recipients = list("gpg.recipients")
        if !recipients.isEmpty { return .recipients(recipients) }
        if let passphrase = secret("gpg.passphrase") { return .symmetric(passphrase: passphrase) }
        return .none
    }

    public var gpg: GPG {
        GPG(program: string("gpg.program") ?? "gpg", home: string("gpg.home"))
    }

    public var postgres: PostgresConnection {
        PostgresConnection(
            host: string("postgres.host"), port: int("postgres.port") ?? 5432,
            user: string("postgres.user") ?? "synapse", database: string("postgres.database") ?? "synapse",
            password: secret("postgres.password"), passfile: string("postgres.passfile"),
            container: string("postgres.container"), docker: string("postgres.docker") ?? "docker",
            binDir: string("postgres.bin_dir"))
    }

    /// How Synapse is stopped and started around a restore.
    public func services() throws -> ServiceController {
        switch string("services.kind") ?? "none" {
        case "compose":
            return try ComposeServices(docker: string("postgres.docker") ?? "docker", projectDirectory: string("services.compose_dir"),
                                       services: list("services.compose_services"))
        case "systemd":
            let units = list("services.systemd_units")
            guard !units.isEmpty else { throw MXError.configuration("services.systemd_units: empty: list Synapse's units, main process first") }
            return SystemdServices(units: units)
        case "command":
            guard let stop = string("services.stop_command"), let start = string("services.start_command") else {
                throw MXError.configuration("services.kind is command: set both services.stop_command and services.start_command")
            }
            return CommandServices(stop: stop, start: start, startWorkers: string("services.start_workers_command"))
        default:
            return NoServices()
        }
    }

    public var healthCheck: HealthCheck {
        let canary = string("synapse.canary_user").flatMap { user in secret("synapse.canary_password").map { HealthCheck.Canary(user: user, password: $0) } }
        return HealthCheck(baseURL: synapseURL, timeout: Double(int("synapse.health_timeout") ?? 120), canary: canary)
    }

    private var synapseURL: String { string("synapse.url") ?? "http://localhost:8008" }

    /// Server notices, when an admin token is configured.
    public var serverNotices: ServerNotices? {
        secret("synapse.admin_token").map {
            ServerNotices(client: SynapseClient(baseURL: synapseURL), adminToken: $0,
                          before: string("synapse.notice_before") ?? "", after: string("synapse.notice_after") ?? "")
        }
    }

    /// Sessions loading table data at once (`restore.jobs`; 0: one per core, at most 4).
    public var restoreJobs: Int {
        let jobs = int("restore.jobs") ?? 0
        return jobs > 0 ? jobs : min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))
    }

    public var auditLog: String {
        string("restore.audit_log") ?? (backupDirectory as NSString).appendingPathComponent("audit.jsonl")
    }

    /// The Telegram Bot API, when the token and chat are configured.
    public func telegramAPI() throws -> TelegramBotAPI {
        guard let token = secret("telegram.bot_token"), let chat = string("telegram.chat_id") else {
            throw MXError.configuration("telegram: set telegram.bot_token (or bot_token_file, or TELEGRAM_BOT_TOKEN in --env-file) and telegram.chat_id")
        }
        return TelegramBotAPI(baseURL: string("telegram.api_url") ?? "https://api.telegram.org", token: token, chatID: chat, timeout: Double(int("telegram.idle_timeout_s") ?? 120))
    }

    /// A store by name, with retries around it.
    public func store(_ name: String, console: Console, manifestMessageID: Int? = nil) throws -> BackupStore {
        let policy = RetryPolicy(attempts: max(1, int("telegram.retries") ?? 5),
                                 initialDelay: Double(int("telegram.retry_delay_ms") ?? 1000) / 1000, console: console)
        switch name {
        case "telegram":
            let base = TelegramStore(api: try telegramAPI(), partSize: int("telegram.part_size") ?? 19 * 1024 * 1024,
                                     stateDirectory: backupDirectory, retention: retention, retry: policy,
                                     messageInterval: Double(int("telegram.message_interval_ms") ?? 1000) / 1000,
                                     manifestMessageId: manifestMessageID)
            return RetryingStore(base, policy: policy)
        case "local":
            return RetryingStore(LocalStore(directory: backupDirectory), policy: policy)
        default:
            throw MXError.configuration("--from/--to: unknown store '\(name)' (known: telegram, local)")
        }
    }

    /// The effective configuration as YAML, secrets redacted, each value with its source.
    public func rendered() -> String {
        var out = "# effective configuration" + (configFile.map { " (file: \($0))" } ?? " (no configuration file found)") + "\n"
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
            out += "  \(key.name): \(shown)  # from \(resolved.origin)\n"
        }
        return out
    }

    private static func quoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
