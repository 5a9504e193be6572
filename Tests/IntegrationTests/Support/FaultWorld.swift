import Foundation
import MXBackupKit

/// One fault-injection case's world: a fresh sandbox, Synapse's stand-in (services `kind: command`,
/// whose stop/start commands record "stopped"/"started") when the operation manages services, the Bot
/// API stand-in when it goes offsite, and what the preparation made (a backup, a clone's name).
final class FaultWorld {
    enum Offsite { case none, store, pushAfterBackup }

    let box: Sandbox
    let synapse: FakeSynapse?
    let bot: FakeBotAPI?
    /// For every run in this world (GNUPGHOME of an encrypting scenario).
    let environment: [String: String]
    /// The backup the operation works on, made by the preparation.
    var backup: String?
    /// A database the operation creates besides the live one (`--target-db`).
    var target: String?

    init(synapse: Bool, offsite: Offsite, environment: [String: String] = [:], rows: Int = 0) throws {
        box = try Sandbox()
        self.environment = environment
        if rows > 0 {
            // A big table, deterministic, for interruptions aimed inside its COPY.
            try box.cluster.psql(database: box.database, ["-c", "CREATE TABLE filler (i int PRIMARY KEY, a text); INSERT INTO filler SELECT i, md5(i::text) || md5((i + 1)::text) FROM generate_series(1, \(rows)) i"])
        }
        bot = offsite == .none ? nil : try FakeBotAPI()
        let telegram = bot?.config(extra: "  retries: 2\n  retry_delay_ms: 50\n  notify: false") ?? ""
        if synapse {
            self.synapse = try FakeSynapse(box, moreConfig: telegram)
        } else {
            self.synapse = nil
            try box.writeConfig(backup: offsite == .pushAfterBackup ? ["offsite: [telegram]"] : [], extra: telegram)
        }
    }

    var live: String { box.database }
    var statePath: String { RestoreState.path(directory: box.backupDir, database: live) }

    func run(_ arguments: [String]) throws -> Sandbox.Result {
        try box.run(arguments, environment: environment, within: Interruption.bound)
    }

    /// Runs and requires success (for preparations).
    @discardableResult
    func must(_ arguments: [String]) throws -> Sandbox.Result {
        let result = try run(arguments)
        guard result.exitCode == 0 else { throw MXError.failed("mxbackup \(arguments.joined(separator: " ")) failed (\(result.exitCode)): \(result.stderr)") }
        return result
    }

    func sql(_ statement: String) throws {
        try box.cluster.psql(database: live, ["-c", statement])
    }

    /// The final-named backups in the backup directory (full paths), newest first.
    var backups: [String] {
        box.backupFiles().filter { BackupName.suffix(of: $0) != nil }.sorted(by: >).map { box.backupDir + "/" + $0 }
    }

    /// Databases whose names start with the live one's and an underscore (scratch, safety copies, clones).
    func companions() throws -> [String] {
        try box.cluster.superuser("SELECT datname FROM pg_database WHERE starts_with(datname, \(SQL.literal(live + "_"))) ORDER BY 1").map { $0[0] }
    }

    /// Stops what this world started and drops its databases (the matrix makes hundreds of worlds).
    func close() {
        synapse?.stop()
        for database in ((try? companions()) ?? []) + [live] {
            _ = try? box.cluster.superuser("DROP DATABASE IF EXISTS \(SQL.identifier(database)) WITH (FORCE)")
        }
        try? FileManager.default.removeItem(atPath: box.root)
    }
}
