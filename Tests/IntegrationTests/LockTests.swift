import Foundation
import MXBackupKit
import Testing

@Suite struct LockTests {
    @Test func aSecondRunIsRefusedNamingTheHolder() throws {
        let box = try Sandbox()
        try FileManager.default.createDirectory(atPath: box.backupDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = try OperationLock(directory: box.backupDir, database: box.database, command: "mxbackup backup (test holder)")
        let result = try box.run(["backup"])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("holds the lock") && result.stderr.contains("pid \(getpid())"), "\(result.stderr)")
        #expect(box.backupFiles() == [])
        lock.release()
        #expect(try box.run(["backup"]).exitCode == 0)
    }

    @Test func aStaleLockOfADeadRunIsTakenOver() throws {
        let box = try Sandbox()
        try FileManager.default.createDirectory(atPath: box.backupDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try write("pid 999999 on elsewhere, 'mxbackup backup', since 2026-01-01T00:00:00Z\n",
                  to: box.backupDir + "/.\(box.database).lock", mode: 0o600)
        let result = try box.run(["backup"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stderr.contains("stale lock") && result.stderr.contains("pid 999999"), "\(result.stderr)")
        #expect(box.backupFiles().count == 2)
    }
}
