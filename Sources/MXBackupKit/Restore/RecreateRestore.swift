import Foundation

/// `recreate`, for servers without room for two copies: a safety backup is written (mxbackup's own
/// backup) and checked first; then Synapse is stopped and the database dropped, created and loaded.
/// If the load, the check or Synapse's start fails, the safety backup is loaded back automatically.
/// Phases: stopping → recreating → committed (the restored data is checked: never undone), or
/// rolling back (the safety backup is being reloaded) → rolled back.
struct RecreateRestore: RestoreStrategy {
    static let kind = RestoreState.Strategy.recreate
    let operation: RestoreOperation

    func run(_ plan: RestorePlan, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        guard let safetyBackup = op.safetyBackup else { throw MXError.configuration("recreate needs the backup settings for its safety backup") }
        let safety = try timeline.measure("safety backup of \(plan.live)") { () throws -> BackupOperation.Result in
            let result = try safetyBackup.run(commandLine: "mxbackup restore --strategy recreate (safety backup)", takeLock: false)
            guard try SHA256Hasher.hex(of: result.path) == result.manifest.file.sha256 else {
                throw MXError.failed("the safety backup \(result.path) does not match its checksum: nothing was changed")
            }
            return result
        }
        try Interrupts.shared.checkpoint()
        var state = RestoreState(strategy: Self.kind, phase: .stopping, live: plan.live, scratch: plan.live, parked: plan.live)
        state.safetyBackup = safety.path
        let journal = op.journal(state)
        let told = op.announceDowntime(timeline: timeline)
        defer { op.announceEnd(to: told, timeline: timeline) }
        let downtimeStart = Date()
        try op.stopServices(journal, timeline: timeline)
        do {
            try journal.enter(.recreating)
            try Interrupts.shared.checkpoint()
            try timeline.measure("drop and create \(plan.live)") {
                try op.admin.drop(plan.live)
                try op.admin.create(plan.live, owner: plan.owner)
            }
            try op.stream(op.options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                          into: plan.live, step: "load \(Format.bytes(plan.inspection.sqlBytes)) of SQL", timeline: timeline)
            try op.checkAndAnalyze(plan, database: plan.live, timeline: timeline)
        } catch {
            throw rollBack(reason(error), plan: plan, safety: safety, journal: journal, timeline: timeline)
        }
        // Loaded and checked: this is the restore. From here nothing undoes it but an unhealthy Synapse.
        try journal.enter(.committed)
        return try Interrupts.shared.critical {
            if let problem = DatabaseSwap(admin: op.admin, services: op.services, health: op.health).startAndCheck(timeline) {
                throw rollBack("Synapse was not healthy on the restored database within \(Int(op.health.timeout))s (\(problem))",
                               plan: plan, safety: safety, journal: journal, timeline: timeline)
            }
            journal.finish()
            return op.report(plan, database: plan.live, timeline: timeline, downtime: Date().timeIntervalSince(downtimeStart),
                             health: op.services is NoServices ? "not checked (services.kind none)" : "OK", safetyCopy: safety.path,
                             rollback: "mxbackup restore \(safety.path) --strategy recreate")
        }
    }

    /// Reloads the safety backup and starts Synapse on it; the state file stays unless both worked.
    private func rollBack(_ cause: String, plan: RestorePlan, safety: BackupOperation.Result, journal: RestoreJournal,
                          timeline: RestoreOperation.Timeline) -> MXError {
        let op = operation
        let problem = Interrupts.shared.critical { () -> String? in
            do {
                try journal.enter(.rollingBack)
                try? op.services.stop()
                try timeline.measure("reload the safety backup") {
                    try op.admin.drop(plan.live)
                    try op.admin.create(plan.live, owner: plan.owner)
                    try op.stream(try .file(safety.path), expectedSHA256: safety.manifest.file.sha256, sqlBytes: safety.manifest.dumpSize,
                                  into: plan.live, step: "load the safety backup", timeline: timeline)
                }
                try? journal.enter(.rolledBack)
                if let problem = DatabaseSwap(admin: op.admin, services: op.services, health: op.health).startAndCheck(timeline) {
                    return "the safety backup was reloaded, but Synapse did not start on it (\(problem)): check its logs, then run 'mxbackup restore --resume-cleanup'"
                }
                journal.finish()
                return nil
            } catch {
                return "reloading the safety backup failed (\(reason(error))): \(plan.live) may be empty or half loaded and Synapse is stopped; run 'mxbackup restore --resume-cleanup' (it reloads \(safety.path)) once the server answers"
            }
        }
        timeline.rolledBack = problem == nil
        if let problem { return MXError.failed("\(cause); \(problem)") }
        if let signal = Interrupts.shared.signal {
            return MXError(.interrupted(signal: signal), "restore interrupted by signal \(signal); the safety backup \(safety.path) was reloaded and Synapse is running")
        }
        return MXError.failed("\(cause); the safety backup \(safety.path) was reloaded automatically and Synapse is healthy again")
    }

    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        switch state.phase {
        case .stopping:
            return ["nothing was changed: \(state.live) is as it was"]
        case .committed:
            return ["the restore had committed: \(state.live) holds the restored, checked data (the safety backup \(state.safetyBackup ?? "?") stays)"]
        case .recreating, .rollingBack:
            guard let safety = state.safetyBackup else { throw MXError.failed("the state file names no safety backup: restore \(state.live) by hand") }
            try? cleanup.services.stop()
            try cleanup.reload(safety, into: state.live)
            return ["reloaded the safety backup \(safety) into \(state.live): it is as it was before the restore"]
        case .rolledBack:
            return ["the safety backup \(state.safetyBackup ?? "?") had been reloaded into \(state.live)"]
        case .creating, .loading, .swapping, .inPlace:
            throw MXError.failed("the state file records a recreate in phase \(state.phase.rawValue), which recreate never writes: check \(state.live) by hand")
        }
    }
}
