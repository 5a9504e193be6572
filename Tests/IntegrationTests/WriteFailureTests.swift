import Foundation
import MXBackupKit
import Testing

/// A backup that cannot write its file (disk full, quota, `ulimit -f`) fails within seconds, names the
/// directory that is full, leaves no `.partial` and frees the lock, so the next nightly backup runs.
@Suite struct WriteFailureTests {
    /// Large enough that the compressed stream passes the limit while pg_dump is still sending.
    private static let scale = 40
    private static let limitKiB = 200

    @Test func encryptedBackupOnAFullDiskFailsAtOnceAndTheNextOneRuns() throws {
        let keyring = try Keyring.generate()
        let box = try Sandbox(scale: Self.scale)
        try expectCleanFailure(box, ["backup", "--encrypt-to", keyring.fingerprint], environment: ["GNUPGHOME": keyring.home])
    }

    @Test func plainBackupOnAFullDiskFailsAtOnceAndTheNextOneRuns() throws {
        let box = try Sandbox(scale: Self.scale)
        try expectCleanFailure(box, ["backup", "--compression", "gzip"], environment: [:])
    }

    private func expectCleanFailure(_ box: Sandbox, _ arguments: [String], environment: [String: String],
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        // bash's `ulimit -f` counts KiB; the limit is inherited by mxbackup, whose writes then fail with EFBIG.
        var spec = box.spec(arguments, environment: environment)
        spec.arguments = ["-c", "ulimit -f \(Self.limitKiB); exec \"$0\" \"$@\"", spec.executable] + spec.arguments
        spec.executable = "bash"
        let stderrPath = box.root + "/stderr"
        let stderrFD = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(stderrFD) }
        let child = try ChildProcess(spec, descriptors: [2: stderrFD])
        // Generous for a loaded machine; the failure itself takes well under a second.
        let ended = waitUntil(seconds: 60) { !isAlive(child.pid) }
        if !ended { child.signalGroup(SIGKILL) }
        let termination = child.wait()
        let stderr = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(ended, "the backup hung after its write failed: \(stderr)", sourceLocation: sourceLocation)
        #expect(termination == .exited(1), "\(termination.description): \(stderr)", sourceLocation: sourceLocation)
        let reports = stderr.split(separator: "\n").filter { $0.contains("disk full in \(box.backupDir):") }
        #expect(reports.count == 1, "\(stderr)", sourceLocation: sourceLocation)
        #expect(reports.first?.contains("File too large") == true, "\(stderr)", sourceLocation: sourceLocation)
        #expect(box.backupFiles() == [], "left behind: \(box.backupFiles())", sourceLocation: sourceLocation)

        // The lock is free and nothing is in the way: the next backup, with room to write, succeeds.
        let next = try box.run(arguments, environment: environment)
        #expect(next.exitCode == 0, "\(next.stderr)", sourceLocation: sourceLocation)
        #expect(!next.stderr.contains("stale lock"), "\(next.stderr)", sourceLocation: sourceLocation)
        #expect(box.backupFiles().filter { $0.hasSuffix(".partial") } == [], sourceLocation: sourceLocation)
    }
}
