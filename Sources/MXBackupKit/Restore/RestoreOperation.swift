import Foundation

/// `mxbackup restore`: a restore that cannot lose the live database.
///
/// Default strategy `swap`: the backup is loaded into a scratch database while Synapse keeps serving
/// from the live one; only when the copy is complete and checked are services stopped and the two
/// databases renamed in one transaction. Downtime is stop + rename + start. If Synapse is not healthy
/// on the restored database, the renames are reversed automatically. `--target-db` clones into a new
/// database without touching services or the live database.
public struct RestoreOperation {
    public struct Options: Sendable {
        public var source: BackupSource
        public var target: String?
        public var owner: String?
        public var force = false
        public var notSynapse = false
        public var maxSchemaVersion: Int?
        public var serverName: String?
        public var strategy: Strategy = .swap
        /// `--tables`: replace only these tables' rows (qualified or bare names).
        public var tables: [String]?
        /// Sessions loading table data at once into a new database (swap, recreate, --target-db).
        public var jobs = 1
        /// `--services none` given on the command line: the operator knows Synapse is not controlled.
        public var servicesNoneExplicit = false
        /// A drill: the clone is dropped by the caller after its checks, so its record stays until then.
        public var throwaway = false

        public init(source: BackupSource) { self.source = source }
    }

    public enum Strategy: String, Sendable, CaseIterable {
        /// Load a scratch database while Synapse serves, then swap names (default).
        case swap
        /// Safety backup, stop, drop, create, load; the safety backup is reloaded if anything fails.
        case recreate
        /// For roles that cannot create databases: the old schema is set aside and the load runs in one transaction.
        case inPlace = "in-place"
    }

    public let connection: PostgresConnection
    public let gpg: GPG
    public let passphrase: String?
    public let services: ServiceController
    public let health: HealthCheck
    public let directory: String
    public let console: Console
    public let options: Options
    /// Makes the safety backup of the `recreate` strategy (the lock is already held by the restore).
    public let safetyBackup: BackupOperation?
    public let notices: ServerNotices?

    public init(connection: PostgresConnection, gpg: GPG, passphrase: String?, services: ServiceController,
                health: HealthCheck, directory: String, console: Console, options: Options, safetyBackup: BackupOperation? = nil,
                notices: ServerNotices? = nil) {
        self.safetyBackup = safetyBackup
        self.notices = notices
        self.connection = connection
        self.gpg = gpg
        self.passphrase = passphrase
        self.services = services
        self.health = health
        self.directory = directory
        self.console = console
        self.options = options
    }

    var admin: DatabaseAdmin { DatabaseAdmin(connection) }
    var owner: String { options.owner ?? connection.user }
    var statePath: String { RestoreState.path(directory: directory, database: connection.database) }

    /// Step timings, for the report and the audit log.
    public final class Timeline: @unchecked Sendable {
        public private(set) var steps: [AuditRecord.Step] = []
        /// Set when a failure was followed by an automatic rollback.
        public var rolledBack = false
        /// Databases this run created (set right after CREATE DATABASE succeeded): the only ones it may drop.
        public internal(set) var created: Set<String> = []
        /// The records of clones this run is creating (CloneRecord), by database, until each is finished.
        var cloneRecords: [String: CloneRecord] = [:]
        public init() {}

        /// A clone is finished (kept as the result, or dropped): its record goes.
        func finishClone(_ database: String) {
            cloneRecords.removeValue(forKey: database)?.finish()
        }
        @discardableResult
        public func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            FaultPoint.reached(name)
            let start = Date()
            defer { steps.append(.init(name: name, seconds: Date().timeIntervalSince(start))) }
            return try body()
        }
    }

    // MARK: preflight

    /// Every check, in order, before anything is touched. Throws only when a check cannot even run
    /// (server unreachable, file unreadable); failed checks are listed in the plan.
    public func preflight(timeline: Timeline) throws -> RestorePlan {
        var checks: [RestorePlan.Check] = []
        func check(_ name: String, _ ok: Bool, _ detail: String, overridable: Bool = false, checked: Bool = true) {
            checks.append(.init(name: name, ok: ok, detail: detail, overridable: overridable, checked: checked))
        }
        if let leftover = RestoreState.leftoverWarning(directory: directory, database: connection.database) {
            throw MXError.refused(leftover + " first")
        }
        let live = connection.database
        let stamp = DatabaseNames.stamp()
        let liveExists = try admin.exists(live)
        // `--target-db` naming the missing live database is the new-server restore, not a clone of it.
        let target = options.target == live && !liveExists ? nil : options.target
        let scratch = target ?? DatabaseNames.name("restore", of: live, stamp: stamp)
        let parked = DatabaseNames.name("pre_restore", of: live, stamp: stamp)
        let rejected = DatabaseNames.name("failed_restore", of: live, stamp: stamp)

        let tables = options.tables.map { Set($0.map { $0.contains(".") ? $0 : "public.\($0)" }) }
        let createsDatabases = tables == nil && (target != nil || options.strategy != .inPlace || !liveExists)
        let stopsSynapse = tables == nil && target == nil
        let serverVersion = try timeline.measure("preflight: server") { () throws -> String in
            let version = try PostgresClient(connection).scalar("SHOW server_version", database: DatabaseAdmin.maintenanceDatabase) ?? "?"
            let privileges = try admin.privileges(owner: owner)
            check("role \(owner)", privileges.roleExists, privileges.roleExists ? "exists" : "does not exist: create it or pass --owner")
            if createsDatabases {
                check("privilege to create databases", privileges.superuser || privileges.createDB,
                      privileges.superuser ? "superuser" : privileges.createDB ? "CREATEDB" : "\(connection.user) lacks CREATEDB: ALTER ROLE \(connection.user) CREATEDB, or use --strategy in-place")
            } else if tables == nil, liveExists {
                let owns = try PostgresClient(connection).scalar("SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = 'public'") == "t"
                check("ownership of schema public", owns || privileges.superuser, owns ? "\(connection.user) owns it" : "\(connection.user) does not own schema public in \(live): connect as its owner")
            }
            if let target {
                check("target database \(target)", try !admin.exists(target), try admin.exists(target) ? "already exists: choose another name or drop it (nothing is dropped that this run did not create)" : "does not exist yet")
            } else if createsDatabases {
                // Whatever carries these names afterwards was created by this run, and only that may be dropped.
                let taken = try [scratch, parked, rejected].filter { try admin.exists($0) }
                check("names of the new databases", taken.isEmpty, taken.isEmpty ? "\(scratch), \(parked) are free" : "\(taken.joined(separator: ", ")) already exist: wait a second and retry")
            }
            for leftover in try admin.databases(prefix: DatabaseNames.prefix("restore", of: live)) {
                console.warn("leftover scratch database \(leftover) from an earlier restore: 'mxbackup restore --resume-cleanup' drops it if its state file names it; otherwise DROP DATABASE it if it is not yours")
            }
            return version
        }
        if let tables, liveExists {
            let missing = try tables.sorted().filter { try PostgresClient(connection).scalar("SELECT to_regclass(\(SQL.literal(SQL.qualified($0)))) IS NOT NULL") != "t" }
            check("tables in \(live)", missing.isEmpty, missing.isEmpty ? tables.sorted().joined(separator: ", ") : "\(missing.joined(separator: ", ")) not found in \(live)")
            // TRUNCATE refuses a table other tables' foreign keys point at. Emptying those too unasked would
            // replace rows the operator did not name, so the restore is refused with the list to give.
            let referencing = try referencingTables(tables)
            let bare = { (name: String) in name.hasPrefix("public.") ? String(name.dropFirst(7)) : name }
            check("foreign keys into the tables", referencing.isEmpty, referencing.isEmpty ? "no other table references them"
                  : "\(referencing.map(bare).joined(separator: ", ")) reference\(referencing.count == 1 ? "s" : "") \(tables.sorted().map(bare).joined(separator: ", ")) by foreign key, so their rows must be replaced in the same transaction: restore them together with --tables \((options.tables ?? []).joined(separator: ",")),\(referencing.map(bare).joined(separator: ","))")
        }
        if stopsSynapse, let unavailable = services.unavailable {
            check("service control", false, unavailable)
        }
        if stopsSynapse, liveExists, services is NoServices, !options.servicesNoneExplicit {
            // services.kind none by default: a Synapse still connected would keep serving (and writing) through the restore.
            let roles = Set([connection.user, owner]).sorted()
            let sessions = try PostgresClient(connection).scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = \(SQL.literal(live)) AND pid <> pg_backend_pid() AND usename IN (\(roles.map(SQL.literal).joined(separator: ", ")))", database: DatabaseAdmin.maintenanceDatabase) ?? "0"
            check("Synapse stopped", sessions == "0", sessions == "0"
                  ? "no sessions of \(roles.joined(separator: ", ")) on \(live)"
                  : "\(sessions) sessions of \(roles.joined(separator: ", ")) are connected to \(live) (Synapse runs) and no service control is configured: set services.kind (compose, systemd or command) so that mxbackup stops Synapse, or stop it first; --services none proceeds anyway and ends those sessions")
        }
        // An empty database (the official postgres image's POSTGRES_DB, not Synapse's) is no data to keep.
        let liveEmpty = try liveExists && tables == nil && target == nil && admin.isEmpty(live)
        if target == nil {
            check("live database \(live)", liveExists || tables == nil, liveEmpty ? "exists but is empty (no tables, as the postgres image's POSTGRES_DB creates it): it is replaced, then dropped"
                  : liveExists ? "exists (it will be kept as \(parked))"
                  : tables == nil ? "does not exist yet (a new server): it is created from the backup, checked, and Synapse started on it"
                  : "does not exist: restore the whole backup first (without --tables)")
        }

        if tables == nil && target == nil && options.strategy == .recreate && liveExists {
            check("safety backup can be reloaded here", try safetyBackupIsReloadable(),
                  try safetyBackupIsReloadable() ? "its encryption can be undone on this machine"
                      : "backups are encrypted to keys whose secret half is not on this machine, so the safety backup could not be reloaded automatically: use --strategy swap, or symmetric encryption")
        }
        // A load into a new database touches nothing until it is checked, so with a manifest the file is
        // checked while it loads rather than read twice; anything that changes a database in use reads it first.
        let inspection: BackupInspection
        if let manifest = options.source.manifest, tables == nil, target != nil || options.strategy == .swap {
            inspection = try timeline.measure("preflight: open the backup") {
                try BackupInspection.opened(options.source, manifest: manifest, gpg: gpg, passphrase: passphrase, connection: connection)
            }
        } else {
            inspection = try timeline.measure("preflight: read and check the backup") {
                try BackupInspection.inspect(options.source, gpg: gpg, passphrase: passphrase, connection: connection)
            }
        }
        let layers = "\(inspection.layers.map(\.rawValue).joined(separator: " > ")), \(Format.bytes(inspection.size))"
        // Read once: the layers' ends and the SHA-256 are proved by the load, not yet (and not by a dry run).
        check("backup file", true, !inspection.fullyRead
            ? "\(layers), size matches the manifest, decrypts; every layer to its end and the SHA-256 are not read yet: a restore checks them while it loads into the new database, before it is used"
            : "\(layers), \(inspection.manifest == nil ? "no manifest (legacy file): checksum not checked" : "SHA-256 matches the manifest"), complete dump of \(Format.bytes(inspection.sqlBytes)) SQL", checked: inspection.fullyRead)
        if let tables {
            let absent = tables.filter { inspection.tableRows[$0] == nil }.sorted()
            check("tables in the backup", absent.isEmpty, absent.isEmpty ? tables.sorted().map { "\($0) (\(inspection.tableRows[$0]!) rows)" }.joined(separator: ", ")
                                                                        : "\(absent.joined(separator: ", ")) not in the backup")
        }
        if let dumpMajor = inspection.manifest?.serverVersion.split(separator: ".").first.flatMap({ Int($0) }),
           let serverMajor = serverVersion.split(separator: ".").first.flatMap({ Int($0) }) {
            check("server version", serverMajor >= dumpMajor, "backup from PostgreSQL \(dumpMajor), server is \(serverVersion)")
        }

        if tables == nil {
            // A new copy takes about what the database took when it was backed up; without a manifest, the
            // SQL size plus as much again for indexes.
            let needed = inspection.manifest?.databaseSize ?? inspection.sqlBytes * 2
            let (free, note) = admin.freeSpace()
            if let free {
                check("free disk on the database server", free > needed + needed / 10,
                      "\(Format.bytes(free)) free in \(note), the restored database needs about \(Format.bytes(needed))" + (free > needed + needed / 10 ? "" : ": free space first (--force overrides)"),
                      overridable: true)
            } else {
                check("free disk on the database server", true, "not checked: \(note); about \(Format.bytes(needed)) will be needed", checked: false)
            }
        }
        if options.notSynapse {
            check("Synapse checks", true, "skipped (--not-synapse)", checked: false)
        } else {
            check("Synapse dump", inspection.isSynapse, inspection.isSynapse ? "has schema_version \(inspection.schemaVersion.map(String.init) ?? "?")" : "no schema_version table: not a Synapse database (pass --not-synapse to restore it anyway)")
            let liveFacts = liveExists ? try? PostgresClient(connection).query(
                "SELECT (SELECT version FROM schema_version), (SELECT name FROM users ORDER BY creation_ts NULLS LAST LIMIT 1)") : nil
            let liveSchema = liveFacts?.first?.first.flatMap { Int($0) }
            let understood = options.maxSchemaVersion ?? liveSchema
            if let compat = inspection.schemaCompatVersion, let understood {
                check("schema compatibility", compat <= understood,
                      compat <= understood ? "backup needs schema \(compat), Synapse understands \(understood)"
                                           : "the backup needs Synapse schema \(compat) but the running Synapse understands \(understood): upgrade Synapse first (--force overrides)",
                      overridable: true)
            } else {
                check("schema compatibility", true, "not checked: \(understood == nil ? "live schema version unknown (set synapse.max_schema_version)" : "backup has no schema_compat_version")", checked: false)
            }
            let liveServer = liveFacts?.first.flatMap { $0.count > 1 ? BackupOperation.serverName(of: $0[1]) : nil } ?? options.serverName
            if let backupServer = inspection.serverName, let liveServer {
                check("server_name", backupServer == liveServer,
                      backupServer == liveServer ? backupServer : "the backup belongs to \(backupServer), this homeserver is \(liveServer): Synapse would refuse it (--force overrides)",
                      overridable: true)
            } else {
                check("server_name", true, "not checked: \(inspection.serverName == nil ? "backup has no users" : "live server_name unknown (set synapse.server_name)")", checked: false)
            }
            if stopsSynapse && options.strategy == .inPlace && liveExists {
                // in-place keeps the database, and with it its locale.
                let locale = liveExists ? try admin.locale(of: live) : nil
                let isC = locale.map { $0.collate == "C" && $0.ctype == "C" } ?? true
                check("live database locale", isC, isC ? "collation C, ctype C (as Synapse requires; in-place keeps the database)"
                      : "\(live) has collation \(locale!.collate), ctype \(locale!.ctype) and in-place keeps it, but Synapse refuses anything but C: use --strategy swap or --strategy recreate (they create a new database with collation C)")
            } else {
                check("new database locale", true, "UTF8, collation C, ctype C (as Synapse requires)")
            }
        }
        return RestorePlan(inspection: inspection, checks: checks, live: live, liveExists: liveExists, liveEmpty: liveEmpty, target: target,
                           scratch: scratch, parked: parked, rejected: rejected, owner: owner, services: services.description,
                           strategy: liveExists || target != nil ? options.strategy : .swap, tables: tables, parkedSchema: "public_pre_restore_\(stamp)")
    }

    /// The tables of the live database whose foreign keys lead, directly or through others, to `tables`.
    private func referencingTables(_ tables: Set<String>) throws -> [String] {
        let named = tables.sorted().map { SQL.literal(SQL.qualified($0)) }.joined(separator: ", ")
        return try PostgresClient(connection).query("""
            WITH RECURSIVE named AS (SELECT to_regclass(t) AS oid FROM unnest(ARRAY[\(named)]::text[]) t),
            closure(oid) AS (SELECT oid FROM named WHERE oid IS NOT NULL
                             UNION SELECT c.conrelid FROM pg_constraint c JOIN closure ON c.confrelid = closure.oid WHERE c.contype = 'f')
            SELECT n.nspname || '.' || r.relname FROM closure JOIN pg_class r ON r.oid = closure.oid JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE closure.oid NOT IN (SELECT oid FROM named WHERE oid IS NOT NULL) ORDER BY 1
            """).map { $0[0] }
    }

    /// recreate must be able to read its own safety backup back without the operator.
    private func safetyBackupIsReloadable() throws -> Bool {
        guard let safetyBackup else { return false }
        guard case .recipients(let ids) = safetyBackup.options.encryption else { return true }
        return try ids.contains { try ProcessRunner.run(gpg.spec(["--list-secret-keys", "--", $0])).termination.succeeded }
    }

    /// Refuses unless every check passed (overridable ones may be forced).
    public func requireGreen(_ plan: RestorePlan) throws {
        let blocking = plan.failures.filter { !($0.overridable && options.force) }
        guard let first = blocking.first else { return }
        throw MXError.refused("\(first.name): \(first.detail)" + (blocking.count > 1 ? " (and \(blocking.count - 1) more: see --dry-run)" : "") + "; nothing was changed")
    }

    // MARK: execution

    public func execute(_ plan: RestorePlan, timeline: Timeline) throws -> RestoreReport {
        try strategy(for: plan).run(plan, timeline: timeline)
    }

    func strategy(for plan: RestorePlan) -> RestoreStrategy {
        if let tables = plan.tables { return TablesRestore(operation: self, tables: tables) }
        if plan.target != nil { return CloneRestore(operation: self) }
        // A new server: there is nothing to keep aside, recreate or load in place; swap's scratch load
        // and rename give the live name only a complete, checked database.
        if !plan.liveExists { return SwapRestore(operation: self) }
        switch options.strategy {
        case .swap: return SwapRestore(operation: self)
        case .inPlace: return InPlaceRestore(operation: self)
        case .recreate: return RecreateRestore(operation: self)
        }
    }

    /// The state file of this run, first written by the strategy's first `enter`.
    func journal(_ state: RestoreState) -> RestoreJournal { RestoreJournal(path: statePath, state: state) }

    /// Stops Synapse for a strategy that loads while it is down. The services are recorded before they
    /// stop, and the stop runs in a critical section: a signal must not cut a stop command half way and
    /// leave Synapse down with no record. A failure or a signal here starts Synapse again.
    func stopServices(_ journal: RestoreJournal, timeline: Timeline) throws {
        try journal.enter(.stopping) {
            $0.servicesStopped = true
            $0.services = services.names
        }
        do {
            try Interrupts.shared.critical { try timeline.measure("stop Synapse") { try services.stop() } }
            try Interrupts.shared.checkpoint()
        } catch {
            throw failure(error) { "nothing was changed; " + restartSynapse(journal, timeline: timeline) }
        }
    }

    /// After a failure that left the data as it was before: starts Synapse again. The state file goes only
    /// once Synapse runs; the words say which.
    func restartSynapse(_ journal: RestoreJournal, timeline: Timeline) -> String {
        let problem = Interrupts.shared.critical { DatabaseSwap(admin: admin, services: services, health: health).startAndCheck(timeline) }
        if let problem {
            return "Synapse did not start again (\(problem)): start it by hand, or run 'mxbackup restore --resume-cleanup'"
        }
        journal.finish()
        return services is NoServices ? "services are not controlled (services.kind none)" : "Synapse was started again"
    }

    /// Streams a backup file into `database` through psql, errors fatal, as the owner role.
    /// - Parameters:
    ///   - tables: only these tables' data (`--tables`).
    ///   - expectedSHA256: the file must still be the one the preflight read.
    func stream(_ file: BackupSource, expectedSHA256: String, sqlBytes: Int64, into database: String, tables: Set<String>? = nil,
                preamble: String = "", postamble: String = "", singleTransaction: Bool = false,
                step: String, timeline: Timeline) throws {
        try timeline.measure(step) {
            let reader = try BackupReader(source: file, gpg: gpg, passphrase: passphrase, connection: connection)
            let source: ByteSource = tables.map { TableDataFilter(reader, tables: $0, name: file.name) } ?? reader
            var loaded: Int64 = 0
            var last = Date()
            let started = Date()
            let role = owner == connection.user ? "" : "SET ROLE \(SQL.identifier(owner));\n"
            do {
                // The same bytes as the preflight read (or the manifest describes), checked before the load may commit.
                let sameFile = {
                    let digest = reader.fileDigest().sha256
                    guard digest == expectedSHA256 else {
                        throw file.manifest?.file.sha256 == expectedSHA256
                            ? MXError.refused("\(file.name): SHA-256 \(digest) differs from its manifest's \(expectedSHA256): the file is corrupt")
                            : MXError.failed("\(file.name) changed since the preflight read it")
                    }
                }
                try SQLLoader.load(source, named: file.name, into: database, connection: connection, jobs: singleTransaction ? 1 : options.jobs, preamble: role + preamble,
                                   postamble: postamble, singleTransaction: singleTransaction, beforeCommit: sameFile) { chunk in
                    if loaded == 0 { FaultPoint.reached("\(step): streaming") }
                    loaded += Int64(chunk.count)
                    if Date().timeIntervalSince(last) >= 0.5 {
                        last = Date()
                        let percent = tables == nil ? " (\(Int(Double(loaded) * 100 / Double(max(sqlBytes, 1))))%)" : ""
                        console.progress("loading \(Format.bytes(loaded))\(percent), \(Format.duration(last.timeIntervalSince(started)))")
                    }
                }
                console.endProgress()
            } catch {
                console.endProgress()
                reader.cancel()
                // A file that was checked only as far as its start may fail here: say why as precisely as the full read would.
                throw BackupInspection.manifestMismatch(file) ?? error
            }
        }
    }

    /// After a load into a database nobody uses yet: the same rows as the backup, no one-time keys, fresh statistics.
    func checkAndAnalyze(_ plan: RestorePlan, database: String, timeline: Timeline) throws {
        try timeline.measure("check rows against the backup, empty one-time keys, ANALYZE") {
            try SQLLoader.runConcurrently(RestoreCheck.statements(for: plan.inspection), in: database, connection: connection, jobs: options.jobs)
        }
    }

    /// Tells every local user before Synapse stops (when server notices are configured); returns who was told.
    func announceDowntime(timeline: Timeline) -> [String] {
        guard let notices else { return [] }
        return timeline.measure("server notice to all users") {
            let users = ServerNotices.recipients(PostgresClient(connection))
            notices.send(notices.before, to: users, console: console)
            return users
        }
    }

    func announceEnd(to users: [String], timeline: Timeline) {
        guard let notices, !users.isEmpty else { return }
        timeline.measure("server notice: maintenance over") { notices.send(notices.after, to: users, console: console) }
    }

    /// Turns a failure into the message the operator needs, after `cleanup` ran (uninterrupted) and said
    /// what it left.
    func failure(_ error: Error, cleanup: () -> String) -> MXError {
        let whatWasLeft = Interrupts.shared.critical(cleanup)
        if let signal = Interrupts.shared.signal {
            return MXError(.interrupted(signal: signal), "restore interrupted by signal \(signal): \(whatWasLeft)")
        }
        // A backup found bad during the load is still a refusal: nothing the operator has was changed.
        let mx = error as? MXError
        return MXError(mx?.kind == .refused ? .refused : .failed, "\(mx?.message ?? "\(error)"): \(whatWasLeft)")
    }

    /// The report of a restore that is done. Uninterrupted: a signal that arrived after the data was
    /// committed must not turn a finished restore into a "failed" one.
    func report(_ plan: RestorePlan, database: String, timeline: Timeline, downtime: Double?, health: String, safetyCopy: String?,
                rollback: String? = nil, note: String? = nil) -> RestoreReport {
        let size = Interrupts.shared.critical {
            Int64((try? PostgresClient(connection).scalar("SELECT pg_database_size(\(SQL.literal(database)))", database: DatabaseAdmin.maintenanceDatabase)) ?? "0") ?? 0
        }
        let rows = plan.inspection.tableRows
        return RestoreReport(
            file: plan.inspection.path, sha256: plan.inspection.sha256,
            strategy: plan.tables != nil ? "tables" : plan.target != nil ? "target-db" : plan.strategy.rawValue,
            database: database, steps: timeline.steps, downtimeSeconds: downtime,
            users: rows["public.users"] ?? 0, rooms: rows["public.rooms"] ?? 0, events: rows["public.events"] ?? 0,
            databaseSize: size, health: health, safetyCopy: safetyCopy,
            rollback: rollback, note: note)
    }
}
