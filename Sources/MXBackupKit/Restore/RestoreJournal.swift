import Foundation

/// The state file of one running restore. Each phase is written (atomically) before the step it names
/// begins, so that wherever a kill lands, the file says what may be half done; it is removed only when
/// nothing is left to clean up.
final class RestoreJournal: @unchecked Sendable {
    let path: String
    private(set) var state: RestoreState

    init(path: String, state: RestoreState) {
        self.path = path
        self.state = state
    }

    func enter(_ phase: RestoreState.Phase, _ change: (inout RestoreState) -> Void = { _ in }) throws {
        var next = state
        next.phase = phase
        change(&next)
        try next.save(to: path)
        state = next
    }

    /// Nothing is left to clean up.
    func finish() { unlink(path) }
}

/// An error's one-line message for the operator.
func reason(_ error: Error) -> String { (error as? MXError)?.message ?? "\(error)" }
