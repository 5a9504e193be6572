import Foundation

/// `mxbackup restore --resume-cleanup`: finishes what a killed restore left (from its state file and
/// the databases named after it), so that nothing is half way.
public struct RestoreCleanup {
    public let connection: PostgresConnection
    public let services: ServiceController
    public let health: HealthCheck
    public let directory: String
    public let gpg: GPG
    public let passphrase: String?

    public init(connection: PostgresConnection, services: ServiceController, health: HealthCheck, directory: String,
                gpg: GPG, passphrase: String?) {
        self.gpg = gpg
        self.passphrase = passphrase
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
                switch state.phase {
                case .swapping where try admin.exists(state.parked):
                    // The renames happened: the restored copy is live. Bring Synapse up on it.
                    actions.append("the swap had happened: \(state.live) is the restored database, the previous one is \(state.parked)")
                case .loading, .swapping:
                    if try admin.exists(state.scratch) {
                        FaultPoint.reached("cleanup: drop the scratch database")
                        try admin.drop(state.scratch)
                        actions.append("dropped the scratch database \(state.scratch); \(state.live) was never touched")
                    }
                case .inPlace:
                    actions.append("the in-place load was one transaction: the server rolled it back or committed it whole")
                case .recreating:
                    guard let safety = state.safetyBackup else { throw MXError.failed("\(statePath) names no safety backup: restore \(state.live) by hand") }
                    FaultPoint.reached("cleanup: reload the safety backup")
                    try reload(safety, into: state.live, admin: admin)
                    actions.append("reloaded the safety backup \(safety) into \(state.live): it is as it was before the restore")
                }
                if state.servicesStopped {
                    FaultPoint.reached("cleanup: start Synapse")
                    try services.startMain()
                    if !(services is NoServices), let problem = health.waitUntilHealthy() {
                        throw MXError.failed("Synapse started but is not healthy (\(problem)); \(actions.joined(separator: "; "))")
                    }
                    try services.startWorkers()
                    actions.append("started Synapse (\(services.description))")
                }
                FaultPoint.reached("cleanup: remove the state file")
                unlink(statePath)
            }
            for leftover in try admin.databases(prefix: "\(connection.database)_restore_") {
                FaultPoint.reached("cleanup: drop a leftover scratch database")
                try admin.drop(leftover)
                actions.append("dropped the leftover scratch database \(leftover)")
            }
            if actions.isEmpty { actions.append("nothing to clean up") }
            return actions
        }
    }

    /// Puts a database back from a safety backup (recreate strategy), checked against its manifest.
    private func reload(_ backup: String, into database: String, admin: DatabaseAdmin) throws {
        try admin.drop(database)
        try admin.create(database, owner: connection.user)
        let reader = try BackupReader(source: try .file(backup), gpg: gpg, passphrase: passphrase, connection: connection)
        try SQLLoader.load(reader, into: database, connection: connection)
        let manifest = try Manifest.read(Manifest.path(forBackup: backup))
        guard reader.fileDigest().sha256 == manifest.file.sha256 else { throw MXError.failed("\(backup) does not match its manifest") }
    }
}
