import Foundation
import MXBackupKit
import Testing

@Suite struct LockTests {
    @Test func aSecondRunIsRefusedNamingTheHolder() throws {
        let box = try Sandbox()
        try FileManager.default.createDirectory(atPath: box.backupDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = try OperationLock(directory: box.backupDir, connection: box.cluster.connection(database: box.database),
                                     command: "mxbackup backup (test holder)")
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

    /// The lock belongs to the database: a restore with another `--dir` is refused while one runs (its
    /// holder named), so is a backup; kill -9 of the holder frees it for the next run.
    @Test func theLockBelongsToTheDatabaseNotTheBackupDirectory() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let backup = try box.onlyBackup()
        let marker = box.root + "/paused"
        let first = try ChildProcess(box.spec(["restore", backup, "--yes"],
                                              environment: ["MXBACKUP_FAULT_PAUSE": "preflight", "MXBACKUP_FAULT_MARKER": marker]),
                                     descriptors: [:])
        defer { if isAlive(first.pid) { kill(first.pid, SIGKILL) }; first.wait() }
        #expect(waitUntil(seconds: 30) { FileManager.default.fileExists(atPath: marker) })
        let before = try box.cluster.contentChecksums(database: box.database)

        let otherDir = box.root + "/elsewhere"
        let second = try box.run(["restore", backup, "--yes", "--dir", otherDir])
        #expect(second.exitCode == 3, "\(second.stderr)")
        #expect(second.stderr.contains("database lock") && second.stderr.contains("mxbackup restore pid \(first.pid)"), "\(second.stderr)")
        let backupMeanwhile = try box.run(["backup", "--dir", otherDir])
        #expect(backupMeanwhile.exitCode == 3 && backupMeanwhile.stderr.contains("mxbackup restore pid \(first.pid)"), "\(backupMeanwhile.stderr)")
        #expect(box.backupFiles(in: otherDir).filter { BackupName.suffix(of: $0) != nil }.isEmpty)
        // A cleanup from another directory must not drop what the running restore made.
        let cleanup = try box.run(["restore", "--resume-cleanup", "--dir", otherDir])
        #expect(cleanup.exitCode == 3 && cleanup.stderr.contains("mxbackup restore pid \(first.pid)"), "\(cleanup.stderr)")
        let status = try box.run(["status", "--dir", otherDir])
        #expect(status.stdout.contains("mxbackup restore pid \(first.pid)"), "\(status.stdout)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)

        kill(first.pid, SIGKILL)
        first.wait()
        // The server ends the lock's session once its psql reads end-of-input.
        #expect(waitUntil(seconds: 10) { (try? box.run(["status", "--dir", otherDir]).stdout.contains("lock:           free")) == true })
        let after = try box.run(["restore", backup, "--yes", "--dir", otherDir])
        #expect(after.exitCode == 0, "\(after.stderr)")
    }
}

extension LockTests {
    /// In container mode the lock's session runs through `docker exec -i` like every client tool, and the
    /// refusal still names the holder from the server's lock table.
    @Test func theDatabaseLockWorksThroughDockerExec() throws {
        let box = try Sandbox()
        try box.shim("docker", """
        [ "$1" = exec ] || { echo "stand-in docker: unexpected $*" >&2; exit 1; }
        shift
        while [ $# -gt 0 ]; do case "$1" in -i) shift;; -e) shift 2;; *) break;; esac; done
        shift  # the container name
        exec "$@"
        """)
        try box.writeConfig(postgres: ["container: matrix-postgres", "docker: \(box.binDir)/docker"])
        let elsewhere = box.root + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = try OperationLock(directory: elsewhere, connection: box.cluster.connection(database: box.database),
                                     command: "mxbackup restore (test holder)")
        let refused = try box.run(["backup"])
        #expect(refused.exitCode == 3 && refused.stderr.contains("mxbackup restore pid \(getpid())"), "\(refused.stderr)")
        lock.release()
        let backup = try box.run(["backup"])
        #expect(backup.exitCode == 0, "\(backup.stderr)")
    }
}

extension Sandbox {
    func backupFiles(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}
