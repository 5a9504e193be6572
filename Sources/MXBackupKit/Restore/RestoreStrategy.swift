import Foundation

/// What writes a state file (each restore strategy, and rollback) and, after a kill, finishes what its
/// phases say was left: a phase at or after `committed` is never undone, `rolling back` is finished
/// rather than the rejected change.
protocol ResumableRestore {
    /// What was done, one line each; the services recorded as stopped are started afterwards by `RestoreCleanup`.
    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String]
}

/// One way of restoring (swap, recreate, in-place, tables, clone). The type runs it and owns the phases
/// it writes to the state file.
protocol RestoreStrategy: ResumableRestore {
    static var kind: RestoreState.Strategy { get }
    func run(_ plan: RestorePlan, timeline: RestoreOperation.Timeline) throws -> RestoreReport
}

extension RestoreState.Strategy {
    /// The type that reads this strategy's records back.
    var type: ResumableRestore.Type {
        switch self {
        case .swap: return SwapRestore.self
        case .recreate: return RecreateRestore.self
        case .inPlace: return InPlaceRestore.self
        case .tables: return TablesRestore.self
        case .clone: return CloneRestore.self
        case .rollback, .schemaRollback: return RollbackOperation.self
        }
    }
}
