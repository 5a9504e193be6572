import Foundation

/// `mxbackup init`: writes a configuration file (0600, atomically, never over an existing one without
/// `force`): the commented template, or one that matches a Selfhost-Matrix deployment (`--from DIR`).
public enum InitOperation {
    public struct Result: Sendable {
        public var path: String
        /// What the operator should do next (the crontab line, what to remove), one line each.
        public var instructions: [String]
        public var warnings: [String]
    }

    public static func writeTemplate(to output: String, force: Bool) throws -> Result {
        try refuseOverwrite(output, force: force)
        try FileSink.writeAtomically(Data(ConfigTemplate.text.utf8), to: output, mode: 0o600)
        return Result(path: output, instructions: ["check it with 'mxbackup config --config \(output)'"], warnings: [])
    }

    /// Reads DIR's compose file and `.env` and writes the configuration of that deployment. The secrets stay
    /// in the `.env` (`legacy.env_file`), so they are kept in one place and never copied.
    /// - Parameter executable: how the crontab line calls mxbackup.
    public static func writeFromDeployment(_ directory: String, to output: String, force: Bool, executable: String,
                                           environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Result {
        let dir = absolute(directory)
        let compose = try ComposeProject.load(directory: dir)
        let envPath = (dir as NSString).appendingPathComponent(".env")
        let hasEnv = FileManager.default.fileExists(atPath: envPath)
        // Read now, so that a .env mxbackup would refuse (a GPG_RECIPIENT that gives no key…) is said before writing.
        let env = hasEnv ? try LegacyEnvFile.load(path: envPath, environment: environment) : nil
        try refuseOverwrite(output, force: force)
        let backups = (dir as NSString).appendingPathComponent("backups")
        let telegram = env?["telegram.bot_token"] != nil && env?["telegram.chat_id"] != nil
        var warnings: [String] = []
        if !hasEnv { warnings.append("\(envPath) not found: the role, database, password and GPG recipient were not taken from it; set postgres.* and gpg.* in \(output)") }
        if env?.entries.values.contains(where: { $0.looseFile != nil }) == true {
            warnings.append("\(envPath) holds secrets and is readable by group or others (mode \(Secrets.mode(envPath))): mxbackup refuses to use them until you run chmod 600 \(envPath)")
        }
        if case .list(let recipients)? = env?["gpg.recipients"] {
            // The key may be imported after init; until then every backup is refused, so it is said now.
            do { _ = try GPG().usableRecipients(recipients) } catch {
                warnings.append("\(envPath): GPG_RECIPIENT: \((error as? MXError)?.message ?? "\(error)"); until then every backup is refused")
            }
        }
        if hasEnv, env?["gpg.recipients"] == nil { warnings.append("\(envPath) sets no GPG_RECIPIENT: backups will not be encrypted (set gpg.recipients to encrypt them)") }
        let quoted = { (s: String) in "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        var text = """
        # mxbackup configuration for the Selfhost-Matrix deployment in \(dir),
        # written by 'mxbackup init --from' from \(compose.file)\(hasEnv ? " and \(envPath)" : "").
        # Secrets (POSTGRES_PASSWORD, TELEGRAM_BOT_TOKEN), the role, database, GPG recipient and retention stay in
        # the .env (legacy.env_file): change them there. Every other key: see 'mxbackup init' or the README.

        postgres:
          container: \(quoted(compose.postgresContainer))   # the '\(compose.postgresService)' service: pg_dump and psql run in it (docker exec)

        backup:
          dir: \(quoted(backups))   # the scripts' backups directory, absolute so that cron finds it from anywhere

        """
        if telegram {
            text += "  offsite: [telegram]   # the scripts sent each backup to Telegram; mxbackup sends it in parts of 19 MiB\n\n"
            text += "telegram:\n  notify: false   # set true for a status message after each job\n\n"
        }
        if !compose.synapseServices.isEmpty {
            text += """
            services:
              kind: compose   # restore stops Synapse's services and starts them again, the main process first
              compose_dir: \(quoted(dir))
              compose_services: [\(compose.synapseServices.map(quoted).joined(separator: ", "))]

            """
        }
        if let url = compose.synapseURL {
            text += "synapse:\n  url: \(quoted(url))   # the synapse service's published port 8008: restore checks /health there\n\n"
        } else {
            warnings.append("the synapse service in \(compose.file) publishes no port 8008: set synapse.url in \(output) to where Synapse's /health answers (restore checks it before it reports success)")
        }
        if hasEnv { text += "legacy:\n  env_file: \(quoted(envPath))\n" }
        // What is written must load: checked before it replaces anything.
        let layer = try YAMLConfigFile.parse(text, path: output, loose: false)
        _ = try Configuration(layers: [.defaults] + (env.map { [$0] } ?? []) + [layer], configFile: output)
        try FileSink.writeAtomically(Data(text.utf8), to: output, mode: 0o600)

        let config = shellWord(absolute(output))
        let executable = shellWord(executable)
        let prune = env?["retention.keep_days"] != nil
        // `;`, not `&&`: prune never deletes the newest good backup, and a failed push must not stop it for good.
        var instructions = [
            "replace the scripts' backup line in the crontab (crontab -e) with, at the same time:",
            "  0 3 * * * \(executable) backup --config \(config) --quiet" + (prune ? "; \(executable) prune --config \(config) --quiet" : ""),
            "remove the old cron's 'find backups -name \"synapse_db_*\" -mtime +N -delete' line: it would also delete mxbackup's files (manifests and backups) behind prune's back, the newest good backup included"
                + (prune ? "; prune keeps exactly what it kept (BACKUP_RETENTION_DAYS)" : ""),
        ]
        if !prune { instructions.append("no BACKUP_RETENTION_DAYS in the .env: set retention.* in \(config), then add '; \(executable) prune --config \(config) --quiet' to the line") }
        instructions.append("then: 'mxbackup adopt --all --config \(config)' makes the scripts' backups first-class, and 'mxbackup doctor --config \(config)' checks the whole setup")
        return Result(path: output, instructions: instructions, warnings: warnings)
    }

    private static func refuseOverwrite(_ output: String, force: Bool) throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            throw MXError.refused("\(output) already exists: pass --force to overwrite it, or --output another file")
        }
    }

    private static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }

    /// A word for a crontab line: quoted for sh when it holds anything but safe characters, and `%` (cron's
    /// newline) escaped.
    static func shellWord(_ word: String) -> String {
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "/._-+=:,@"))
        guard word.unicodeScalars.contains(where: { !safe.contains($0) }) || word.isEmpty else { return word }
        return ("'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'").replacingOccurrences(of: "%", with: "\\%")
    }
}
