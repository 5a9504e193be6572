/// Every configuration key, its type and default. The README's configuration table, `mxbackup init`'s
/// template and `mxbackup config` all follow this list; a key not listed here is an error.
public struct ConfigKey: Sendable, Hashable {
    public enum ValueType: Sendable, Hashable {
        case string, int, bool, list
        case choice([String])
        /// A secret string. In YAML it may be given inline (only in a private file) or as `<key>_file`.
        case secret
    }

    public let path: String
    public let type: ValueType
    public let defaultValue: ConfigValue?

    public var section: String { String(path.split(separator: ".")[0]) }
    public var name: String { String(path.split(separator: ".")[1]) }

    public static let all: [ConfigKey] = [
        ConfigKey(path: "postgres.host", type: .string, defaultValue: nil),
        ConfigKey(path: "postgres.port", type: .int, defaultValue: .int(5432)),
        ConfigKey(path: "postgres.user", type: .string, defaultValue: .string("synapse")),
        ConfigKey(path: "postgres.database", type: .string, defaultValue: .string("synapse")),
        ConfigKey(path: "postgres.password", type: .secret, defaultValue: nil),
        ConfigKey(path: "postgres.passfile", type: .string, defaultValue: nil),
        ConfigKey(path: "postgres.container", type: .string, defaultValue: nil),
        ConfigKey(path: "postgres.docker", type: .string, defaultValue: .string("docker")),
        ConfigKey(path: "postgres.bin_dir", type: .string, defaultValue: nil),
        ConfigKey(path: "backup.dir", type: .string, defaultValue: .string("./backups")),
        ConfigKey(path: "backup.compression", type: .choice(Settings.Backup.compressions.map(\.rawValue)), defaultValue: .string("zstd")),
        ConfigKey(path: "backup.level", type: .int, defaultValue: nil),
        ConfigKey(path: "backup.threads", type: .int, defaultValue: .int(0)),
        ConfigKey(path: "backup.include_one_time_keys", type: .bool, defaultValue: .bool(false)),
        ConfigKey(path: "backup.offsite", type: .list, defaultValue: .list([])),
        ConfigKey(path: "gpg.recipients", type: .list, defaultValue: .list([])),
        ConfigKey(path: "gpg.passphrase", type: .secret, defaultValue: nil),
        ConfigKey(path: "gpg.home", type: .string, defaultValue: nil),
        ConfigKey(path: "gpg.program", type: .string, defaultValue: .string("gpg")),
        ConfigKey(path: "retention.keep_days", type: .int, defaultValue: nil),
        ConfigKey(path: "retention.keep_last", type: .int, defaultValue: nil),
        ConfigKey(path: "retention.keep_daily", type: .int, defaultValue: nil),
        ConfigKey(path: "retention.keep_weekly", type: .int, defaultValue: nil),
        ConfigKey(path: "retention.keep_monthly", type: .int, defaultValue: nil),
        ConfigKey(path: "synapse.server_name", type: .string, defaultValue: nil),
        ConfigKey(path: "synapse.url", type: .string, defaultValue: .string("http://localhost:8008")),
        ConfigKey(path: "synapse.health_timeout", type: .int, defaultValue: .int(120)),
        ConfigKey(path: "synapse.max_schema_version", type: .int, defaultValue: nil),
        ConfigKey(path: "synapse.canary_user", type: .string, defaultValue: nil),
        ConfigKey(path: "synapse.canary_password", type: .secret, defaultValue: nil),
        ConfigKey(path: "synapse.admin_token", type: .secret, defaultValue: nil),
        ConfigKey(path: "synapse.notice_before", type: .string,
                  defaultValue: .string("This server will be unavailable for a moment: its database is being restored from a backup.")),
        ConfigKey(path: "synapse.notice_after", type: .string, defaultValue: .string("Maintenance is over: the server is back.")),
        ConfigKey(path: "services.kind", type: .choice(Settings.Services.Kind.allCases.map(\.rawValue)), defaultValue: .string("none")),
        ConfigKey(path: "services.compose_dir", type: .string, defaultValue: nil),
        ConfigKey(path: "services.compose_services", type: .list, defaultValue: .list([])),
        ConfigKey(path: "services.systemd_units", type: .list, defaultValue: .list(["matrix-synapse"])),
        ConfigKey(path: "services.stop_command", type: .string, defaultValue: nil),
        ConfigKey(path: "services.start_command", type: .string, defaultValue: nil),
        ConfigKey(path: "services.start_workers_command", type: .string, defaultValue: nil),
        ConfigKey(path: "restore.strategy", type: .choice(RestoreOperation.Strategy.allCases.map(\.rawValue)), defaultValue: .string("swap")),
        ConfigKey(path: "restore.jobs", type: .int, defaultValue: .int(0)),
        ConfigKey(path: "restore.audit_log", type: .string, defaultValue: nil),
        ConfigKey(path: "restore.safety_keep_hours", type: .int, defaultValue: .int(24)),
        ConfigKey(path: "telegram.bot_token", type: .secret, defaultValue: nil),
        ConfigKey(path: "telegram.chat_id", type: .string, defaultValue: nil),
        ConfigKey(path: "telegram.api_url", type: .string, defaultValue: .string("https://api.telegram.org")),
        ConfigKey(path: "telegram.part_size", type: .int, defaultValue: .int(19 * 1024 * 1024)),
        ConfigKey(path: "telegram.message_interval_ms", type: .int, defaultValue: .int(1000)),
        ConfigKey(path: "telegram.retries", type: .int, defaultValue: .int(5)),
        ConfigKey(path: "telegram.retry_delay_ms", type: .int, defaultValue: .int(1000)),
        ConfigKey(path: "telegram.idle_timeout_s", type: .int, defaultValue: .int(120)),
        ConfigKey(path: "telegram.notify", type: .bool, defaultValue: .bool(true)),
        ConfigKey(path: "telegram.failure_chat_id", type: .string, defaultValue: nil),
        ConfigKey(path: "legacy.env_file", type: .string, defaultValue: nil),
    ]

    public static func named(_ path: String) -> ConfigKey? { all.first { $0.path == path } }

    /// The key at `path`, which the code names literally: a path that is not a key is a programming error,
    /// and it traps on the first load in any test rather than reading nothing.
    static func known(_ path: String) -> ConfigKey {
        guard let key = named(path) else { preconditionFailure("'\(path)' is not a configuration key") }
        return key
    }
}

/// A configuration value as read from any source.
public enum ConfigValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([String])

    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return String(b)
        case .list(let l): return "[" + l.joined(separator: ", ") + "]"
        }
    }
}
