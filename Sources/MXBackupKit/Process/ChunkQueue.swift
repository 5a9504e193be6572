import Foundation

/// A bounded first-in first-out queue of byte chunks between one producer and several consumer threads.
/// The bound is what keeps a parallel load's memory flat, whatever the dump's size.
final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    /// Written chunks' storage, emptied, for the producer to fill again: fresh memory costs a page fault
    /// per 4 KiB, which measured more than the copying itself.
    private var spare: [[UInt8]] = []
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

    /// An empty chunk with at least `capacity` bytes of storage, reused when one was handed back.
    func emptyChunk(capacity: Int) -> [UInt8] {
        if let reused = condition.withLock({ spare.popLast() }) { return reused }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(capacity)
        return chunk
    }

    /// Hands a consumed chunk's storage back for `emptyChunk` (the caller's must be its only reference,
    /// or emptying it would allocate anew).
    func recycle(_ chunk: inout [UInt8]) {
        chunk.removeAll(keepingCapacity: true)
        let storage = chunk
        chunk = []
        condition.withLock { if spare.count <= capacity { spare.append(storage) } }
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
