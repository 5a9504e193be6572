import Foundation

/// A bounded first-in first-out queue of byte chunks between one producer and several consumer threads.
/// The bound is what keeps a parallel load's memory flat, whatever the dump's size.
final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var closed = false
    private var failed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; false once the queue has failed (the chunk is dropped).
    func push(_ chunk: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity && !failed { condition.wait() }
        guard !failed else { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    /// The next chunk; nil once the queue is closed and empty, or has failed.
    func pop() -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !closed && !failed { condition.wait() }
        guard !failed, !chunks.isEmpty else { return nil }
        condition.broadcast()
        return chunks.removeFirst()
    }

    /// No more chunks will come; consumers drain what is queued.
    func close() {
        condition.withLock { closed = true; condition.broadcast() }
    }

    /// Stops producer and consumers at once; queued chunks are dropped.
    func fail() {
        condition.withLock { failed = true; chunks.removeAll(); condition.broadcast() }
    }
}
