import Foundation

/// `--target-db` (and `drill`): load into a new database; services and the live database are untouched.
/// Only a database this run created (`timeline.created`) is ever dropped: a target that already exists
/// is refused by the preflight and left alone. It writes no state file (a drill runs beside restores).
struct CloneRestore: RestoreStrategy {
    static let kind = RestoreState.Strategy.clone
    let operation: RestoreOperation

    func run(_ plan: RestorePlan, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        guard let target = plan.target else { throw MXError.failed("a clone needs --target-db") }
        try timeline.measure("create \(target)") { try op.admin.create(target, owner: plan.owner) }
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
                    return "\(target) (created by this run) was dropped"
                } catch {
                    return "\(target) (created by this run) could not be dropped (\(reason(error))): drop it by hand"
                }
            }
        }
        return op.report(plan, database: target, timeline: timeline, downtime: nil, health: "not checked (--target-db)", safetyCopy: nil)
    }

    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        ["a --target-db restore records no state: nothing to finish"]
    }
}
