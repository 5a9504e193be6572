import Foundation

/// `mxbackup restore --resume-cleanup`: finishes what a killed restore left (from its state file and
/// the databases named after it), so that nothing is half way.
public struct RestoreCleanup {
    public let connection: PostgresConnection
    public let services: ServiceController
    public let health: HealthCheck
    public let directory: String

    public init(connection: PostgresConnection, services: ServiceController, health: HealthCheck, directory: String) {
        self.connection = connection
        self.services = services
        self.health = health
        self.directory = directory
    }

    /// What was done, one line each.
    public func run() throws -> [String] {
        let admin = DatabaseAdmin(connection)
        let statePath = RestoreState.path(directory: directory, database: connection.database)
        var actions: [String] = []
        return try Interrupts.shared.critical {
            if let state = RestoreState.load(statePath) {
                if state.phase == .swapping, try admin.exists(state.parked) {
                    // The renames happened: the restored copy is live. Bring Synapse up on it.
                    actions.append("the swap had happened: \(state.live) is the restored database, the previous one is \(state.parked)")
                } else if try admin.exists(state.scratch) {
                    try admin.drop(state.scratch)
                    actions.append("dropped the scratch database \(state.scratch); \(state.live) was never touched")
                }
                if state.servicesStopped {
                    try services.startMain()
                    if !(services is NoServices), let problem = health.waitUntilHealthy() {
                        throw MXError.failed("Synapse started but is not healthy (\(problem)); \(actions.joined(separator: "; "))")
                    }
                    try services.startWorkers()
                    actions.append("started Synapse (\(services.description))")
                }
                unlink(statePath)
            }
            for leftover in try admin.databases(prefix: "\(connection.database)_restore_") {
                try admin.drop(leftover)
                actions.append("dropped the leftover scratch database \(leftover)")
            }
            if actions.isEmpty { actions.append("nothing to clean up") }
            return actions
        }
    }
}
