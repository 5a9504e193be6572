import Foundation
import MXBackupKit
import Testing

/// Scenario table: rollback, drill, prune, push, fetch, adopt, and `restore --resume-cleanup` itself (after a
/// swap and after a recreate that were killed, the cleanup is interrupted, then run again).
enum MaintenanceFaults {
    /// A restore killed with SIGKILL at `step`, leaving its state file for the cleanup.
    static func killedRestore(_ strategy: String, at step: String) -> @Sendable (FaultWorld) throws -> Void {
        { world in
            try Prepare.backupThenChange(world)
            let outcome = try Interruption.run(world.box, ["restore", world.backup!, "--strategy", strategy, "--yes"],
                                               at: .step(step), signal: SIGKILL)
            guard case .ended = outcome, FileManager.default.fileExists(atPath: world.statePath) else {
                throw MXError.failed("the \(strategy) restore killed at '\(step)' left no state file to clean up")
            }
        }
    }

    static let scenarios = [
        FaultScenario(operation: "rollback", synapse: true,
                      prepare: { world in
                          try Prepare.backupThenChange(world)
                          try world.must(["restore", world.backup!, "--yes"])
                      },
                      arguments: { _ in ["rollback", "--yes"] }, rerunsWhenDone: false),
        FaultScenario(operation: "drill", prepare: { try $0.must(["backup"]) }, arguments: { _ in ["drill", "--latest"] }),
        FaultScenario(operation: "prune",
                      prepare: { world in
                          try world.must(["backup"])
                          usleep(1_100_000)  // backup names have a resolution of one second
                          try world.must(["backup"])
                          try world.box.cluster.superuser("CREATE DATABASE \(world.live)_pre_restore_20200101_000000 OWNER synapse TEMPLATE template0")
                      },
                      arguments: { _ in ["prune", "--keep-last", "1"] },
                      produced: { world in
                          let copies = try world.companions()
                          return world.backups.count == 1 && copies.isEmpty ? nil : "kept \(world.backups.count) backups and \(copies)"
                      }),
        FaultScenario(operation: "push", offsite: .store, prepare: { try $0.must(["backup"]) }, arguments: { _ in ["push"] },
                      produced: Prepare.offsite),
        FaultScenario(operation: "fetch", offsite: .store,
                      prepare: { world in
                          try world.must(["backup"])
                          try world.must(["push"])
                          for file in world.backups { unlink(file); unlink(Manifest.path(forBackup: file)) }
                      },
                      arguments: { _ in ["fetch", "--from", "telegram", "latest"] }, rerunsWhenDone: false,
                      produced: { $0.backups.count == 1 ? nil : "the backup was not fetched" }),
        FaultScenario(operation: "adopt",
                      prepare: { world in _ = try world.box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: world.box.backupDir) },
                      arguments: { _ in ["adopt", "--all"] },
                      produced: { world in
                          guard let file = world.backups.first else { return "the legacy backup is gone" }
                          let manifest = try? Manifest.read(Manifest.path(forBackup: file))
                          return manifest?.file.sha256 == (try? SHA256Hasher.hex(of: file)) && manifest != nil ? nil : "\(file) has no manifest matching it"
                      }),
        FaultScenario(operation: "resume-cleanup after a killed swap", synapse: true, prepare: killedRestore("swap", at: "start Synapse"),
                      arguments: { _ in ["restore", "--resume-cleanup"] }),
        FaultScenario(operation: "resume-cleanup after a killed recreate", synapse: true, prepare: killedRestore("recreate", at: "load "),
                      arguments: { _ in ["restore", "--resume-cleanup"] }),
        FaultScenario(operation: "resume-cleanup after a killed drill",
                      prepare: { world in
                          try world.must(["backup"])
                          let outcome = try Interruption.run(world.box, ["drill", "--latest"], at: .step("load "), signal: SIGKILL)
                          guard case .ended = outcome, !CloneRecord.abandoned(directory: world.box.backupDir, live: world.live).isEmpty else {
                              throw MXError.failed("the drill killed at 'load ' left no clone record to clean up")
                          }
                      },
                      arguments: { _ in ["restore", "--resume-cleanup"] }),
    ]
}

extension FaultMatrixTests {
    @Suite struct Maintenance {
        @Test(arguments: MaintenanceFaults.scenarios.map(\.operation))
        func maintenance(_ operation: String) throws {
            try FaultMatrix.run(MaintenanceFaults.scenarios.first { $0.operation == operation }!)
        }
    }
}
