import Foundation

/// `--target-db` (and `drill`): load into a new database; services and the live database are untouched.
/// Only a database this run created (`timeline.created`) is ever dropped: a target that already exists
/// is refused by the preflight and left alone. A drill runs beside restores, so instead of the live
/// database's state file the target gets a record of its own (CloneRecord) before it is created.
struct CloneRestore: RestoreStrategy {
    static let kind = RestoreState.Strategy.clone
    let operation: RestoreOperation

    func run(_ plan: RestorePlan, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        guard let target = plan.target else { throw MXError.failed("a clone needs --target-db") }
        timeline.cloneRecords[target] = try CloneRecord.begin(directory: op.directory, live: op.connection.database, database: target,
                                                              command: op.options.throwaway ? "drill" : "restore --target-db")
        do {
            try timeline.measure("create \(target)") { try op.admin.create(target, owner: plan.owner) }
        } catch {
            // An error from CREATE DATABASE means it did not happen (the target may even be someone else's,
            // made since the preflight): the record goes. Cut by a signal, it may have happened: it stays.
            guard Interrupts.shared.signal != nil else {
                timeline.finishClone(target)
                throw op.failure(error) { "\(target) was not created" }
            }
            throw op.failure(error) { "\(target) may have been created: 'mxbackup restore --resume-cleanup' drops it if so" }
        }
        timeline.created.insert(target)
        do {
            try Interrupts.shared.checkpoint()
            try op.stream(op.options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                          into: target, step: "load \(Format.bytes(plan.inspection.sqlBytes)) of SQL", timeline: timeline)
            try op.checkAndAnalyze(plan, database: target, timeline: timeline)
            try Interrupts.shared.checkpoint()
        } catch {
            throw op.failure(error) {
                do {
                    try op.admin.drop(target)
                    timeline.created.remove(target)
                    timeline.finishClone(target)
                    return "\(target) (created by this run) was dropped"
                } catch {
                    return "\(target) (created by this run) could not be dropped (\(reason(error))): 'mxbackup restore --resume-cleanup' drops it"
                }
            }
        }
        if !op.options.throwaway { timeline.finishClone(target) }
        return op.report(plan, database: target, timeline: timeline, downtime: nil, health: "not checked (--target-db)", safetyCopy: nil)
    }

    /// A clone's leftovers are in its CloneRecord (RestoreCleanup drops them), never in the state file.
    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        ["a --target-db restore records no state: nothing to finish"]
    }
}
