import Foundation

extension RestoreOperation {
    /// `recreate`, for servers without room for two copies: a safety backup is written (mxbackup's own
    /// backup) and checked first; then Synapse is stopped and the database dropped, created and loaded.
    /// If the load, the check or Synapse's start fails, the safety backup is loaded back automatically.
    func restoreByRecreating(_ plan: RestorePlan, timeline: Timeline) throws -> RestoreReport {
        guard let safetyBackup else { throw MXError.configuration("recreate needs the backup settings for its safety backup") }
        let safety = try timeline.measure("safety backup of \(plan.live)") { () throws -> BackupOperation.Result in
            let result = try safetyBackup.run(commandLine: "mxbackup restore --strategy recreate (safety backup)", takeLock: false)
            guard try SHA256Hasher.hex(of: result.path) == result.manifest.file.sha256 else {
                throw MXError.failed("the safety backup \(result.path) does not match its checksum: nothing was changed")
            }
            return result
        }
        try Interrupts.shared.checkpoint()
        let swap = DatabaseSwap(admin: admin, services: services, health: health)
        var state = RestoreState(phase: .recreating, live: plan.live, scratch: plan.live, parked: plan.live,
                                 servicesStopped: true, started: Format.iso8601(Date()))
        state.safetyBackup = safety.path
        try state.save(to: statePath)
        defer { unlink(statePath) }
        let told = announceDowntime(timeline: timeline)
        defer { announceEnd(to: told, timeline: timeline) }
        let downtimeStart = Date()
        try timeline.measure("stop Synapse") { try services.stop() }
        do {
            try Interrupts.shared.checkpoint()
            try timeline.measure("drop and create \(plan.live)") {
                try admin.drop(plan.live)
                try admin.create(plan.live, owner: plan.owner)
            }
            try stream(options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                       into: plan.live, step: "load \(Format.bytes(plan.inspection.sqlBytes)) of SQL", timeline: timeline)
            try checkAndAnalyze(plan, database: plan.live, timeline: timeline)
            try Interrupts.shared.checkpoint()
            if let problem = Interrupts.shared.critical({ swap.startAndCheck(timeline) }) {
                throw MXError.failed("Synapse was not healthy on the restored database within \(Int(health.timeout))s (\(problem))")
            }
        } catch {
            let cause = (error as? MXError)?.message ?? "\(error)"
            let problem = Interrupts.shared.critical { () -> String? in
                do {
                    try? services.stop()
                    try timeline.measure("reload the safety backup") {
                        try admin.drop(plan.live)
                        try admin.create(plan.live, owner: plan.owner)
                        try stream(try .file(safety.path), expectedSHA256: safety.manifest.file.sha256, sqlBytes: safety.manifest.dumpSize,
                                   into: plan.live, step: "load the safety backup", timeline: timeline)
                    }
                    return swap.startAndCheck(timeline)
                } catch {
                    return (error as? MXError)?.message ?? "\(error)"
                }
            }
            timeline.rolledBack = true
            if let signal = Interrupts.shared.signal, problem == nil {
                throw MXError(.interrupted(signal: signal), "restore interrupted by signal \(signal); the safety backup \(safety.path) was reloaded and Synapse is running")
            }
            if let problem {
                throw MXError.failed("\(cause); reloading the safety backup also failed (\(problem)): \(plan.live) must be restored by hand from \(safety.path)")
            }
            throw MXError.failed("\(cause); the safety backup \(safety.path) was reloaded automatically and Synapse is healthy again")
        }
        return try report(plan, database: plan.live, timeline: timeline, downtime: Date().timeIntervalSince(downtimeStart),
                          health: services is NoServices ? "not checked (services.kind none)" : "OK", safetyCopy: safety.path,
                          rollback: "mxbackup restore \(safety.path) --strategy recreate")
    }
}
