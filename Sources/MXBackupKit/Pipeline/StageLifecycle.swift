/// The lifecycle every pipeline stage shares, so that no order of calls on an error path can hang or
/// double-free: `finish` does its work once and repeats its outcome to later callers; `cancel` does its
/// work once (also after a finish: a finished file is still only a partial one); finishing after a cancel
/// is an error.
/// Used by the one thread that drives a pipeline.
final class StageLifecycle {
    private var finished: Result<Void, Error>?
    private var cancelled = false
    private let name: String

    init(_ name: String) { self.name = name }

    /// Throws once `finish` or `cancel` was called: the stage takes no more input.
    func requireOpen() throws {
        if finished != nil || cancelled { throw MXError.failed("\(name): written after its end") }
    }

    func finish(_ body: () throws -> Void) throws {
        if cancelled { throw MXError.failed("\(name): finished after it was cancelled") }
        if let finished { return try finished.get() }
        let result = Result { try body() }
        finished = result
        try result.get()
    }

    /// Runs `body` on the first call only.
    func cancel(_ body: () -> Void) {
        guard !cancelled else { return }
        cancelled = true
        body()
    }
}
