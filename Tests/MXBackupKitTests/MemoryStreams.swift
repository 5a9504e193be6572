import Foundation
import MXBackupKit

/// In-memory ends for the byte pipeline.
final class MemorySink: ByteSink {
    var data = Data()
    var finished = false
    func write(_ bytes: UnsafeRawBufferPointer) throws { data.append(contentsOf: bytes) }
    func finish() throws { finished = true }
    func cancel() {}
}

final class MemorySource: ByteSource {
    let data: Data
    var offset = 0
    let step: Int
    init(_ data: Data, step: Int = 4096) { self.data = data; self.step = step }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, step, data.count - offset)
        data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<offset + n)
        offset += n
        return n
    }
}

func readAll(_ source: ByteSource) throws -> Data {
    var out = Data()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 8)
    defer { buffer.deallocate() }
    while true {
        let n = try source.read(into: buffer)
        if n == 0 { return out }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
}

func compress(_ data: Data, _ compression: Compression) throws -> Data {
    let sink = MemorySink()
    let encoder = try compression.encoder(level: nil, threads: 2, downstream: sink)
    try data.withUnsafeBytes { try encoder.write($0) }
    try encoder.finish()
    guard sink.finished else { throw MXError.failed("the encoder did not finish its sink") }
    return sink.data
}
