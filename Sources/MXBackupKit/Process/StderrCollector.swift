import Foundation

/// Drains a child's stderr on its own thread (so the child never blocks on a full pipe) and keeps
/// the tail, which becomes part of the error message when the child fails.
public final class StderrCollector: Sendable {
    private let worker: Worker
    private let text: Box<String>
    public let writeEnd: Int32
    private let writeEndClosed = Box(false)

    public init(name: String, keepBytes: Int = 8192) throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        self.writeEnd = writeEnd
        let text = Box("")
        self.text = text
        worker = Worker("stderr-\(name)") {
            var tail = Data()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
            defer { buffer.deallocate(); FileDescriptor.close(readEnd) }
            while let n = try? FileDescriptor.read(readEnd, into: buffer), n > 0 {
                tail.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                if tail.count > 2 * keepBytes { tail = tail.suffix(keepBytes) }
            }
            text.value = String(decoding: tail.suffix(keepBytes), as: UTF8.self)
        }
    }

    /// Call after the child was spawned: our copy of the write end must close for EOF to arrive.
    /// Closes it once: a descriptor number closed twice may by then belong to another file.
    public func closeWriteEnd() {
        if !writeEndClosed.exchange(true) { FileDescriptor.close(writeEnd) }
    }

    /// The collected stderr, trimmed; waits for the child to close its end. Any number of calls.
    public func finish() -> String {
        worker.join()
        return text.value.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
