import Foundation

/// A dedicated thread for blocking work (reading a pipe, feeding a child), joined with `join()`.
public final class Worker: @unchecked Sendable {
    private let condition = NSCondition()
    private var finished = false

    public init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            body()
            condition.withLock {
                finished = true
                condition.broadcast()
            }
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits until the body has returned; returns at once when it has. Any number of calls, from any
    /// thread (an error path and a cleanup path may both join the same worker).
    public func join() {
        condition.withLock {
            while !finished { condition.wait() }
        }
    }
}

/// A value written once by one thread and read after `Worker.join()` by another.
public final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    public init(_ value: Value) { stored = value }

    public var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }

    /// Stores `new` and returns what was there, atomically (for once-only actions).
    public func exchange(_ new: Value) -> Value {
        lock.withLock {
            let old = stored
            stored = new
            return old
        }
    }
}
