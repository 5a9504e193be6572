/// Which of our own environment variables a child inherits: the one place that decides it.
///
/// Our environment may hold every secret mxbackup knows (MXBACKUP_GPG_PASSPHRASE,
/// MXBACKUP_TELEGRAM_BOT_TOKEN, MXBACKUP_POSTGRES_PASSWORD, an ambient PGPASSWORD), so nothing is
/// inherited by default: a child gets the harmless `base` (locale, paths, terminal), the extra group its
/// spec names, and what its spec sets explicitly (`ProcessSpec.environment`: a libpq tool's connection
/// settings, PGOPTIONS).
public struct ChildEnvironment: Sendable, Equatable {
    /// Exact names.
    public var names: Set<String>
    /// Name prefixes ("LC_" admits LC_ALL, LC_TIME…).
    public var prefixes: [String]

    public init(names: Set<String> = [], prefixes: [String] = []) {
        self.names = names
        self.prefixes = prefixes
    }

    /// What every child gets: where programs and home are, who runs them, locale, time zone, temporary
    /// directory, terminal, and the user's session bus (`systemctl --user`).
    public static let base = ChildEnvironment(
        names: ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "NO_COLOR",
                "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"],
        prefixes: ["LC_"])

    /// libpq's settings that neither hold a secret nor redirect the connection (PGHOST, PGSERVICE and the
    /// password are set from the configuration, explicitly). Passed into a container with `-e`.
    public static let libpq = ChildEnvironment(
        names: ["PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI",
                "PGSSLCERTMODE", "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGSSLNEGOTIATION",
                "PGSSLCOMPRESSION", "PGREQUIRESSL", "PGREQUIREPEER", "PGREQUIREAUTH", "PGCHANNELBINDING",
                "PGGSSENCMODE", "PGGSSDELEGATION", "PGKRBSRVNAME", "PGGSSLIB", "KRB5CCNAME",
                "PGTARGETSESSIONATTRS", "PGLOADBALANCEHOSTS", "PGCLIENTENCODING", "PGDATESTYLE", "PGTZ", "PGGEQO",
                "PGSYSCONFDIR", "PGLOCALEDIR"])

    /// The docker CLI's own settings (which daemon, context, config directory; compose's project).
    public static let docker = ChildEnvironment(prefixes: ["DOCKER_", "COMPOSE_"])

    /// GnuPG's keyring and agent.
    public static let gnupg = ChildEnvironment(names: ["GNUPGHOME", "GPG_TTY", "GPG_AGENT_INFO"])

    public func union(_ other: ChildEnvironment) -> ChildEnvironment {
        ChildEnvironment(names: names.union(other.names), prefixes: prefixes + other.prefixes)
    }

    public func admits(_ name: String) -> Bool {
        names.contains(name) || prefixes.contains { name.hasPrefix($0) }
    }

    /// The admitted part of `environment`.
    public func select(from environment: [String: String]) -> [String: String] {
        environment.filter { admits($0.key) }
    }
}
