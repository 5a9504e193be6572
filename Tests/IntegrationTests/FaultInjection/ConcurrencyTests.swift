import Foundation
import MXBackupKit
import Testing

/// Two operations on one database at once: the first is paused at a step (holding what it holds there)
/// while the second runs. One wins, the other is refused cleanly with a message naming the holder, and
/// nothing is lost.
@Suite struct ConcurrencyTests {
    private struct Overlap {
        var first: Sandbox.Result
        var second: Sandbox.Result
        var holder: pid_t
    }

    private func overlap(_ world: FaultWorld, _ first: [String], pausedAt step: String, _ second: [String],
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> Overlap {
        let marker = world.box.root + "/overlap.marker"
        let run = try BoundedRun(world.box, first, environment: world.environment.merging(
            ["MXBACKUP_FAULT_PAUSE": FaultMatrix.pausePrefix(step, world), "MXBACKUP_FAULT_MARKER": marker]) { _, new in new })
        try #require(waitUntil(seconds: Interruption.bound) { FileManager.default.fileExists(atPath: marker) || !run.running },
                     "the first run never reached '\(step)'", sourceLocation: sourceLocation)
        try #require(run.running, "the first run ended before '\(step)': \(run.finish().stderr)", sourceLocation: sourceLocation)
        let secondResult = try world.run(second)
        unlink(marker)
        let ended = run.wait(seconds: Interruption.bound)
        if !ended { run.kill() }
        let firstResult = run.finish()
        #expect(ended, "the first run hung after the second one", sourceLocation: sourceLocation)
        return Overlap(first: firstResult, second: secondResult, holder: run.pid)
    }

    private func expectRefusedNamingHolder(_ overlap: Overlap, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(overlap.second.exitCode == 3 && overlap.second.stderr.contains("pid \(overlap.holder)"),
                "the second run was not refused naming the holder (pid \(overlap.holder)): exit \(overlap.second.exitCode): \(overlap.second.stderr)",
                sourceLocation: sourceLocation)
        #expect(overlap.first.exitCode == 0, "the first run failed: \(overlap.first.stderr)", sourceLocation: sourceLocation)
    }

    private func expectAllBackupsVerify(_ world: FaultWorld, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for backup in world.backups {
            let verified = try world.run(["verify", backup])
            #expect(verified.exitCode == 0, "\(backup): \(verified.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test func twoBackupsAtOnce() throws {
        let world = try FaultWorld(synapse: false, offsite: .none)
        defer { world.close() }
        let overlap = try overlap(world, ["backup"], pausedAt: "backup: dump: streaming", ["backup"])
        expectRefusedNamingHolder(overlap)
        #expect(world.backups.count == 1 && world.box.backupFiles().allSatisfy { !$0.hasSuffix(".partial") }, "\(world.box.backupFiles())")
        try expectAllBackupsVerify(world)
    }

    /// A restore paused while it loads its scratch database, and a second restore (same directory, or
    /// another one: the lock must belong to the database) or a backup meanwhile.
    @Test(arguments: [["restore", "--yes"], ["restore", "--yes", "--dir", "other"], ["backup"]])
    func aSecondOperationDuringARestore(_ second: [String]) throws {
        let world = try FaultWorld(synapse: true, offsite: .none)
        defer { world.close() }
        try Prepare.backupThenChange(world)
        let backedUp = world.backups
        var arguments = second
        if second[0] == "restore" {
            arguments.insert(world.backup!, at: 1)
            if let dir = arguments.firstIndex(of: "other") { arguments[dir] = world.box.root + "/other" }
        }
        let overlap = try overlap(world, ["restore", world.backup!, "--yes"], pausedAt: "load ", arguments)
        expectRefusedNamingHolder(overlap)
        // The first restore won: the live database is the backup's, its predecessor one safety copy.
        #expect(try world.box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: world.live) == "0")
        let copies = try world.companions()
        #expect(copies.count == 1 && copies[0].hasPrefix(world.live + "_pre_restore_"), "\(copies)")
        #expect(try world.box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: copies.first ?? world.live) == "1")
        #expect(world.backups == backedUp)
        #expect(world.synapse?.healthy() == true)
        try expectAllBackupsVerify(world)
    }

    /// `prune` while `push` uploads the backup prune would delete.
    @Test func aPruneDuringAPush() throws {
        let world = try FaultWorld(synapse: false, offsite: .store)
        defer { world.close() }
        try world.must(["backup"])
        usleep(1_100_000)  // backup names have a resolution of one second
        try world.must(["backup"])
        let older = world.backups[1]
        let overlap = try overlap(world, ["push", older], pausedAt: "push: part 1", ["prune", "--keep-last", "1"])
        expectRefusedNamingHolder(overlap)
        // Nothing lost: the older backup is still here, or complete offsite.
        let offsite = try world.run(["list", "--from", "telegram"])
        #expect(FileManager.default.fileExists(atPath: older) || offsite.stdout.contains((older as NSString).lastPathComponent),
                "\(older) is neither local nor offsite: \(offsite.stdout)")
        try expectAllBackupsVerify(world)
    }
}
