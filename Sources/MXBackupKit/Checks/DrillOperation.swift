import Foundation

/// `mxbackup drill`: restores a backup into a throwaway database through the same restore code (never
/// touching Synapse or the live database), checks it against the backup, times each phase, and drops the
/// database it created (only that one).
public struct DrillOperation {
    public struct Result: Sendable, Codable {
        public var file: String
        public var database: String
        public var ok: Bool
        public var reason: String?
        public var seconds: Double
        public var steps: [AuditRecord.Step]
        public var sqlBytes: Int64?
        public var sha256: String?
    }

    public let restore: RestoreOperation

    /// - Parameter restore: built with `options.target` set to the throwaway database and no services.
    public init(restore: RestoreOperation) {
        precondition(restore.options.target != nil && restore.options.throwaway && restore.services is NoServices, "a drill restores into a throwaway database only")
        self.restore = restore
    }

    public func run(timeline: RestoreOperation.Timeline) -> Result {
        let started = Date()
        let database = restore.options.target!
        var result = Result(file: restore.options.source.name, database: database, ok: false, reason: nil, seconds: 0, steps: [])
        do {
            let plan = try restore.preflight(timeline: timeline)
            result.sqlBytes = plan.inspection.sqlBytes
            result.sha256 = plan.inspection.sha256
            try restore.requireGreen(plan)
            _ = try restore.execute(plan, timeline: timeline)
            result.ok = true
        } catch {
            result.reason = (error as? MXError)?.message ?? "\(error)"
        }
        // No database this run created is left behind, and no other is touched (a target that already
        // existed, the live one included, is refused by the preflight and never created here).
        if timeline.created.contains(database) {
            Interrupts.shared.critical {
                timeline.measure("drop \(database)") {
                    do {
                        try restore.admin.drop(database)
                        timeline.finishClone(database)
                    } catch {
                        result.ok = false
                        result.reason = (result.reason.map { $0 + "; " } ?? "") + "could not drop \(database): 'mxbackup restore --resume-cleanup' drops it"
                    }
                }
            }
        }
        result.seconds = Date().timeIntervalSince(started)
        result.steps = timeline.steps
        return result
    }
}
