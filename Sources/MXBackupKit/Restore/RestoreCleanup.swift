import Foundation

/// `mxbackup restore --resume-cleanup`: finishes what a killed restore left, from its state file only.
/// The strategy that wrote the file reads it back (`RestoreStrategy.resumeCleanup`); the services it
/// recorded as stopped are started again (exactly those, whatever runs now); the file goes only when
/// all of that worked. The databases of interrupted clones and drills go, by their own records
/// (CloneRecord). Databases that look like leftovers but nothing recorded are named, not dropped.
public struct RestoreCleanup {
    public let connection: PostgresConnection
    public private(set) var services: ServiceController
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

    var admin: DatabaseAdmin { DatabaseAdmin(connection) }

    /// What was done, one line each.
    public func run() throws -> [String] {
        let statePath = RestoreState.path(directory: directory, database: connection.database)
        var actions: [String] = []
        return try Interrupts.shared.critical {
            let state = RestoreState.load(statePath)
            if let state {
                FaultPoint.reached("cleanup: \(state.recordedStrategy.rawValue) \(state.phase.rawValue)")
                var cleanup = self
                cleanup.services = services.recorded(state.services ?? services.names)
                actions += try state.recordedStrategy.type.resumeCleanup(from: state, cleanup)
                let live = connection.database
                if state.servicesStopped, try !admin.exists(live) || admin.isEmpty(live) {
                    // Put back as it was, the database holds nothing Synapse can run on: started, it would fail
                    // its health check for ever (and this cleanup with it), or make a new, empty homeserver.
                    actions.append("Synapse left stopped: \(live) is \(try admin.exists(live) ? "empty" : "absent"), as before the restore; run the restore again")
                } else if state.servicesStopped {
                    FaultPoint.reached("cleanup: start Synapse")
                    try cleanup.services.startMain()
                    if !(cleanup.services is NoServices), let problem = health.waitUntilHealthy() {
                        throw MXError.failed("Synapse started but is not healthy (\(problem)); \(actions.joined(separator: "; ")); the state file \(statePath) stays")
                    }
                    try cleanup.services.startWorkers()
                    actions.append("started Synapse (\(cleanup.services.description))")
                }
                FaultPoint.reached("cleanup: remove the state file")
                unlink(statePath)
            }
            for leftover in try admin.databases(prefix: DatabaseNames.prefix("restore", of: connection.database)) where leftover != state?.scratch {
                actions.append("left alone: \(leftover) looks like a scratch database but no interrupted restore recorded it; DROP DATABASE it yourself if it is not yours")
            }
            for (path, record) in CloneRecord.abandoned(directory: directory, live: connection.database) {
                if let record {
                    FaultPoint.reached("cleanup: drop an interrupted clone")
                    try admin.drop(record.database)
                    actions.append("dropped \(record.database), left half loaded by an interrupted \(record.command)")
                }
                unlink(path)
            }
            for leftover in BackupDirectory.removeAbandonedPartials(directory) {
                actions.append("removed \(leftover), left by an interrupted run")
            }
            if actions.isEmpty { actions.append("nothing to clean up") }
            return actions
        }
    }

    /// Puts a database back from a safety backup (recreate strategy), checked against its manifest.
    func reload(_ backup: String, into database: String) throws {
        try admin.drop(database)
        try admin.create(database, owner: connection.user)
        let reader = try BackupReader(source: try .file(backup), gpg: gpg, passphrase: passphrase, connection: connection)
        try SQLLoader.load(reader, named: backup, into: database, connection: connection)
        let manifest = try Manifest.read(Manifest.path(forBackup: backup))
        guard reader.fileDigest().sha256 == manifest.file.sha256 else { throw MXError.failed("\(backup) does not match its manifest") }
    }
}
