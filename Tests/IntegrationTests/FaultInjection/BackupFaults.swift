import Foundation
import MXBackupKit
import Testing

/// The fault matrix's suite: one test case per operation (its cases one after another); each prints the tally so far.
@Suite struct FaultMatrixTests {}

/// Scenario table: backup, plain, encrypted and with its offsite push; and aimed inside a big dump.
enum BackupFaults {
    static let keyring: Keyring = try! Keyring.generate()

    static let scenarios = [
        FaultScenario(operation: "backup", arguments: { _ in ["backup"] }, produced: Prepare.oneMoreBackup(than: 0)),
        FaultScenario(operation: "backup (encrypted)", environment: ["GNUPGHOME": keyring.home],
                      arguments: { _ in ["backup", "--encrypt-to", keyring.fingerprint] }, produced: Prepare.oneMoreBackup(than: 0)),
        FaultScenario(operation: "backup + offsite push", offsite: .pushAfterBackup, arguments: { _ in ["backup"] },
                      produced: { try Prepare.oneMoreBackup(than: 0)($0) ?? Prepare.offsite($0) }),
        FaultScenario(operation: "backup (big, aimed)", rows: 150_000, arguments: { _ in ["backup"] }, atSteps: false,
                      aimed: [.init(name: "10 ms into pg_dump's COPY filler") { Prepare.copyRunning("filler", "TO stdout", in: $0) },
                              .init(name: "1 MiB into the .partial") { Prepare.partial(1 << 20, in: $0) }],
                      produced: Prepare.oneMoreBackup(than: 0)),
    ]
}

extension FaultMatrixTests {
    @Suite struct Backup {
        @Test(arguments: BackupFaults.scenarios.map(\.operation))
        func backup(_ operation: String) throws {
            try FaultMatrix.run(BackupFaults.scenarios.first { $0.operation == operation }!)
        }
    }
}
