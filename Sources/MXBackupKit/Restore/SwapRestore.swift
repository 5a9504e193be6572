import Foundation

/// `swap` (default): load a scratch database while Synapse keeps serving, check it, then swap names
/// (`DatabaseSwap`). Phases: creating → loading → stopping → swapping → committed, or on an unhealthy
/// start rolling back → rolled back.
struct SwapRestore: RestoreStrategy {
    static let kind = RestoreState.Strategy.swap
    let operation: RestoreOperation

    func run(_ plan: RestorePlan, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        let journal = op.journal(RestoreState(strategy: Self.kind, phase: .creating, live: plan.live, scratch: plan.scratch, parked: plan.parked))
        // The name is recorded before CREATE DATABASE: a kill during it leaves a database cleanup can name.
        try journal.enter(.creating)
        do {
            try timeline.measure("create \(plan.scratch)") { try op.admin.create(plan.scratch, owner: plan.owner) }
            timeline.created.insert(plan.scratch)
            try journal.enter(.loading)
            try Interrupts.shared.checkpoint()
            try op.stream(op.options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                          into: plan.scratch, step: "load \(Format.bytes(plan.inspection.sqlBytes)) of SQL", timeline: timeline)
            try op.checkAndAnalyze(plan, database: plan.scratch, timeline: timeline)
            try Interrupts.shared.checkpoint()
        } catch {
            throw op.failure(error) { "the live database \(plan.live) was not touched; " + dropScratch(plan, journal) }
        }
        guard plan.liveExists else { return try install(plan, journal: journal, timeline: timeline) }
        let told = op.announceDowntime(timeline: timeline)
        defer { op.announceEnd(to: told, timeline: timeline) }
        let result: DatabaseSwap.Result
        do {
            result = try DatabaseSwap(admin: op.admin, services: op.services, health: op.health, journal: journal)
                .run(live: plan.live, incoming: plan.scratch, parked: plan.parked, rejected: plan.rejected, timeline: timeline)
        } catch let error as MXError {
            // The swap left the journal saying what is left.
            switch journal.state.phase {
            case .loading: throw MXError(error.kind, error.message + "; " + Interrupts.shared.critical { dropScratch(plan, journal) })
            case .rolledBack where !journal.state.servicesStopped: journal.finish()
            default: break
            }
            throw error
        }
        journal.finish()
        if plan.liveEmpty { return try replacedEmpty(plan, downtime: result.downtime, health: result.health, timeline: timeline) }
        return op.report(plan, database: plan.live, timeline: timeline, downtime: result.downtime, health: result.health,
                         safetyCopy: plan.parked, rollback: "mxbackup rollback")
    }

    /// The previous database had no tables: rolling back to it would bring back nothing, so it is dropped.
    /// Emptiness is proved again on the parked database itself, since something may have written to it
    /// after the plan; if it now holds anything, it is kept for rollback like any previous database.
    private func replacedEmpty(_ plan: RestorePlan, downtime: Double, health: String, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        guard (try? op.admin.isEmpty(plan.parked)) == true else {
            return op.report(plan, database: plan.live, timeline: timeline, downtime: downtime, health: health,
                             safetyCopy: plan.parked, rollback: "mxbackup rollback")
        }
        var note = "The previous \(plan.live) was empty (no tables) and was dropped: there is nothing to roll back to."
        do {
            try timeline.measure("drop the empty previous database") { try op.admin.drop(plan.parked) }
        } catch {
            note = "The previous \(plan.live) was empty (no tables); it is kept as \(plan.parked) because it could not be dropped (\(reason(error))): DROP DATABASE \(plan.parked) when convenient. There is nothing to roll back to."
        }
        return op.report(plan, database: plan.live, timeline: timeline, downtime: downtime, health: health, safetyCopy: nil, note: note)
    }

    /// A new server (no live database): the checked scratch database takes the live name in one rename,
    /// so that name never carries a half-loaded database, and Synapse is started on it. There is nothing
    /// to set aside or roll back to.
    private func install(_ plan: RestorePlan, journal: RestoreJournal, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        if let unavailable = op.services.unavailable { throw MXError.refused("\(unavailable): \(dropScratch(plan, journal))") }
        // Synapse is not running and is to be started: recorded as stopped, so that a kill before it is up
        // leaves the start to --resume-cleanup.
        try Interrupts.shared.critical {
            try journal.enter(.swapping) {
                $0.servicesStopped = true
                $0.services = op.services.names
            }
            try timeline.measure("rename \(plan.scratch) -> \(plan.live)") { try op.admin.rename([(plan.scratch, plan.live)]) }
            try? journal.enter(.committed)
        }
        let problem = Interrupts.shared.critical { DatabaseSwap(admin: op.admin, services: op.services, health: op.health).startAndCheck(timeline) }
        journal.finish()
        if let problem {
            throw MXError.failed("\(plan.live) is restored and checked, but Synapse is not healthy on it (\(problem)): check Synapse's logs and configuration; the database stays (there was none before to go back to)")
        }
        return op.report(plan, database: plan.live, timeline: timeline, downtime: nil,
                         health: op.services is NoServices ? "not checked (services.kind none: start Synapse now)" : "OK",
                         safetyCopy: nil, note: "\(plan.live) is the live database, restored onto a server that had none: nothing was replaced, and there is nothing to roll back to.")
    }

    /// Drops this run's scratch database; the state file goes only once it is gone.
    private func dropScratch(_ plan: RestorePlan, _ journal: RestoreJournal) -> String {
        do {
            guard try operation.admin.exists(plan.scratch) else {
                journal.finish()
                return "no scratch database was left"
            }
            try operation.admin.drop(plan.scratch)
            journal.finish()
            return "the scratch database \(plan.scratch) was dropped"
        } catch {
            return "the scratch database \(plan.scratch) could not be dropped (\(reason(error))): run 'mxbackup restore --resume-cleanup' once the server answers"
        }
    }

    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        let admin = cleanup.admin
        let rejected = state.rejected ?? state.scratch
        let installed = try [.swapping, .committed].contains(state.phase)
            && !admin.exists(state.scratch) && !admin.exists(state.parked) && admin.exists(state.live)
        switch state.phase {
        case _ where installed:
            // A new server's restore: its one rename (scratch -> live) had happened.
            return ["the restore had finished: \(state.live) is the restored database (the server had none before)"]
        case .swapping where try admin.exists(state.parked), .committed:
            return ["the swap had happened: \(state.live) is the restored database, the previous one is \(state.parked)"]
        case .creating, .loading, .stopping, .swapping:
            guard try admin.exists(state.scratch) else { return ["\(state.live) was never touched"] }
            try admin.drop(state.scratch)
            return ["dropped the scratch database \(state.scratch); \(state.live) was never touched"]
        case .rollingBack where try admin.exists(state.parked):
            // Synapse rejected the restored database and the reverse renames had not happened: finish them.
            try? cleanup.services.stop()
            try admin.terminateSessions(state.live)
            try admin.rename([(state.live, rejected), (state.parked, state.live)])
            return ["finished the rollback: \(state.live) is the previous database again; the rejected copy is kept as \(rejected)"]
        case .rollingBack, .rolledBack:
            return ["the rollback had happened: \(state.live) is the previous database; the rejected copy is kept as \(rejected)"]
        case .inPlace, .recreating:
            throw MXError.failed("the state file records a swap in phase \(state.phase.rawValue), which a swap never writes: check \(state.live) by hand")
        }
    }
}
