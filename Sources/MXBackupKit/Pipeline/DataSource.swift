import Foundation

/// Bytes already in memory as a source (a document downloaded whole).
public final class DataSource: ByteSource {
    private let data: Data
    private var offset = 0

    public init(_ data: Data) { self.data = data }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, data.count - offset)
        guard n > 0 else { return 0 }
        data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: data.startIndex + offset..<data.startIndex + offset + n)
        offset += n
        return n
    }
}
