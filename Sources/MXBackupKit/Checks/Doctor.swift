import Foundation

/// `mxbackup doctor`: the whole setup, item by item, each OK or the problem with its exact fix.
public struct Doctor {
    public struct Check: Sendable, Codable {
        public enum Status: String, Sendable, Codable { case ok, warn, fail }
        public var name: String
        public var status: Status
        public var detail: String
        public var fix: String?

        public init(name: String, status: Status, detail: String, fix: String?) {
            self.name = name
            self.status = status
            self.detail = detail
            self.fix = fix
        }
    }

    public let config: Configuration
    /// Backups older than this are stale.
    public let maxAge: Double
    private var checks: [Check] = []

    public init(config: Configuration, maxAge: Double) {
        self.config = config
        self.maxAge = maxAge
    }

    private mutating func add(_ name: String, _ status: Check.Status, _ detail: String, fix: String? = nil) {
        checks.append(Check(name: name, status: status, detail: detail, fix: status == .ok ? nil : fix))
    }

    public mutating func run() -> [Check] {
        checks = []
        let connection = config.postgres
        let server = checkServer(connection)
        checkTools(connection, serverMajor: server?.major)
        if server != nil { checkDatabase(connection) }
        checkBackupDirectory()
        checkEncryption()
        checkFiles()
        checkNotes()
        checkHistory()
        checkSynapse()
        // Details quote other programs (psql, gpg, HTTP answers), which may echo what they were given.
        let secrets = config.settings.secrets
        return checks.map { check in
            var check = check
            check.detail = Secrets.redact(check.detail, secrets)
            check.fix = check.fix.map { Secrets.redact($0, secrets) }
            return check
        }
    }

    private mutating func checkServer(_ connection: PostgresConnection) -> ServerInfo? {
        do {
            let info = try ServerInfo.fetch(PostgresClient(connection))
            add("database reachable", .ok, "\(connection.display), PostgreSQL \(info.version), \(Format.bytes(info.databaseSize))")
            return info
        } catch {
            add("database reachable", .fail, (error as? MXError)?.message ?? "\(error)", fix: "check postgres.host/port/user/database and the password, or postgres.container")
            return nil
        }
    }

    private mutating func checkTools(_ connection: PostgresConnection, serverMajor: Int?) {
        for tool in ["pg_dump", "pg_restore", "psql"] {
            guard let version = try? ServerInfo.toolVersion(tool, connection: connection) else {
                add("\(tool)", .fail, "not found or not runnable", fix: "apt-get install postgresql-client\(serverMajor.map { "-\($0)" } ?? ""), or set postgres.bin_dir / postgres.container")
                continue
            }
            if let serverMajor, tool != "psql", version.major < serverMajor {
                add("\(tool)", .fail, "\(version.version) is older than the server (\(serverMajor))", fix: "apt-get install postgresql-client-\(serverMajor), set postgres.bin_dir, or use postgres.container")
            } else {
                add("\(tool)", .ok, version.version + (serverMajor.map { " (server \($0))" } ?? ""))
            }
        }
    }

    private mutating func checkDatabase(_ connection: PostgresConnection) {
        let admin = DatabaseAdmin(connection)
        let strategy = config.settings.restore.strategy
        if let privileges = try? admin.privileges(owner: connection.user) {
            let canCreate = privileges.superuser || privileges.createDB
            add("privileges for restore", canCreate ? .ok : (strategy == .inPlace ? .warn : .fail),
                canCreate ? (privileges.superuser ? "superuser" : "CREATEDB: swap, recreate and in-place all work")
                          : "\(connection.user) cannot create databases: only the in-place strategy and --tables work",
                fix: "ALTER ROLE \(SQL.identifier(connection.user)) CREATEDB;  (as a superuser), or set restore.strategy: in-place")
        }
        if let locale = try? admin.locale(of: connection.database) {
            let good = locale.encoding == "UTF8" && locale.collate == "C" && locale.ctype == "C"
            add("database locale", good ? .ok : .fail,
                "encoding \(locale.encoding), collation \(locale.collate), ctype \(locale.ctype)" + (good ? "" : ": Synapse requires UTF8 with collation and ctype C"),
                fix: "mxbackup backup, then mxbackup restore FILE: the restore creates the database UTF8 with collation and ctype C from template0")
        }
        let size = Int64((try? PostgresClient(connection).scalar("SELECT pg_database_size(current_database())")) ?? "") ?? 0
        let (free, note) = admin.freeSpace()
        if let free {
            add("disk for a swap restore", free > size + size / 10 ? .ok : .fail,
                "\(Format.bytes(free)) free in \(note), a second copy needs about \(Format.bytes(size))",
                fix: "free space on the database server, or set restore.strategy: recreate")
        } else {
            add("disk for a swap restore", .warn, "not checked: \(note)", fix: "GRANT pg_read_all_settings TO \(SQL.identifier(connection.user)); to let mxbackup see the data directory")
        }
    }

    private mutating func checkBackupDirectory() {
        let dir = config.backupDirectory
        var st = stat()
        guard stat(dir, &st) == 0 else {
            add("backup directory", .warn, "\(dir) does not exist yet", fix: "mxbackup backup creates it (0700)")
            return
        }
        let mode = st.st_mode & 0o777
        add("backup directory", mode & 0o077 == 0 ? .ok : .fail, "\(dir), mode \(String(mode, radix: 8))", fix: "chmod 700 \(dir)")
        let newest = (try? BackupCatalog.scan(dir))?.entries.first
        var fs = statvfs()
        if statvfs(dir, &fs) == 0 {
            let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
            let needed = (newest?.size ?? 0) * 12 / 10
            add("disk for the next backup", free > needed ? .ok : .fail,
                "\(Format.bytes(free)) free, the last backup took \(Format.bytes(newest?.size ?? 0))", fix: "free space in \(dir) or run mxbackup prune")
        }
    }

    private mutating func checkEncryption() {
        switch config.encryption {
        case .none:
            add("encryption", .warn, "backups are not encrypted", fix: "set gpg.recipients to an offline key's fingerprint (gpg --import its public key here)")
        case .symmetric:
            add("encryption", .ok, "symmetric, passphrase from \(config.origin("gpg.passphrase"))")
        case .recipients(let ids):
            do {
                let fingerprints = try config.gpg.usableRecipients(ids)
                add("encryption", .ok, "to \(fingerprints.joined(separator: ", "))")
                for fingerprint in fingerprints {
                    let listing = try ProcessRunner.run(config.gpg.spec(["--with-colons", "--list-keys", "--", fingerprint]))
                    let expiry = listing.text.split(separator: "\n").first { $0.hasPrefix("pub:") }?
                        .split(separator: ":", omittingEmptySubsequences: false)[6]
                    if let expiry, let seconds = Double(expiry), seconds > 0 {
                        let days = (seconds - Date().timeIntervalSince1970) / 86400
                        add("key \(fingerprint.suffix(16)) expiry", days > 30 ? .ok : .warn, "expires in \(Int(days)) days",
                            fix: "extend it where the secret key lives (gpg --quick-set-expire \(fingerprint) 1y), then re-import the public key here")
                    }
                    if try ProcessRunner.run(config.gpg.spec(["--list-secret-keys", "--", fingerprint])).termination.succeeded {
                        add("secret key \(fingerprint.suffix(16))", .warn, "the secret key is on this machine: whoever takes the server can read its backups",
                            fix: "move the secret key offline (gpg --export-secret-keys, store it safely, gpg --delete-secret-keys)")
                    }
                }
            } catch {
                add("encryption", .fail, (error as? MXError)?.message ?? "\(error)", fix: "import a valid public key and set gpg.recipients to its fingerprint")
            }
        }
    }

    private mutating func checkFiles() {
        guard let file = config.configFile else {
            add("configuration file", .warn, "none found: defaults, flags and environment only", fix: "mxbackup init")
            return
        }
        let loose = Secrets.looseness(file) != nil
        add("configuration file", loose ? .warn : .ok, "\(file), mode \(Secrets.mode(file))", fix: "chmod 600 \(file)")
    }

    /// What the scripts' .env sets that mxbackup does not use: said, not passed over.
    private mutating func checkNotes() {
        for note in config.notes {
            add("not used", note.lostFunction ? .warn : .ok, note.text, fix: "configure the replacement named above, or remove the variable if nothing else uses it")
        }
    }

    private mutating func checkHistory() {
        let catalog = (try? BackupCatalog.scan(config.backupDirectory))?.entries ?? []
        if let newest = catalog.first {
            let age = newest.age()
            let dating = newest.datingProblem()
            if let why = newest.implausibility {
                add("last backup", .fail, "\(newest.path) is \(why): it cannot restore", fix: "run mxbackup backup, and check the job that wrote this file")
            } else {
                add("last backup", age > maxAge ? .fail : dating != nil ? .warn : .ok,
                    "\(newest.path), \(Format.duration(age)) old (limit \(Format.duration(maxAge)))" + (dating.map { ": \($0)" } ?? ""),
                    fix: dating != nil && age <= maxAge ? "check the clock and time zone (TZ) of this machine and of whatever named the file"
                                                        : "run mxbackup backup, and check the cron job or timer that should run it")
            }
        } else {
            add("last backup", .fail, "no backup in \(config.backupDirectory)", fix: "mxbackup backup")
        }
        let records = History.read(directory: config.backupDirectory)
        if let verify = History.latest(.verify, for: catalog.first?.path, in: records) {
            add("last verify", verify.ok ? .ok : .fail, "\(verify.ok ? "OK" : "FAILED: \(verify.reason ?? "")") at \(verify.time)",
                fix: "mxbackup verify --latest, then look at the failing file")
        } else {
            add("last verify", .warn, "the newest backup was never verified", fix: "mxbackup verify --latest (e.g. from cron after the backup)")
        }
        if let drill = History.latest(.drill, in: records) {
            let age = drill.date.map { Date().timeIntervalSince($0) } ?? 0
            add("last drill", !drill.ok ? .fail : age > 8 * 86400 ? .warn : .ok,
                drill.ok ? "OK at \(drill.time), restore took \(Format.duration(drill.seconds ?? 0))" : "FAILED at \(drill.time): \(drill.reason ?? "")",
                fix: drill.ok ? "run mxbackup drill weekly" : "mxbackup drill --latest, and read its report")
        } else {
            add("last drill", .warn, "no restore drill yet: the restore time (RTO) is unknown", fix: "mxbackup drill --latest (weekly from cron)")
        }
    }

    private mutating func checkSynapse() {
        let answer = Components(config.settings).healthCheck.client.get("/health")
        let healthy = answer.status == 200 && answer.body.trimmingCharacters(in: .whitespacesAndNewlines) == "OK"
        let managed = config.settings.services.kind != .none
        add("Synapse /health", healthy ? .ok : (managed ? .fail : .warn), "\(config.settings.synapse.url): \(healthy ? "OK" : answer.summary)",
            fix: "set synapse.url to where Synapse's client listener answers")
    }
}
