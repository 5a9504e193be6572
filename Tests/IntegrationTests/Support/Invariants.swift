import Foundation
import MXBackupKit

/// What must hold after any interruption of any operation (docs/fault-injection.md), checked in the
/// order an operator meets it: the live database is exactly as before or as after; `status` and `list`
/// say what was left; `restore --resume-cleanup` leaves a clean state (services running, lock free, no
/// stray database or file, every final-named backup verifies, nothing that existed is gone); and a
/// second run of the same operation succeeds.
struct Invariants {
    enum Verdict: Int, Comparable, Sendable {
        case clean, leftSomething, lostData
        static func < (a: Verdict, b: Verdict) -> Bool { a.rawValue < b.rawValue }
    }

    struct Findings: Sendable {
        var verdict = Verdict.clean
        var problems: [String] = []
        mutating func left(_ problem: String) {
            problems.append(problem)
            verdict = max(verdict, .leftSomething)
        }
        mutating func lost(_ problem: String) {
            problems.append("LOST: " + problem)
            verdict = .lostData
        }
    }

    /// What an uninterrupted run leaves, learned from one.
    struct Completed: Sendable {
        var live: DatabaseFingerprint?
        /// The clone of a `--target-db` run (nil when the operation makes none).
        var target: DatabaseFingerprint?
    }

    let world: FaultWorld
    let before: DatabaseFingerprint?
    let completed: Completed
    let backupsBefore: [String]
    /// What a completed run must also have produced (a backup, an offsite copy); nil when it did.
    let produced: (FaultWorld) throws -> String?

    func check(_ outcome: Interruption.Outcome, rerun: [String], rerunsWhenDone: Bool) throws -> Findings {
        var findings = Findings()
        switch outcome {
        case .notReached(let result):  // the driver does not count these
            findings.left("the run ended (exit \(result.exitCode)) before the moment came")
        case .hung(let what):
            findings.left("hang: \(what)")
        case .ended(let result, _, let survivors):
            if !survivors.isEmpty { findings.left("child processes \(survivors) outlived the run by 30 s") }
            if result.exitCode == 0, try !isDone() {
                findings.left("exited 0, but the operation is not complete: \(try incompleteness())")
            }
        }
        // A recreate killed mid-load has, by design, no live data until the cleanup reloads its safety
        // backup; its state file says so. Everything else is judged the moment the run has ended.
        if RestoreState.load(world.statePath)?.phase != .recreating { try checkContent(&findings, "after the interruption") }
        try checkReported(&findings)
        let cleanup = try world.run(["restore", "--resume-cleanup"])
        if cleanup.exitCode != 0 { findings.left("restore --resume-cleanup failed (exit \(cleanup.exitCode)): \(Self.lastLine(cleanup))") }
        try checkContent(&findings, "after --resume-cleanup")
        try checkClean(&findings, "after --resume-cleanup")
        try checkBackups(&findings)
        if try rerunsWhenDone || !isDone() {
            let second = try world.run(rerun)
            if second.exitCode != 0 {
                findings.left("the second run failed (exit \(second.exitCode)): \(Self.lastLine(second))")
            } else if try !isDone() {
                findings.left("the second run exited 0, but the operation is not complete: \(try incompleteness())")
            }
            try checkContent(&findings, "after the second run")
            try checkClean(&findings, "after the second run")
        }
        return findings
    }

    private var live: DatabaseFingerprint? { get throws { try DatabaseFingerprint.of(world.live) } }

    private func isDone() throws -> Bool { try incompleteness().isEmpty }

    /// How the world differs from what a completed run leaves ("" when it does not).
    private func incompleteness() throws -> String {
        var gaps: [String] = []
        let now = try live
        if now != completed.live { gaps.append("live database: \(now?.difference(from: completed.live) ?? "absent")") }
        if let target = world.target, try DatabaseFingerprint.of(target) != completed.target { gaps.append("\(target) is not the complete clone") }
        if let missing = try produced(world) { gaps.append(missing) }
        return gaps.joined(separator: "; ")
    }

    /// The live database is exactly as before or as after, never in between.
    private func checkContent(_ findings: inout Findings, _ when: String) throws {
        let now = try live
        guard now != before, now != completed.live else { return }
        findings.lost("\(when), \(world.live) is neither as before nor as after: \(now?.difference(from: before) ?? "the database is gone")")
    }

    /// Before any cleanup, `status` and `list` must tell the operator what the interruption left.
    private func checkReported(_ findings: inout Findings) throws {
        let status = try world.run(["status"])
        let list = try world.run(["list"])
        let listed = list.stdout + list.stderr
        if FileManager.default.fileExists(atPath: world.statePath) {
            if status.exitCode == 0 { findings.left("status exits 0 while a restore waits for --resume-cleanup") }
            if !listed.contains("--resume-cleanup") { findings.left("list does not say that a restore waits for --resume-cleanup") }
        }
        for partial in world.box.backupFiles().filter({ $0.hasSuffix(".partial") }) where !listed.contains(partial) {
            findings.left("list does not show the leftover \(partial)")
        }
        for database in try world.companions() where !listed.contains(database) && database != world.target {
            findings.left("list does not show the database \(database)")
        }
        if try live?.schemas.contains(where: { $0.hasPrefix("public_pre_restore_") }) == true, !listed.contains("public_pre_restore_") {
            findings.left("list does not show the schema public_pre_restore_* kept in \(world.live)")
        }
    }

    /// Services as they were, lock free, no restore waiting, no stray database or file.
    private func checkClean(_ findings: inout Findings, _ when: String) throws {
        if FileManager.default.fileExists(atPath: world.statePath) { findings.left("\(when): the restore state file is still there") }
        for partial in world.box.backupFiles().filter({ $0.hasSuffix(".partial") }) { findings.left("\(when): stray \(partial)") }
        if let holder = OperationLock.holder(directory: world.box.backupDir, connection: world.box.cluster.connection(database: world.live)) { findings.left("\(when): the lock is held: \(holder)") }
        // Synapse cannot run on a database that is absent or empty (a new server's): then it stays stopped.
        if let synapse = world.synapse, try live.map({ $0.tables.keys.contains { !$0.hasPrefix("(") } }) ?? false, !synapse.healthy() {
            findings.left("\(when): Synapse is not running (service events: \(synapse.events.joined(separator: ", ")))")
        }
        let safetyCopies = SafetyCopies.kinds.map { DatabaseNames.prefix($0, of: world.live) }
        for database in try world.companions() where !safetyCopies.contains(where: database.hasPrefix) {
            if database == world.target, try DatabaseFingerprint.of(database) == completed.target { continue }
            findings.left("\(when): stray database \(database)")
        }
    }

    /// No final-named file is incomplete, and no backup that existed before is gone.
    private func checkBackups(_ findings: inout Findings) throws {
        for backup in world.backups {
            let verified = try world.run(["verify", backup])
            if verified.exitCode != 0 { findings.lost("the final-named \(backup) fails verify: \(Self.lastLine(verified))") }
        }
        if let newest = backupsBefore.first, !FileManager.default.fileExists(atPath: newest) {
            findings.lost("the newest backup from before, \(newest), is gone")
        }
    }

    static func lastLine(_ result: Sandbox.Result) -> String {
        let lines = (result.stderr + "\n" + result.stdout).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return String((lines.first { $0.contains("error") || $0.contains("FAILED") || $0.contains("refused") } ?? lines.last ?? "(no message)").prefix(300))
    }
}
