import CZlib
import Foundation

/// gzip compression through zlib: the legacy scripts' format (`pg_dump | gzip`), one gzip member.
public final class GzipEncoder: ByteSink {
    private var stream = z_stream()
    private let downstream: ByteSink
    private let output: UnsafeMutableRawBufferPointer
    private let lifecycle = StageLifecycle("gzip compression")

    public init(level: Int, downstream: ByteSink) throws {
        self.downstream = downstream
        output = .allocate(byteCount: 256 * 1024, alignment: 16)
        // windowBits 15 + 16: a gzip header and trailer instead of a raw zlib stream.
        let rc = deflateInit2_(&stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw MXError.failed("gzip: cannot initialise zlib (\(rc))") }
    }

    deinit {
        deflateEnd(&stream)
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try lifecycle.requireOpen()
        guard bytes.count > 0 else { return }
        stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        while stream.avail_in > 0 { _ = try step(Z_NO_FLUSH) }
    }

    public func finish() throws {
        try lifecycle.finish {
            stream.next_in = nil
            stream.avail_in = 0
            while try step(Z_FINISH) != Z_STREAM_END {}
            try downstream.finish()
        }
    }

    public func cancel() { lifecycle.cancel { downstream.cancel() } }

    private func step(_ flush: Int32) throws -> Int32 {
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let rc = deflate(&stream, flush)
        guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
            throw MXError.failed("gzip compression failed (zlib \(rc))")
        }
        let produced = output.count - Int(stream.avail_out)
        if produced > 0 { try downstream.write(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
        return rc
    }
}
