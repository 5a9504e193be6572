import Foundation

extension RestoreOperation {
    /// `swap` (and `--target-db`): load a new database while Synapse keeps serving, check it, then
    /// swap names (or, for a clone, stop there).
    func restoreIntoNewDatabase(_ plan: RestorePlan, timeline: Timeline) throws -> RestoreReport {
        let database = plan.target ?? plan.scratch
        try timeline.measure("create \(database)") { try admin.create(database, owner: plan.owner) }
        var state = RestoreState(phase: .loading, live: plan.live, scratch: database, parked: plan.parked,
                                 servicesStopped: false, started: Format.iso8601(Date()))
        if plan.target == nil { try state.save(to: statePath) }
        do {
            try Interrupts.shared.checkpoint()
            try stream(options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                       into: database, step: "load \(Format.bytes(plan.inspection.sqlBytes)) of SQL", timeline: timeline)
            try checkAndAnalyze(plan, database: database, timeline: timeline)
            try Interrupts.shared.checkpoint()
        } catch {
            let left = plan.target == nil ? "the live database \(plan.live) was not touched; the scratch database was dropped"
                                          : "\(database) was dropped"
            throw loadFailure(error, whatWasLeft: left) {
                do { try admin.drop(database) } catch let dropError {
                    console.warn("could not drop \(database): \(dropError); drop it by hand")
                }
                unlink(statePath)
            }
        }
        if let target = plan.target {
            return try report(plan, database: target, timeline: timeline, downtime: nil, health: "not checked (--target-db)", safetyCopy: nil)
        }
        state.phase = .swapping
        state.servicesStopped = true
        try state.save(to: statePath)
        defer { unlink(statePath) }
        let told = announceDowntime(timeline: timeline)
        let result: DatabaseSwap.Result
        do {
            result = try DatabaseSwap(admin: admin, services: services, health: health)
                .run(live: plan.live, incoming: plan.scratch, parked: plan.parked,
                     rejected: "\(plan.live)_failed_restore_\(Self.stamp())", timeline: timeline)
        } catch {
            if !timeline.rolledBack { Interrupts.shared.critical { try? admin.drop(plan.scratch) } }
            announceEnd(to: told, timeline: timeline)
            throw error
        }
        announceEnd(to: told, timeline: timeline)
        return try report(plan, database: plan.live, timeline: timeline, downtime: result.downtime, health: result.health,
                          safetyCopy: plan.parked, rollback: "mxbackup rollback")
    }
}
