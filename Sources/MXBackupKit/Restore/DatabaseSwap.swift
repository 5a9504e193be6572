import Foundation

/// The only moment Synapse is down: stop it, rename the live database away and another one into its
/// place (one transaction), start the main process, wait for health, start the workers. If Synapse is
/// not healthy, the renames are reversed the same way and Synapse is started on the previous database.
/// Used by `restore` (scratch → live) and `rollback` (safety copy → live).
public struct DatabaseSwap {
    public let admin: DatabaseAdmin
    public let services: ServiceController
    public let health: HealthCheck

    public struct Result: Sendable {
        public var downtime: Double
        public var health: String
    }

    public init(admin: DatabaseAdmin, services: ServiceController, health: HealthCheck) {
        self.admin = admin
        self.services = services
        self.health = health
    }

    /// Makes `incoming` the live database; the current one becomes `parked`. On an unhealthy start the
    /// swap is reversed and `incoming` is kept as `rejected`; `timeline.rolledBack` is set and the error says so.
    public func run(live: String, incoming: String, parked: String, rejected: String,
                    timeline: RestoreOperation.Timeline) throws -> Result {
        try Interrupts.shared.critical {
            let started = Date()
            try timeline.measure("stop Synapse") { try services.stop() }
            do {
                try timeline.measure("end sessions, rename databases") {
                    try admin.terminateSessions(live)
                    try admin.rename([(live, parked), (incoming, live)])
                }
            } catch {
                // One transaction: nothing was renamed. Put Synapse back as it was.
                try? services.startMain()
                try? services.startWorkers()
                throw MXError.failed("the swap failed and nothing was renamed; Synapse was started again on \(live): \((error as? MXError)?.message ?? "\(error)")")
            }
            guard let problem = startAndCheck(timeline) else {
                return Result(downtime: Date().timeIntervalSince(started), health: services is NoServices ? "not checked (services.kind none)" : "OK")
            }
            let rollbackProblem = try timeline.measure("roll back") { () throws -> String? in
                try? services.stop()
                try admin.terminateSessions(live)
                try admin.rename([(live, rejected), (parked, live)])
                return startAndCheck(timeline)
            }
            timeline.rolledBack = true
            if let rollbackProblem {
                throw MXError.failed("Synapse was not healthy on the new database (\(problem)); rolled back: \(live) is the previous database again, but Synapse is still not healthy (\(rollbackProblem)): check its logs; the rejected copy is kept as \(rejected)")
            }
            throw MXError.failed("Synapse was not healthy on the new database within \(Int(health.timeout))s (\(problem)); rolled back automatically: the previous database is live again and Synapse is healthy; the rejected copy is kept as \(rejected)")
        }
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
            return (error as? MXError)?.message ?? "\(error)"
        }
    }
}
