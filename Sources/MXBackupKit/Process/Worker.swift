import Foundation

/// A dedicated thread for blocking work (reading a pipe, feeding a child), joined with `join()`.
public final class Worker: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)

    public init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [finished] in
            body()
            finished.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    public func join() { finished.wait() }
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
}
