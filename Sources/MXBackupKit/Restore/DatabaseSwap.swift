import Foundation

/// The only moment Synapse is down: stop it, rename the live database away and another one into its
/// place (one transaction), start the main process, wait for health, start the workers. If Synapse is
/// not healthy, the renames are reversed the same way and Synapse is started on the previous database.
/// Used by `restore` (scratch → live, with its state file) and `rollback` (safety copy → live).
///
/// With a journal, every step's phase is written before it runs, and the swap leaves the journal saying
/// exactly what is left: `committed` (done, Synapse healthy), `loading` (nothing renamed, Synapse running
/// again: the incoming database can be dropped), `rolled back` (the previous database is live again);
/// anything else, or `servicesStopped`, is for `restore --resume-cleanup`.
public struct DatabaseSwap {
    public let admin: DatabaseAdmin
    public let services: ServiceController
    public let health: HealthCheck
    let journal: RestoreJournal?

    public struct Result: Sendable {
        public var downtime: Double
        public var health: String
    }

    public init(admin: DatabaseAdmin, services: ServiceController, health: HealthCheck) {
        self.init(admin: admin, services: services, health: health, journal: nil)
    }

    init(admin: DatabaseAdmin, services: ServiceController, health: HealthCheck, journal: RestoreJournal?) {
        self.admin = admin
        self.services = services
        self.health = health
        self.journal = journal
    }

    /// Makes `incoming` the live database; the current one becomes `parked`. On an unhealthy start the
    /// swap is reversed and `incoming` is kept as `rejected`; `timeline.rolledBack` is set and the error says so.
    public func run(live: String, incoming: String, parked: String, rejected: String,
                    timeline: RestoreOperation.Timeline) throws -> Result {
        let resume = journal == nil ? "" : "; then run 'mxbackup restore --resume-cleanup'"
        if let unavailable = services.unavailable { throw MXError.refused("\(unavailable): nothing was changed") }
        return try Interrupts.shared.critical {
            let started = Date()
            try journal?.enter(.stopping) {
                $0.servicesStopped = true
                $0.services = services.names
                $0.rejected = rejected
            }
            do {
                try timeline.measure("stop Synapse") { try services.stop() }
                try timeline.measure("end sessions, rename databases") {
                    try journal?.enter(.swapping)
                    try admin.terminateSessions(live)
                    try admin.rename([(live, parked), (incoming, live)])
                }
            } catch {
                throw swapFailed(error, live: live, parked: parked, timeline: timeline, resume: resume)
            }
            try? journal?.enter(.committed)
            guard let problem = startAndCheck(timeline) else {
                try? journal?.enter(.committed) { $0.servicesStopped = false }
                return Result(downtime: Date().timeIntervalSince(started), health: services is NoServices ? "not checked (services.kind none)" : "OK")
            }
            try? journal?.enter(.rollingBack)
            let rollbackProblem: String?
            do {
                rollbackProblem = try timeline.measure("roll back") { () throws -> String? in
                    try? services.stop()
                    try admin.terminateSessions(live)
                    try admin.rename([(live, rejected), (parked, live)])
                    try? journal?.enter(.rolledBack)
                    return startAndCheck(timeline)
                }
            } catch {
                throw MXError.failed("Synapse was not healthy on the new database (\(problem)) and the automatic rollback failed (\(reason(error))): the swap had happened, so \(live) is still the restored database and the previous one is \(parked); Synapse is stopped. "
                    + (journal != nil ? "Run 'mxbackup restore --resume-cleanup' to finish the rollback"
                                      : "To finish the rollback: ALTER DATABASE \(live) RENAME TO \(rejected); ALTER DATABASE \(parked) RENAME TO \(live); then start Synapse"))
            }
            timeline.rolledBack = true
            if let rollbackProblem {
                throw MXError.failed("Synapse was not healthy on the new database (\(problem)); rolled back: \(live) is the previous database again, but Synapse is still not healthy (\(rollbackProblem)): check its logs\(resume); the rejected copy is kept as \(rejected)")
            }
            try? journal?.enter(.rolledBack) { $0.servicesStopped = false }
            throw MXError.failed("Synapse was not healthy on the new database within \(Int(health.timeout))s (\(problem)); rolled back automatically: the previous database is live again and Synapse is healthy; the rejected copy is kept as \(rejected)")
        }
    }

    /// Stopping or renaming failed. The renames are one transaction, so either none happened or (when the
    /// server went away at the commit) it cannot be told; either way Synapse can start on whatever `live` is.
    private func swapFailed(_ error: Error, live: String, parked: String, timeline: RestoreOperation.Timeline, resume: String) -> MXError {
        let cause = reason(error)
        let renamed = try? admin.exists(parked)
        let restartProblem = startAndCheck(timeline)
        if renamed == false, restartProblem == nil {
            try? journal?.enter(.loading) { $0.servicesStopped = false }
            return MXError.failed("the swap failed and nothing was renamed; Synapse was started again on \(live): \(cause)")
        }
        let databases = renamed == false ? "nothing was renamed: \(live) is as it was"
            : renamed == true ? "the renames happened: \(live) is the restored database, the previous one is \(parked)"
            : "whether the renames happened cannot be told (the server does not answer)"
        let synapse = restartProblem.map { "Synapse did not start again (\($0)): start it by hand" } ?? "Synapse was started again"
        if restartProblem == nil { try? journal?.enter(.swapping) { $0.servicesStopped = false } }
        return MXError.failed("the swap failed (\(cause)); \(databases); \(synapse)\(resume)")
    }

    /// Starts the main process, waits for health, starts the workers. Nil when healthy, else what went
    /// wrong: a start command that fails (Synapse refusing the database) is a problem to roll back from,
    /// not an error that would leave the swap half done.
    public func startAndCheck(_ timeline: RestoreOperation.Timeline) -> String? {
        do {
            try timeline.measure("start Synapse") { try services.startMain() }
            guard !(services is NoServices) else { return nil }
            if let problem = timeline.measure("wait for /health", { health.waitUntilHealthy() }) { return problem }
            try timeline.measure("start workers") { try services.startWorkers() }
            return nil
        } catch {
            return reason(error)
        }
    }
}
