import Foundation
import MXBackupKit

/// Server faults need a server of their own: the shared cluster serves other tests at the same time.
extension TestCluster {
    /// A new cluster in a new directory (or on `directory`, a small filesystem); stop it with `shutDown`.
    static func own(in directory: String? = nil) throws -> TestCluster {
        try TestCluster(directory: directory ?? makeTemporaryDirectory("pgown"))
    }

    /// `pg_ctl stop -m immediate`: every backend killed at once, no shutdown checkpoint, as in a crash.
    func stopImmediately() throws {
        let output = try ProcessRunner.run(asPostgres(["\(Self.binDir)/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"]))
        guard output.termination.succeeded else { throw MXError.failed("pg_ctl stop -m immediate: \(output.stderr)") }
    }

    /// Starts the server again if it is not running (crash recovery runs first); idempotent.
    func startAgain() throws {
        let output = try ProcessRunner.run(ProcessSpec("\(packageRoot)/scripts/pg-cluster.sh", ["start", directory, String(port)]))
        guard output.termination.succeeded else {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            throw MXError.failed("the cluster did not start again: \(output.stderr) \(log.suffix(2000))")
        }
    }

    var isRunning: Bool {
        (try? ProcessRunner.run(asPostgres(["\(Self.binDir)/pg_ctl", "-D", directory + "/data", "status"])).termination.succeeded) == true
    }

    func shutDown() {
        _ = try? ProcessRunner.run(asPostgres(["\(Self.binDir)/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"]))
    }

    /// Databases whose names start with `prefix` (a restore's scratch databases: `<live>_restore_`).
    func databases(prefix: String) throws -> [String] {
        try superuser("SELECT datname FROM pg_database WHERE starts_with(datname, \(SQL.literal(prefix))) ORDER BY 1").map { $0[0] }
    }

    private static let binDir: String = {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return "/usr/lib/postgresql/\(versions.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last ?? "15")/bin"
    }()

    private func asPostgres(_ command: [String]) -> ProcessSpec {
        getuid() == 0 ? ProcessSpec("runuser", ["-u", "postgres", "--"] + command) : ProcessSpec(command[0], Array(command.dropFirst()))
    }
}
