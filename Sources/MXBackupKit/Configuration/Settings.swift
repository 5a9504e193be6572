import Foundation

/// The configuration as typed values, decoded once when it is loaded. Code reads fields, never keys,
/// so a mistyped setting cannot compile; an enumeration is an enum, so a mistyped value cannot load.
public struct Settings: Sendable, Equatable {
    public struct Backup: Sendable, Equatable {
        /// What `backup.compression` may be: the formats mxbackup writes.
        public static let compressions: [Compression] = [.zstd, .gzip]

        public var dir: String
        public var compression: Compression
        public var level: Int?
        public var threads: Int
        public var includeOneTimeKeys: Bool
        public var offsite: [String]
    }

    public struct GPG: Sendable, Equatable {
        public var recipients: [String]
        /// Encrypts new backups only when there are no recipients; always offered for reading symmetric ones.
        public var passphrase: String?
        public var home: String?
        public var program: String

        /// How new backups are encrypted: to the recipients when there are any, else with the passphrase.
        public var encryption: Encryption {
            if !recipients.isEmpty { return .recipients(recipients) }
            if let passphrase { return .symmetric(passphrase: passphrase) }
            return .none
        }
    }

    public struct Synapse: Sendable, Equatable {
        public var serverName: String?
        public var url: String
        public var healthTimeout: Int
        public var maxSchemaVersion: Int?
        public var canaryUser: String?
        public var canaryPassword: String?
        public var adminToken: String?
        public var noticeBefore: String
        public var noticeAfter: String
    }

    public struct Services: Sendable, Equatable {
        /// How Synapse is stopped and started around a restore (`services.kind`).
        public enum Kind: String, Sendable, CaseIterable {
            case none, compose, systemd, command
        }

        public var kind: Kind
        public var composeDir: String?
        public var composeServices: [String]
        public var systemdUnits: [String]
        public var stopCommand: String?
        public var startCommand: String?
        public var startWorkersCommand: String?
    }

    public struct Restore: Sendable, Equatable {
        public var strategy: RestoreOperation.Strategy
        /// Sessions loading table data at once; `restore.jobs: 0` is decoded as one per core, at most 4.
        public var jobs: Int
        /// `restore.audit_log`, by default audit.jsonl in the backup directory.
        public var auditLog: String
        public var safetyKeepHours: Int
    }

    public struct Telegram: Sendable, Equatable {
        public var botToken: String?
        public var chatID: String?
        public var apiURL: String
        public var partSize: Int
        public var messageIntervalMs: Int
        public var retries: Int
        public var retryDelayMs: Int
        /// Seconds without a byte moving before a Bot API call is given up and cancelled.
        public var idleTimeoutS: Int
        public var notify: Bool
        public var failureChatID: String?
    }

    public struct Legacy: Sendable, Equatable {
        /// The scripts' `.env` the configuration was read with (`legacy.env_file` or `--env-file`).
        public var envFile: String?
    }

    public var postgres: PostgresConnection
    public var backup: Backup
    public var gpg: GPG
    public var retention: RetentionPolicy
    public var synapse: Synapse
    public var services: Services
    public var restore: Restore
    public var telegram: Telegram
    public var legacy: Legacy

    /// Every secret's value, for redacting messages that quote other programs.
    public var secrets: [String] {
        [postgres.password, gpg.passphrase, synapse.canaryPassword, synapse.adminToken, telegram.botToken].compactMap { $0 }
    }
}

extension Settings {
    /// Decodes and cross-checks the resolved values. Each key is read here and nowhere else.
    init(_ v: ResolvedValues) throws {
        postgres = PostgresConnection(
            host: try v.optional("postgres.host"), port: try v.required("postgres.port"),
            user: try v.required("postgres.user"), database: try v.required("postgres.database"),
            password: try v.optional("postgres.password"), passfile: try v.optional("postgres.passfile"),
            container: try v.optional("postgres.container"), docker: try v.required("postgres.docker"),
            binDir: try v.optional("postgres.bin_dir"))
        backup = Backup(dir: try v.required("backup.dir"), compression: try v.choice("backup.compression"),
                        level: try v.optional("backup.level"), threads: try v.required("backup.threads"),
                        includeOneTimeKeys: try v.required("backup.include_one_time_keys"), offsite: try v.required("backup.offsite"))
        gpg = GPG(recipients: try v.required("gpg.recipients"), passphrase: try v.optional("gpg.passphrase"),
                  home: try v.optional("gpg.home"), program: try v.required("gpg.program"))
        retention = RetentionPolicy(keepDays: try v.optional("retention.keep_days"), keepLast: try v.optional("retention.keep_last"),
                                    keepDaily: try v.optional("retention.keep_daily"), keepWeekly: try v.optional("retention.keep_weekly"),
                                    keepMonthly: try v.optional("retention.keep_monthly"))
        synapse = Synapse(serverName: try v.optional("synapse.server_name"), url: try v.required("synapse.url"),
                          healthTimeout: try v.required("synapse.health_timeout"), maxSchemaVersion: try v.optional("synapse.max_schema_version"),
                          canaryUser: try v.optional("synapse.canary_user"), canaryPassword: try v.optional("synapse.canary_password"),
                          adminToken: try v.optional("synapse.admin_token"), noticeBefore: try v.required("synapse.notice_before"),
                          noticeAfter: try v.required("synapse.notice_after"))
        services = Services(kind: try v.choice("services.kind"), composeDir: try v.optional("services.compose_dir"),
                            composeServices: try v.required("services.compose_services"), systemdUnits: try v.required("services.systemd_units"),
                            stopCommand: try v.optional("services.stop_command"), startCommand: try v.optional("services.start_command"),
                            startWorkersCommand: try v.optional("services.start_workers_command"))
        let jobs: Int = try v.required("restore.jobs")
        restore = Restore(strategy: try v.choice("restore.strategy"),
                          jobs: jobs > 0 ? jobs : min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)),
                          auditLog: try v.optional("restore.audit_log") ?? (backup.dir as NSString).appendingPathComponent("audit.jsonl"),
                          safetyKeepHours: try v.required("restore.safety_keep_hours"))
        telegram = Telegram(botToken: try v.optional("telegram.bot_token"), chatID: try v.optional("telegram.chat_id"),
                            apiURL: try v.required("telegram.api_url"), partSize: try v.required("telegram.part_size"),
                            messageIntervalMs: try v.required("telegram.message_interval_ms"), retries: try v.required("telegram.retries"),
                            retryDelayMs: try v.required("telegram.retry_delay_ms"), idleTimeoutS: try v.required("telegram.idle_timeout_s"),
                            // The scripts' .env holds a bot token for their upload: it does not by itself ask for
                            // status messages; telegram.notify set anywhere, or a token from elsewhere, does.
                            notify: try v.required("telegram.notify")
                                && (v.values["telegram.bot_token"]?.fromLegacyEnvFile != true || v.origin("telegram.notify") != ConfigLayer.defaults.origin),
                            failureChatID: try v.optional("telegram.failure_chat_id"))
        legacy = Legacy(envFile: try v.optional("legacy.env_file"))
        try validate(v)
    }

    private func validate(_ v: ResolvedValues) throws {
        if let level = backup.level {
            let range = backup.compression == .gzip ? 1...9 : 1...19
            guard range.contains(level) else {
                throw MXError.configuration("backup.level: \(level) is out of range for \(backup.compression.rawValue) (\(range.lowerBound)–\(range.upperBound)), from \(v.origin("backup.level"))")
            }
        }
        if (synapse.canaryUser == nil) != (synapse.canaryPassword == nil) {
            throw MXError.configuration("synapse.canary_user and synapse.canary_password go together: set both or neither")
        }
        let official = telegram.apiURL.contains("api.telegram.org")
        guard telegram.partSize > 0, !(official && telegram.partSize > 20 * 1024 * 1024) else {
            throw MXError.configuration("telegram.part_size: \(telegram.partSize) bytes: bots cannot download files over 20 MiB from api.telegram.org; keep it at most 20971520 (default 19922944) or point telegram.api_url at a self-hosted Bot API server")
        }
        guard telegram.idleTimeoutS >= 1 else {
            throw MXError.configuration("telegram.idle_timeout_s: \(telegram.idleTimeoutS): must be at least 1 second (default 120)")
        }
        for store in backup.offsite where store != "telegram" {
            throw MXError.configuration("backup.offsite: unknown store '\(store)' (known: telegram)")
        }
    }
}

/// The resolved value of every key, for the one decoder above.
struct ResolvedValues {
    let values: [String: Configuration.Resolved]

    func origin(_ path: String) -> String { values[ConfigKey.known(path).path]?.origin ?? "unset" }

    /// The value, else the key's default, else nil. Types were checked when the layers were merged.
    func optional<T>(_ path: String) throws -> T? {
        let key = ConfigKey.known(path)
        guard let value = values[path]?.value ?? key.defaultValue else { return nil }
        let decoded: Any
        switch value {
        case .string(let s): decoded = s
        case .int(let i): decoded = i
        case .bool(let b): decoded = b
        case .list(let l): decoded = l
        }
        guard let typed = decoded as? T else {
            throw MXError.configuration("\(path) (from \(origin(path))): has the wrong type, expected \(T.self)")
        }
        return typed
    }

    /// A key with a default always has a value.
    func required<T>(_ path: String) throws -> T {
        guard let value: T = try optional(path) else { preconditionFailure("configuration key \(path) has no default") }
        return value
    }

    func choice<E: RawRepresentable>(_ path: String) throws -> E where E.RawValue == String {
        let raw: String = try required(path)
        guard let value = E(rawValue: raw) else {
            throw MXError.configuration("\(path): '\(raw)' (from \(origin(path))) is not a known value")
        }
        return value
    }
}
