import Foundation

/// `in-place`, for roles that cannot create databases: Synapse is stopped, the old schema is set aside
/// and the backup loaded into a new `public` schema in one transaction with its checks; any failure
/// rolls it all back. Phases: stopping → in-place → committed, or on an unhealthy start rolling back →
/// rolled back. The set-aside schema exists exactly when the transaction committed.
struct InPlaceRestore: RestoreStrategy {
    static let kind = RestoreState.Strategy.inPlace
    let operation: RestoreOperation

    func run(_ plan: RestorePlan, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        let swap = DatabaseSwap(admin: op.admin, services: op.services, health: op.health)
        let journal = op.journal(RestoreState(strategy: Self.kind, phase: .stopping, live: plan.live, scratch: plan.live, parked: plan.parkedSchema))
        let told = op.announceDowntime(timeline: timeline)
        defer { op.announceEnd(to: told, timeline: timeline) }
        let downtimeStart = Date()
        try op.stopServices(journal, timeline: timeline)
        do {
            try journal.enter(.inPlace)
            try Interrupts.shared.checkpoint()
            try op.admin.terminateSessions(plan.live)
            let setAside = "ALTER SCHEMA public RENAME TO \(SQL.identifier(plan.parkedSchema));\nCREATE SCHEMA public AUTHORIZATION \(SQL.identifier(plan.owner));\n"
            try op.stream(op.options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                          into: plan.live, preamble: setAside,
                          postamble: RestoreCheck.sql(for: plan.inspection) + RestoreCheck.emptyOneTimeKeys(plan.inspection),
                          singleTransaction: true, step: "load \(Format.bytes(plan.inspection.sqlBytes)) of SQL in one transaction", timeline: timeline)
        } catch {
            throw op.failure(error) {
                switch try? Self.committed(journal.state, op.admin.connection) {
                case false?: return "the transaction was rolled back: \(plan.live) is as it was; " + op.restartSynapse(journal, timeline: timeline)
                case true?: return "the transaction committed nevertheless; run 'mxbackup restore --resume-cleanup' to start Synapse on it"
                case nil: return "whether the transaction committed cannot be told (the server does not answer); Synapse is stopped: run 'mxbackup restore --resume-cleanup' once the server answers"
                }
            }
        }
        try? journal.enter(.committed)  // if this write fails, the set-aside schema still says so
        return try Interrupts.shared.critical {
            do {
                try timeline.measure("ANALYZE") { _ = try PostgresClient(op.connection).query("ANALYZE") }
            } catch {
                op.console.warn("ANALYZE after the restore failed (\(reason(error))): run ANALYZE in \(plan.live) later; the data is complete")
            }
            if let problem = swap.startAndCheck(timeline) {
                try journal.enter(.rollingBack)
                let rollbackProblem: String?
                do {
                    rollbackProblem = try timeline.measure("roll back") { () throws -> String? in
                        try? op.services.stop()
                        try Self.putBack(journal.state, op.admin)
                        try? journal.enter(.rolledBack)
                        return swap.startAndCheck(timeline)
                    }
                } catch {
                    throw MXError.failed("Synapse was not healthy on the restored data (\(problem)) and putting the previous schema back failed (\(reason(error))): public in \(plan.live) holds the restored data, the previous data is schema \(plan.parkedSchema); Synapse is stopped: run 'mxbackup restore --resume-cleanup' to finish the rollback")
                }
                timeline.rolledBack = true
                if rollbackProblem == nil { journal.finish() }
                throw MXError.failed("Synapse was not healthy on the restored data (\(problem)); rolled back: the previous schema is public again" +
                                     (rollbackProblem.map { ", but Synapse is still not healthy (\($0)): check its logs, then run 'mxbackup restore --resume-cleanup'" } ?? " and Synapse is healthy"))
            }
            journal.finish()
            return op.report(plan, database: plan.live, timeline: timeline, downtime: Date().timeIntervalSince(downtimeStart),
                             health: op.services is NoServices ? "not checked (services.kind none)" : "OK",
                             safetyCopy: "schema \(plan.parkedSchema) in \(plan.live)",
                             rollback: "stop Synapse; psql -d \(plan.live) -c 'BEGIN; DROP SCHEMA public CASCADE; ALTER SCHEMA \(plan.parkedSchema) RENAME TO public; COMMIT;'; start Synapse")
        }
    }

    /// The load's transaction set the old schema aside as its first statement: it exists iff it committed.
    private static func committed(_ state: RestoreState, _ connection: PostgresConnection) throws -> Bool {
        try PostgresClient(connection).scalar("SELECT count(*) FROM pg_namespace WHERE nspname = \(SQL.literal(state.parked))", database: state.live) == "1"
    }

    /// The previous schema becomes public again, in one transaction.
    private static func putBack(_ state: RestoreState, _ admin: DatabaseAdmin) throws {
        try admin.terminateSessions(state.live)
        _ = try PostgresClient(admin.connection).query("DROP SCHEMA public CASCADE; ALTER SCHEMA \(SQL.identifier(state.parked)) RENAME TO public;", database: state.live)
    }

    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        switch state.phase {
        case .stopping:
            return ["nothing was changed: \(state.live) is as it was"]
        case .inPlace where try committed(state, cleanup.connection), .committed:
            return ["the in-place load had committed whole, checks included: \(state.live) holds the restored data; the previous data is schema \(state.parked)"]
        case .inPlace:
            return ["the in-place load had not committed (the server rolled it back): \(state.live) is as it was"]
        case .rollingBack where try committed(state, cleanup.connection):
            try? cleanup.services.stop()
            try putBack(state, cleanup.admin)
            return ["finished the rollback: the previous schema is public again in \(state.live); the restored data is gone"]
        case .rollingBack, .rolledBack:
            return ["the rollback had happened: the previous schema is public in \(state.live)"]
        case .creating, .loading, .swapping, .recreating:
            throw MXError.failed("the state file records an in-place restore in phase \(state.phase.rawValue), which in-place never writes: check \(state.live) by hand")
        }
    }
}
