import Foundation
import MXBackupKit
import Testing

/// Server faults (docs/fault-injection.md, "Server faults"): the PostgreSQL server stopped with `-m immediate`
/// mid-dump and mid-load, the backup directory full, the server's own disk full during a scratch load. The
/// tests that stop or starve a server run on a cluster of their own; the shared one serves other tests.
/// After each fault: the live database is exactly as before or as after, no final-named file is incomplete,
/// what the run said is true, `restore --resume-cleanup` leaves nothing behind, and a second run succeeds.
@Suite(.serialized) struct ServerFaultTests {
    /// Large enough that pg_dump and the load are still streaming when the server stops (4 MiB of SQL).
    static let scale = 20
    /// A full disk must meet the backup while pg_dump still writes, not only at the end (22 MiB of SQL, 2.7 MiB compressed).
    static let fullDiskScale = 100

    // MARK: the server stopped

    @Test func serverStoppedMidDumpWritesNoBackupAndTheNextOneSucceeds() throws {
        let cluster = try TestCluster.own()
        defer { cluster.shutDown() }
        let box = try Sandbox(cluster: cluster, scale: Self.scale)
        let run = try PausedRun(box, ["backup"], pauseAt: "backup: dump: streaming")
        _ = try run.waitForPause()
        try cluster.stopImmediately()
        run.release()
        let result = try #require(run.finish(seconds: 60), "the backup did not end within 60 s of the server stopping")
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stderr.contains("pg_dump failed") && result.stderr.contains("server closed the connection"), "\(result.stderr)")
        #expect(box.backupFiles().isEmpty, "left behind: \(box.backupFiles())")

        try cluster.startAgain()
        let next = try box.run(["backup"])
        #expect(next.exitCode == 0, "\(next.stderr)")
        #expect(!next.stderr.contains("stale lock"), "\(next.stderr)")
        #expect(try box.run(["verify", box.onlyBackup()]).exitCode == 0)
    }

    @Test(arguments: ["swap", "in-place", "recreate"])
    func serverStoppedMidLoad(strategy: String) throws {
        let cluster = try TestCluster.own()
        defer { cluster.shutDown() }
        let box = try Sandbox(cluster: cluster, scale: Self.scale)
        let (backup, before, after) = try backupThenWrite(box)

        let run = try PausedRun(box, ["restore", backup, "--yes", "--strategy", strategy], pauseAt: "load ")
        let step = try run.waitForPause()
        try cluster.stopImmediately()
        run.release()
        let result = try #require(run.finish(seconds: 120), "the restore did not end within 120 s of the server stopping at '\(step)'")
        #expect(result.exitCode != 0, "a restore whose server stopped at '\(step)' says it succeeded: \(result.stdout)")
        print("server stopped at '\(step)' of a \(strategy) restore: exit \(result.exitCode), said: \(result.stderr)")
        try cluster.startAgain()
        if strategy != "recreate" {
            // Nothing of the live database is changed until the load is complete and checked.
            #expect(try LiveState(box) == before, "the live database changed after the server stopped at '\(step)'")
        }
        try expectMessagesTrue(result, box: box)
        try expectStatusAndListTellWhatWasLeft(box, before: before, after: after)
        try expectCleanAfterResumeCleanup(box, before: before, after: after)

        let again = try box.run(["restore", backup, "--yes", "--strategy", strategy])
        #expect(again.exitCode == 0, "\(again.stderr)")
        // The content only: an in-place restore keeps the old schema beside it as a safety copy.
        #expect(try LiveState(box).tables == after.tables)
    }

    // MARK: full disks

    /// `backup`, or `backup --encrypt-to` a fresh key with the GNUPGHOME that holds it.
    private func backupCommand(encrypted: Bool) throws -> ([String], [String: String]) {
        guard encrypted else { return (["backup"], [:]) }
        let keyring = try Keyring.generate()
        return (["backup", "--encrypt-to", keyring.fingerprint], ["GNUPGHOME": keyring.home])
    }

    @Test(arguments: [false, true])
    func backupDirectoryFull(encrypted: Bool) throws {
        let box = try Sandbox(scale: Self.fullDiskScale)
        let disk = try SmallFilesystem(bytes: 128 << 10, at: box.backupDir)
        defer { disk.unmount() }
        let (arguments, environment) = try backupCommand(encrypted: encrypted)
        let run = try PausedRun(box, arguments, pauseAt: nil, environment: environment)
        let result = try #require(run.finish(seconds: 30), "the backup into a full directory did not end within 30 s (killed)")
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stderr.contains("disk full in \(box.backupDir)"), "\(result.stderr)")
        #expect(box.backupFiles().isEmpty, "left behind: \(box.backupFiles())")

        try disk.resize(bytes: 64 << 20)
        let next = try box.run(arguments, environment: environment)
        #expect(next.exitCode == 0, "\(next.stderr)")
        #expect(!next.stderr.contains("stale lock"), "the lock outlived the failed backup: \(next.stderr)")
        #expect(try box.run(["verify", box.onlyBackup()], environment: environment).exitCode == 0)
    }

    /// The fallback the issue names: a file size limit (`ulimit -f`), which makes the write fail with EFBIG.
    @Test(arguments: [false, true])
    func backupFileSizeLimit(encrypted: Bool) throws {
        let box = try Sandbox(scale: Self.fullDiskScale)
        let (arguments, environment) = try backupCommand(encrypted: encrypted)
        let run = try PausedRun(box, arguments, pauseAt: nil, environment: environment, fileSizeLimitKiB: 128)
        let result = try #require(run.finish(seconds: 30), "the backup over the file size limit did not end within 30 s (killed)")
        #expect(result.exitCode == 1, "\(result.termination) \(result.stderr)")
        let error = result.stderr.split(separator: "\n").last { $0.hasPrefix("mxbackup:") } ?? ""
        #expect(error.contains(box.backupDir), "the error does not name the directory: \(result.stderr)")
        print("backup \(encrypted ? "encrypted " : "")over ulimit -f: \(result.termination), said: \(error)")
        #expect(box.backupFiles().isEmpty, "left behind: \(box.backupFiles())")
        let next = try box.run(arguments, environment: environment)
        #expect(next.exitCode == 0, "\(next.stderr)")
        #expect(!next.stderr.contains("stale lock"), "the lock outlived the failed backup: \(next.stderr)")
    }

    @Test func serverDiskFullDuringTheScratchLoad() throws {
        let disk = try SmallFilesystem(bytes: 192 << 20, at: try makeTemporaryDirectory("pgsmall"), mode: "0755")
        defer { disk.unmount() }
        let cluster = try TestCluster.own(in: disk.path)
        defer { cluster.shutDown() }
        let box = try Sandbox(cluster: cluster, scale: Self.scale)
        let (backup, before, after) = try backupThenWrite(box)
        try cluster.superuser("CHECKPOINT")
        let needed = try Int(cluster.scalar("SELECT pg_database_size(current_database())", database: box.database))!
        let ballast = try disk.fill(leaving: needed / 3)

        // The preflight may see the shortage (when the role may read data_directory); then --force goes on regardless.
        var result = try box.run(["restore", backup, "--yes"])
        if result.exitCode == 3 && result.stderr.contains("free disk") {
            let forced = try PausedRun(box, ["restore", backup, "--yes", "--force"], pauseAt: nil)
            result = try #require(forced.finish(seconds: 300), "the restore into a full server disk did not end within 300 s (killed)")
        }
        #expect(result.exitCode != 0, "a swap restore into a full server disk says it succeeded: \(result.stdout)")

        unlink(ballast)
        try cluster.startAgain()  // a full disk may have stopped it (a WAL write that cannot be made is a PANIC)
        #expect(try LiveState(box) == before, "the live database changed")
        try expectMessagesTrue(result, box: box)
        try expectStatusAndListTellWhatWasLeft(box, before: before, after: after)
        try expectCleanAfterResumeCleanup(box, before: before, after: after)
    }

    // MARK: invariants

    /// A backup of the sandbox's database, then one more table written: the states before and after a restore differ.
    private func backupThenWrite(_ box: Sandbox) throws -> (backup: String, before: LiveState, after: LiveState) {
        let made = try box.run(["backup"])
        guard made.exitCode == 0 else { throw MXError.failed("backup: \(made.stderr)") }
        // "After" is what a restore of this backup makes (one-time keys, for one, are not in a backup): a clone shows it.
        let clone = "\(box.database)_clone"
        let cloned = try box.run(["restore", try box.onlyBackup(), "--target-db", clone, "--yes"])
        guard cloned.exitCode == 0 else { throw MXError.failed("restore --target-db: \(cloned.stderr)") }
        let after = try LiveState(box, database: clone)
        try box.cluster.superuser("DROP DATABASE \(clone)")
        try box.cluster.psql(database: box.database, ["-c", "CREATE TABLE public.written_after_the_backup (n int); INSERT INTO public.written_after_the_backup VALUES (1)"])
        return (try box.onlyBackup(), try LiveState(box), after)
    }

    /// What the run said about what it left is what is there (checked with the server up again).
    private func expectMessagesTrue(_ result: Sandbox.Result, box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scratch = try box.cluster.databases(prefix: "\(box.database)_restore_")
        let said = result.stdout + result.stderr
        if said.contains("was dropped") || said.contains("dropped the scratch") {
            #expect(scratch.isEmpty, "the run says the scratch database was dropped, but \(scratch) is there: \(said)", sourceLocation: sourceLocation)
        }
        if !scratch.isEmpty {
            #expect(scratch.allSatisfy { said.contains($0) } || said.contains("--resume-cleanup"),
                    "\(scratch) left and not mentioned: \(said)", sourceLocation: sourceLocation)
        }
        let schemas = try LiveState(box).schemas
        #expect(!said.contains("was not touched") || schemas == LiveState.publicOnly,
                "the run says the live database was not touched, but its schemas are \(schemas)", sourceLocation: sourceLocation)
    }

    /// Whatever the fault left (a scratch database, a state file, a live database neither as before nor as
    /// after) `status` does not call OK, and `list` names the scratch databases.
    private func expectStatusAndListTellWhatWasLeft(_ box: Sandbox, before: LiveState, after: LiveState, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scratch = try box.cluster.databases(prefix: "\(box.database)_restore_")
        let stateFile = FileManager.default.fileExists(atPath: RestoreState.path(directory: box.backupDir, database: box.database))
        let live = try LiveState(box)
        guard !scratch.isEmpty || stateFile || (live != before && live != after) else { return }
        let status = try box.run(["status"])
        #expect(status.exitCode != 0, "status says OK with scratch \(scratch), state file \(stateFile), live tables \(live.tables.keys.sorted()): \(status.stdout)",
                sourceLocation: sourceLocation)
        let list = try box.run(["list"])
        #expect(scratch.allSatisfy { list.stdout.contains($0) }, "list does not show \(scratch): \(list.stdout)", sourceLocation: sourceLocation)
    }

    /// `restore --resume-cleanup` leaves the live database as before or after, no scratch database, no state
    /// file, no partial file, and the lock free.
    private func expectCleanAfterResumeCleanup(_ box: Sandbox, before: LiveState, after: LiveState, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stdout) \(cleanup.stderr)", sourceLocation: sourceLocation)
        let live = try LiveState(box)
        #expect(live == before || live == after, "after --resume-cleanup the live database is neither as before nor as after: schemas \(live.schemas), tables \(live.tables.keys.sorted()); cleanup said: \(cleanup.stdout) \(cleanup.stderr)", sourceLocation: sourceLocation)
        #expect(try box.cluster.databases(prefix: "\(box.database)_restore_").isEmpty, "scratch databases left", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: RestoreState.path(directory: box.backupDir, database: box.database)),
                "a restore state file is left", sourceLocation: sourceLocation)
        #expect(!box.backupFiles().contains { $0.hasSuffix(".partial") }, "\(box.backupFiles())", sourceLocation: sourceLocation)
        let status = try box.run(["status"])
        #expect(!status.stdout.contains("interrupted"), "\(status.stdout)", sourceLocation: sourceLocation)
    }
}

/// The live database's content (every public table's checksum, indexes, constraints) and its schemas.
struct LiveState: Equatable {
    static let publicOnly = ["public"]
    let tables: [String: String]
    let schemas: [String]

    init(_ box: Sandbox, database: String? = nil) throws {
        let database = database ?? box.database
        tables = try box.cluster.contentChecksums(database: database)
        schemas = try PostgresClient(box.cluster.connection(database: database))
            .query("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1").map { $0[0] }
    }
}
