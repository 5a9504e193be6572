import Foundation
import MXBackupKit
import Testing

/// Every way a backup can fail ends the same way for the operator: a non-zero exit, one clear line,
/// and no file with a final name (nor a `.partial` left behind).
@Suite struct FailureTests {
    private func expectNothingWritten(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(box.backupFiles() == [], "left behind: \(box.backupFiles())", sourceLocation: sourceLocation)
    }

    @Test func wrongPasswordIsRefused() throws {
        let box = try Sandbox(fixture: false)
        try box.writeConfig(password: "not-the-password")
        let result = try box.run(["backup"])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("password authentication failed"), "\(result.stderr)")
        #expect(!result.stderr.contains("not-the-password"))
        expectNothingWritten(box)
    }

    @Test func unreachableServerIsRefused() throws {
        let box = try Sandbox(fixture: false)
        try box.writeConfig(port: try freePort())
        let result = try box.run(["backup"])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("cannot reach PostgreSQL"), "\(result.stderr)")
        expectNothingWritten(box)
    }

    @Test func missingRecipientKeyFailsClosedBeforeDumping() throws {
        let box = try Sandbox()
        try box.fakePgDump("touch '\(box.root)/pg_dump-ran'; exec $REAL \"$@\"")
        let emptyKeyring = try makeTemporaryDirectory("mxbackup-gpgempty")
        let result = try box.run(["backup", "--encrypt-to", "0123456789ABCDEF0123456789ABCDEF01234567"],
                                 environment: ["GNUPGHOME": emptyKeyring])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("no public key"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/pg_dump-ran"))
        expectNothingWritten(box)
    }

    @Test func expiredRecipientKeyFailsClosed() throws {
        let box = try Sandbox()
        let keyring = try Keyring.generate(expired: true)
        let result = try box.run(["backup", "--encrypt-to", keyring.fingerprint], environment: ["GNUPGHOME": keyring.home])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("expired"), "\(result.stderr)")
        expectNothingWritten(box)
    }

    @Test func olderPgDumpThanServerIsRefusedWithTheFix() throws {
        let box = try Sandbox()
        try box.fakePgDump("""
        if [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) 14.11"; exit 0; fi
        exec $REAL "$@"
        """)
        let result = try box.run(["backup"])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("pg_dump 14.11 cannot dump a PostgreSQL 15 server"), "\(result.stderr)")
        #expect(result.stderr.contains("postgresql-client-15"))
        expectNothingWritten(box)
    }

    @Test func pgDumpFailingMidStreamLeavesNoFile() throws {
        let box = try Sandbox()
        try box.fakePgDump("""
        [ "$1" = --version ] && exec $REAL --version
        $REAL "$@" | head -c 30000
        echo "pg_dump: error: connection to server was lost" >&2
        exit 1
        """)
        let result = try box.run(["backup"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("connection to server was lost"), "\(result.stderr)")
        expectNothingWritten(box)
    }

    @Test func dumpWithoutCompletionLineIsRejectedEvenIfPgDumpExitsZero() throws {
        let box = try Sandbox()
        try box.fakePgDump("""
        [ "$1" = --version ] && exec $REAL --version
        $REAL "$@" | head -c 30000
        exit 0
        """)
        let result = try box.run(["backup"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("incomplete"), "\(result.stderr)")
        expectNothingWritten(box)
    }

    @Test func diskFullLeavesNoFileAndSaysWhy() throws {
        let box = try Sandbox()
        // A 4 KiB file-size limit: writes fail with EFBIG like on a full disk (the backup is ~20 KiB).
        var spec = box.spec(["backup"])
        spec.arguments = ["-c", "ulimit -f 4; exec \"$0\" \"$@\"", spec.executable] + spec.arguments
        spec.executable = "bash"
        let output = try ProcessRunner.run(spec)
        #expect(output.termination == .exited(1))
        #expect(output.stderr.contains("File too large") && output.stderr.contains("free space"), "\(output.stderr)")
        expectNothingWritten(box)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalMidStreamStopsEverythingAndLeavesNoFile(signal: Int32) throws {
        let box = try Sandbox()
        // pg_dump sends part of the dump, then the server stalls.
        try box.fakePgDump("""
        [ "$1" = --version ] && exec $REAL --version
        $REAL "$@" | head -c 30000
        sleep 120 & echo $! > '\(box.root)/stalled.pid'
        wait
        """)
        let stderrPath = box.root + "/stderr"
        let stderrFD = open(stderrPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(stderrFD) }
        let child = try ChildProcess(box.spec(["backup"]), descriptors: [2: stderrFD])
        let pidFile = box.root + "/stalled.pid"
        #expect(waitUntil(seconds: 30) { FileManager.default.fileExists(atPath: pidFile) })
        #expect(box.backupFiles().contains { $0.hasSuffix(".partial") })
        let stalled = pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        kill(child.pid, signal)
        #expect(child.wait() == .exited(128 + signal))
        let stderr = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(stderr.contains("interrupted by signal \(signal)"), "\(stderr)")
        #expect(waitUntil(seconds: 5) { !isAlive(stalled) }, "pg_dump's child survived")
        expectNothingWritten(box)
    }
}
