import Foundation

/// `mxbackup rollback`: brings the newest `pre_restore` safety copy back, with the same service handling
/// and health check as a restore (and the same automatic reversal if unhealthy):
/// - a database `<db>_pre_restore_*` is swapped in; the current database is kept as `<db>_rolled_back_<UTC>`;
/// - a schema `public_pre_restore_*` (in-place) becomes `public` again in one transaction; the current
///   `public` is kept as `public_rolled_back_<UTC>`.
/// Like a restore it writes the state file at each phase (strategy `rollback` or `schema rollback`), so a
/// kill while Synapse is down leaves a record that `restore --resume-cleanup` finishes.
public struct RollbackOperation: ResumableRestore {
    public let connection: PostgresConnection
    public let services: ServiceController
    public let health: HealthCheck
    /// The backup directory, where the state file lives.
    public let directory: String

    public init(connection: PostgresConnection, services: ServiceController, health: HealthCheck, directory: String) {
        self.connection = connection
        self.services = services
        self.health = health
        self.directory = directory
    }

    private var admin: DatabaseAdmin { DatabaseAdmin(connection) }

    /// The safety copy that would come back.
    public func candidate() throws -> SafetyCopy {
        let live = connection.database
        if let leftover = RestoreState.leftoverWarning(directory: directory, database: live) {
            throw MXError.refused(leftover + " first")
        }
        guard let copy = try SafetyCopies.list(admin, live: live).first(where: { $0.kind == "pre_restore" }) else {
            throw MXError.refused("no safety copy (database \(live)_pre_restore_* or schema public_pre_restore_* in \(live)) exists on the server: nothing to roll back to")
        }
        guard try admin.exists(live) else {
            throw MXError.refused("database \(live) does not exist: rename \(copy.name) by hand if it should be live")
        }
        return copy
    }

    /// What `run` will do, for the operator to confirm.
    public func plan(_ copy: SafetyCopy) -> String {
        let live = connection.database
        if copy.schemaOf != nil {
            return "schema \(copy.name) (from \(Format.localTime(copy.created))) becomes public in \(live); the current public is kept as public_rolled_back_<now>"
        }
        return "\(copy.name) (from \(Format.localTime(copy.created))) becomes \(live); the current \(live) is kept as \(live)_rolled_back_<now>"
    }

    public func run(_ copy: SafetyCopy, timeline: RestoreOperation.Timeline) throws -> DatabaseSwap.Result {
        let live = connection.database
        let parked = copy.schemaOf == nil ? DatabaseNames.name("rolled_back", of: live, stamp: DatabaseNames.stamp())
                                          : "public_rolled_back_\(DatabaseNames.stamp())"
        var state = RestoreState(strategy: copy.schemaOf == nil ? .rollback : .schemaRollback, phase: .stopping,
                                 live: live, scratch: copy.name, parked: parked)
        state.rejected = copy.name
        let journal = RestoreJournal(path: RestoreState.path(directory: directory, database: live), state: state)
        let result: DatabaseSwap.Result
        do {
            if copy.schemaOf == nil {
                result = try DatabaseSwap(admin: admin, services: services, health: health, journal: journal)
                    .run(live: live, incoming: copy.name, parked: parked, rejected: copy.name, timeline: timeline)
            } else {
                result = try rollBackSchema(copy, parked: parked, journal: journal, timeline: timeline)
            }
        } catch {
            // Done with nothing left for a cleanup: nothing renamed and Synapse running again, or reversed
            // and Synapse started on the previous data.
            if journal.state.phase == .loading || !journal.state.servicesStopped && [.rolledBack, .committed].contains(journal.state.phase) {
                journal.finish()
            }
            throw error
        }
        journal.finish()
        return result
    }

    /// The schema form of `DatabaseSwap.run`: stop, exchange the schemas in one transaction, start and check;
    /// if unhealthy, exchange them back the same way.
    private func rollBackSchema(_ copy: SafetyCopy, parked: String, journal: RestoreJournal, timeline: RestoreOperation.Timeline) throws -> DatabaseSwap.Result {
        let live = connection.database
        let swap = DatabaseSwap(admin: admin, services: services, health: health)
        if let unavailable = services.unavailable { throw MXError.refused("\(unavailable): nothing was changed") }
        return try Interrupts.shared.critical {
            let started = Date()
            try journal.enter(.stopping) {
                $0.servicesStopped = true
                $0.services = services.names
            }
            do {
                try timeline.measure("stop Synapse") { try services.stop() }
                try journal.enter(.swapping)
                try timeline.measure("end sessions, rename schemas") { try Self.exchange(admin, in: live, keepingPublicAs: parked, copy.name) }
            } catch {
                // One transaction: nothing was renamed. Put Synapse back as it was.
                try? services.startMain()
                try? services.startWorkers()
                try? journal.enter(.loading) { $0.servicesStopped = false }
                throw MXError.failed("the rollback failed and nothing was renamed; Synapse was started again on \(live): \(reason(error))")
            }
            try? journal.enter(.committed)
            guard let problem = swap.startAndCheck(timeline) else {
                try? journal.enter(.committed) { $0.servicesStopped = false }
                return DatabaseSwap.Result(downtime: Date().timeIntervalSince(started), health: services is NoServices ? "not checked (services.kind none)" : "OK")
            }
            try? journal.enter(.rollingBack)
            let rollbackProblem = try timeline.measure("roll back") { () throws -> String? in
                try? services.stop()
                try Self.exchange(admin, in: live, keepingPublicAs: copy.name, parked)
                try? journal.enter(.rolledBack)
                return swap.startAndCheck(timeline)
            }
            timeline.rolledBack = true
            if rollbackProblem == nil { try? journal.enter(.rolledBack) { $0.servicesStopped = false } }
            throw MXError.failed("Synapse was not healthy on schema \(copy.name) (\(problem)); rolled back: public in \(live) is what it was before the rollback"
                                 + (rollbackProblem.map { ", but Synapse is still not healthy (\($0)): check its logs, then run 'mxbackup restore --resume-cleanup'" } ?? " and Synapse is healthy"))
        }
    }

    /// Ends the sessions and, in one transaction, renames `public` to `parked` and `incoming` to `public`.
    private static func exchange(_ admin: DatabaseAdmin, in live: String, keepingPublicAs parked: String, _ incoming: String) throws {
        try admin.terminateSessions(live)
        _ = try PostgresClient(admin.connection).query("ALTER SCHEMA public RENAME TO \(SQL.identifier(parked)); ALTER SCHEMA \(SQL.identifier(incoming)) RENAME TO public;", database: live)
    }

    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        let admin = cleanup.admin
        let rejected = state.rejected ?? state.scratch
        let schemas = state.recordedStrategy == .schemaRollback
        func exists(_ name: String) throws -> Bool {
            guard schemas else { return try admin.exists(name) }
            return try PostgresClient(admin.connection).scalar("SELECT count(*) FROM pg_namespace WHERE nspname = \(SQL.literal(name))", database: state.live) == "1"
        }
        let what = schemas ? "schema public in \(state.live)" : state.live
        let happened = "the rollback had happened: \(what) is the safety copy \(state.scratch) again; what it replaced is kept as \(state.parked)"
        switch state.phase {
        case .committed:
            return [happened]
        case .swapping where try exists(state.parked):
            return [happened]
        case .creating, .loading, .stopping, .swapping, .inPlace, .recreating:
            return ["the rollback had not renamed anything: \(what) is as it was"]
        case .rollingBack where try exists(state.parked):
            // Synapse rejected the safety copy and the reverse renames had not happened: finish them.
            try? cleanup.services.stop()
            if schemas {
                try exchange(admin, in: state.live, keepingPublicAs: rejected, state.parked)
            } else {
                try admin.terminateSessions(state.live)
                try admin.rename([(state.live, rejected), (state.parked, state.live)])
            }
            return ["finished reversing the rollback: \(what) is what it was before the rollback; the safety copy is \(rejected) again"]
        case .rollingBack, .rolledBack:
            return ["the rollback had been reversed: \(what) is what it was before the rollback; the safety copy is \(rejected) again"]
        }
    }
}
