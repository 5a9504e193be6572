import Foundation

extension RestoreOperation {
    /// `in-place`, for roles that cannot create databases: Synapse is stopped, the old schema is set aside
    /// and the backup loaded into a new `public` schema in one transaction; any failure rolls it all back.
    func restoreInPlace(_ plan: RestorePlan, timeline: Timeline) throws -> RestoreReport {
        let swap = DatabaseSwap(admin: admin, services: services, health: health)
        let downtimeStart = Date()
        let state = RestoreState(phase: .inPlace, live: plan.live, scratch: plan.live, parked: plan.parkedSchema,
                                 servicesStopped: true, started: Format.iso8601(Date()))
        try state.save(to: statePath)
        defer { unlink(statePath) }
        let told = announceDowntime(timeline: timeline)
        defer { announceEnd(to: told, timeline: timeline) }
        try timeline.measure("stop Synapse") { try services.stop() }
        do {
            try Interrupts.shared.checkpoint()
            try admin.terminateSessions(plan.live)
            let setAside = "ALTER SCHEMA public RENAME TO \(SQL.identifier(plan.parkedSchema));\nCREATE SCHEMA public AUTHORIZATION \(SQL.identifier(plan.owner));\n"
            try stream(options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                       into: plan.live, preamble: setAside,
                       postamble: RestoreCheck.sql(for: plan.inspection) + RestoreCheck.emptyOneTimeKeys(plan.inspection),
                       singleTransaction: true, step: "load \(Format.bytes(plan.inspection.sqlBytes)) of SQL in one transaction", timeline: timeline)
            try timeline.measure("ANALYZE") { _ = try PostgresClient(connection).query("ANALYZE") }
        } catch {
            throw loadFailure(error, whatWasLeft: "the transaction was rolled back: \(plan.live) is as it was; Synapse was started again") {
                _ = swap.startAndCheck(timeline)
            }
        }
        return try Interrupts.shared.critical {
            if let problem = swap.startAndCheck(timeline) {
                let rollbackProblem = try timeline.measure("roll back") { () throws -> String? in
                    try? services.stop()
                    try admin.terminateSessions(plan.live)
                    _ = try PostgresClient(connection).query("DROP SCHEMA public CASCADE; ALTER SCHEMA \(SQL.identifier(plan.parkedSchema)) RENAME TO public;")
                    return swap.startAndCheck(timeline)
                }
                timeline.rolledBack = true
                throw MXError.failed("Synapse was not healthy on the restored data (\(problem)); rolled back: the previous schema is public again" +
                                     (rollbackProblem.map { ", but Synapse is still not healthy (\($0)): check its logs" } ?? " and Synapse is healthy"))
            }
            return try report(plan, database: plan.live, timeline: timeline, downtime: Date().timeIntervalSince(downtimeStart),
                              health: services is NoServices ? "not checked (services.kind none)" : "OK",
                              safetyCopy: "schema \(plan.parkedSchema) in \(plan.live)",
                              rollback: "stop Synapse; psql -d \(plan.live) -c 'BEGIN; DROP SCHEMA public CASCADE; ALTER SCHEMA \(plan.parkedSchema) RENAME TO public; COMMIT;'; start Synapse")
        }
    }
}
