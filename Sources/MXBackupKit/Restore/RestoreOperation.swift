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
        public var file: String
        public var target: String?
        public var owner: String?
        public var force = false
        public var notSynapse = false
        public var maxSchemaVersion: Int?
        public var serverName: String?

        public init(file: String) { self.file = file }
    }

    public let connection: PostgresConnection
    public let gpg: GPG
    public let passphrase: String?
    public let services: ServiceController
    public let health: HealthCheck
    public let directory: String
    public let console: Console
    public let options: Options

    public init(connection: PostgresConnection, gpg: GPG, passphrase: String?, services: ServiceController,
                health: HealthCheck, directory: String, console: Console, options: Options) {
        self.connection = connection
        self.gpg = gpg
        self.passphrase = passphrase
        self.services = services
        self.health = health
        self.directory = directory
        self.console = console
        self.options = options
    }

    private var admin: DatabaseAdmin { DatabaseAdmin(connection) }
    private var owner: String { options.owner ?? connection.user }
    private var statePath: String { RestoreState.path(directory: directory, database: connection.database) }

    /// Step timings, for the report and the audit log.
    public final class Timeline: @unchecked Sendable {
        public private(set) var steps: [AuditRecord.Step] = []
        /// Set when a failure was followed by an automatic rollback.
        public var rolledBack = false
        public init() {}
        public func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
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
        func check(_ name: String, _ ok: Bool, _ detail: String, overridable: Bool = false) {
            checks.append(.init(name: name, ok: ok, detail: detail, overridable: overridable))
        }
        if let state = RestoreState.load(statePath) {
            throw MXError.refused("a restore started \(state.started) was interrupted while \(state.phase.rawValue) (\(statePath)): run 'mxbackup restore --resume-cleanup' first")
        }
        let live = connection.database
        let stamp = Self.stamp()
        let target = options.target
        let scratch = target ?? "\(live)_restore_\(stamp)"
        let parked = "\(live)_pre_restore_\(stamp)"

        let serverVersion = try timeline.measure("preflight: server") { () throws -> String in
            let version = try PostgresClient(connection).scalar("SHOW server_version", database: DatabaseAdmin.maintenanceDatabase) ?? "?"
            let privileges = try admin.privileges(owner: owner)
            check("role \(owner)", privileges.roleExists, privileges.roleExists ? "exists" : "does not exist: create it or pass --owner")
            check("privilege to create databases", privileges.superuser || privileges.createDB,
                  privileges.superuser ? "superuser" : privileges.createDB ? "CREATEDB" : "\(connection.user) lacks CREATEDB: ALTER ROLE \(connection.user) CREATEDB")
            if let target {
                check("target database \(target)", try !admin.exists(target), try admin.exists(target) ? "already exists: choose another name or drop it" : "does not exist yet")
            }
            for leftover in try admin.databases(prefix: "\(live)_restore_") {
                console.warn("leftover scratch database \(leftover) from an earlier restore: drop it with 'mxbackup restore --resume-cleanup' or DROP DATABASE")
            }
            return version
        }
        let liveExists = try admin.exists(live)
        if target == nil {
            check("live database \(live)", liveExists, liveExists ? "exists (it will be kept as \(parked))" : "does not exist: use --target-db \(live) to create it from the backup")
        }

        let inspection = try timeline.measure("preflight: read and check the backup") {
            try BackupInspection.inspect(path: options.file, gpg: gpg, passphrase: passphrase, connection: connection)
        }
        let manifestNote = inspection.manifest == nil ? "no manifest (legacy file): checksum not checked" : "SHA-256 matches the manifest"
        check("backup file", true, "\(inspection.layers.map(\.rawValue).joined(separator: " > ")), \(Format.bytes(inspection.size)), \(manifestNote), complete dump of \(Format.bytes(inspection.sqlBytes)) SQL")
        if let dumpMajor = inspection.manifest?.serverVersion.split(separator: ".").first.flatMap({ Int($0) }),
           let serverMajor = serverVersion.split(separator: ".").first.flatMap({ Int($0) }) {
            check("server version", serverMajor >= dumpMajor, "backup from PostgreSQL \(dumpMajor), server is \(serverVersion)")
        }

        if options.notSynapse {
            check("Synapse checks", true, "skipped (--not-synapse)")
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
                check("schema compatibility", true, "not checked: \(understood == nil ? "live schema version unknown (set synapse.max_schema_version)" : "backup has no schema_compat_version")")
            }
            let liveServer = liveFacts?.first.flatMap { $0.count > 1 ? BackupOperation.serverName(of: $0[1]) : nil } ?? options.serverName
            if let backupServer = inspection.serverName, let liveServer {
                check("server_name", backupServer == liveServer,
                      backupServer == liveServer ? backupServer : "the backup belongs to \(backupServer), this homeserver is \(liveServer): Synapse would refuse it (--force overrides)",
                      overridable: true)
            } else {
                check("server_name", true, "not checked: \(inspection.serverName == nil ? "backup has no users" : "live server_name unknown (set synapse.server_name)")")
            }
            check("new database locale", true, "UTF8, collation C, ctype C (as Synapse requires)")
        }
        return RestorePlan(inspection: inspection, checks: checks, live: live, liveExists: liveExists, target: target,
                           scratch: scratch, parked: parked, owner: owner, services: services.description)
    }

    /// Refuses unless every check passed (overridable ones may be forced).
    public func requireGreen(_ plan: RestorePlan) throws {
        let blocking = plan.failures.filter { !($0.overridable && options.force) }
        guard let first = blocking.first else { return }
        throw MXError.refused("\(first.name): \(first.detail)" + (blocking.count > 1 ? " (and \(blocking.count - 1) more: see --dry-run)" : "") + "; nothing was changed")
    }

    // MARK: execution

    public func execute(_ plan: RestorePlan, timeline: Timeline) throws -> RestoreReport {
        let database = plan.target ?? plan.scratch
        try timeline.measure("create \(database)") { try admin.create(database, owner: plan.owner) }
        let state = RestoreState(phase: .loading, live: plan.live, scratch: database, parked: plan.parked,
                                 servicesStopped: false, started: Format.iso8601(Date()))
        if plan.target == nil { try state.save(to: statePath) }
        do {
            try Interrupts.shared.checkpoint()
            try load(plan, into: database, timeline: timeline)
            try Interrupts.shared.checkpoint()
        } catch {
            Interrupts.shared.critical {
                do { try admin.drop(database) } catch let dropError {
                    console.warn("could not drop \(database): \(dropError); drop it by hand")
                }
                unlink(statePath)
            }
            let what = plan.target == nil ? "the live database \(plan.live) was not touched; the scratch database was dropped"
                                          : "\(database) was dropped"
            if let signal = Interrupts.shared.signal {
                throw MXError(.interrupted(signal: signal), "restore interrupted by signal \(signal) while loading: \(what)")
            }
            throw MXError.failed("\((error as? MXError)?.message ?? "\(error)"): \(what)")
        }
        if let target = plan.target {
            return try report(plan, database: target, timeline: timeline, downtime: nil, health: "not checked (--target-db)", safetyCopy: nil)
        }
        return try swap(plan, state: state, timeline: timeline)
    }

    private func load(_ plan: RestorePlan, into database: String, timeline: Timeline) throws {
        try timeline.measure("load \(Format.bytes(plan.inspection.sqlBytes)) of SQL") {
            let reader = try BackupReader(path: plan.inspection.path, gpg: gpg, passphrase: passphrase, connection: connection)
            var loaded: Int64 = 0
            var last = Date()
            let started = Date()
            do {
                let preamble = plan.owner == connection.user ? "" : "SET ROLE \(SQL.identifier(plan.owner));\n"
                try SQLLoader.load(reader, into: database, connection: connection, preamble: preamble) { chunk in
                    loaded += Int64(chunk.count)
                    if Date().timeIntervalSince(last) >= 0.5 {
                        last = Date()
                        let fraction = Double(loaded) / Double(max(plan.inspection.sqlBytes, 1))
                        console.progress("loading \(Format.bytes(loaded)) of \(Format.bytes(plan.inspection.sqlBytes)) (\(Int(fraction * 100))%), \(Format.duration(last.timeIntervalSince(started)))")
                    }
                }
                console.endProgress()
            } catch {
                console.endProgress()
                reader.cancel()
                throw error
            }
            // The same bytes as in the preflight read: a file changed in between is not restored.
            guard reader.fileDigest().sha256 == plan.inspection.sha256 else {
                throw MXError.failed("\(plan.inspection.path) changed while it was being restored")
            }
        }
        try timeline.measure("check row counts against the backup") { try verify(plan, database: database) }
        try timeline.measure("empty e2e_one_time_keys_json, ANALYZE") {
            let client = PostgresClient(connection)
            if plan.inspection.tableRows["public.e2e_one_time_keys_json"] != nil {
                _ = try client.query("TRUNCATE public.e2e_one_time_keys_json", database: database)
            }
            _ = try client.query("ANALYZE", database: database)
        }
    }

    /// The loaded database must hold exactly what the dump held.
    private func verify(_ plan: RestorePlan, database: String) throws {
        let tables = plan.inspection.tableRows.keys.sorted()
        guard !tables.isEmpty else { return }
        let client = PostgresClient(connection)
        let counts = try client.query(tables.map { "SELECT \(SQL.literal($0)), count(*) FROM \(SQL.qualified($0))" }.joined(separator: " UNION ALL "), database: database)
        for row in counts where row.count == 2 {
            let expected = plan.inspection.tableRows[row[0]] ?? -1
            guard Int64(row[1]) == expected else {
                throw MXError.failed("after the load \(row[0]) has \(row[1]) rows, the backup has \(expected)")
            }
        }
        if let expected = plan.inspection.maxStreamOrdering {
            let actual = try client.scalar("SELECT max(stream_ordering) FROM public.events", database: database)
            guard actual == String(expected) else { throw MXError.failed("after the load max(events.stream_ordering) is \(actual ?? "null"), the backup has \(expected)") }
        }
        if let expected = plan.inspection.schemaVersion {
            let actual = try client.scalar("SELECT version FROM public.schema_version", database: database)
            guard actual == String(expected) else { throw MXError.failed("after the load schema_version is \(actual ?? "null"), the backup has \(expected)") }
        }
        if let manifest = plan.inspection.manifest {
            for (table, rows) in manifest.tableRows where plan.inspection.tableRows[table] != rows {
                throw MXError.failed("the manifest says \(table) has \(rows) rows, the dump has \(plan.inspection.tableRows[table] ?? 0)")
            }
        }
    }

    /// Stop, rename, start, health; reversed automatically if Synapse does not come up healthy.
    private func swap(_ plan: RestorePlan, state: RestoreState, timeline: Timeline) throws -> RestoreReport {
        var state = state
        state.phase = .swapping
        state.servicesStopped = true
        try state.save(to: statePath)
        defer { unlink(statePath) }
        let swap = DatabaseSwap(admin: admin, services: services, health: health)
        let result: DatabaseSwap.Result
        do {
            result = try swap.run(live: plan.live, incoming: plan.scratch, parked: plan.parked,
                                  rejected: "\(plan.live)_failed_restore_\(Self.stamp())", timeline: timeline)
        } catch {
            if !timeline.rolledBack { Interrupts.shared.critical { try? admin.drop(plan.scratch) } }
            throw error
        }
        return try report(plan, database: plan.live, timeline: timeline, downtime: result.downtime, health: result.health, safetyCopy: plan.parked)
    }

    private func report(_ plan: RestorePlan, database: String, timeline: Timeline, downtime: Double?, health: String, safetyCopy: String?) throws -> RestoreReport {
        let size = Int64(try PostgresClient(connection).scalar("SELECT pg_database_size(\(SQL.literal(database)))", database: DatabaseAdmin.maintenanceDatabase) ?? "0") ?? 0
        let rows = plan.inspection.tableRows
        return RestoreReport(
            file: plan.inspection.path, sha256: plan.inspection.sha256, strategy: plan.target == nil ? "swap" : "target-db",
            database: database, steps: timeline.steps, downtimeSeconds: downtime,
            users: rows["public.users"] ?? 0, rooms: rows["public.rooms"] ?? 0, events: rows["public.events"] ?? 0,
            databaseSize: size, health: health, safetyCopy: safetyCopy,
            rollback: safetyCopy.map { "stop Synapse; psql -d postgres -c 'ALTER DATABASE \(SQL.identifier(plan.live)) RENAME TO \(SQL.identifier(plan.live + "_unwanted")); ALTER DATABASE \(SQL.identifier($0)) RENAME TO \(SQL.identifier(plan.live));'; start Synapse" })
    }

    static func stamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd_HHmmss"
        return f.string(from: Date())
    }
}
