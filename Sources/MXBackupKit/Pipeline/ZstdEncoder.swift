import CZstd
import Foundation

/// zstd compression through libzstd, multi-threaded: libzstd runs its own worker threads, so the
/// pipeline thread only hands over input and collects output.
public final class ZstdEncoder: ByteSink {
    private let stream: OpaquePointer
    private let downstream: ByteSink
    private let output: UnsafeMutableRawBufferPointer
    private let lifecycle = StageLifecycle("zstd compression")

    public init(level: Int, threads: Int, downstream: ByteSink) throws {
        guard let stream = ZSTD_createCCtx() else { throw MXError.failed("zstd: out of memory") }
        self.stream = stream
        self.downstream = downstream
        output = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
        ZSTD_CCtx_setParameter(stream, ZSTD_c_compressionLevel, Int32(level))
        ZSTD_CCtx_setParameter(stream, ZSTD_c_checksumFlag, 1)  // `zstd -t` and our reader detect corruption
        let workers = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
        if workers > 1 {
            ZSTD_CCtx_setParameter(stream, ZSTD_c_nbWorkers, Int32(workers))
            // Smaller jobs than libzstd's default (4x the window): each worker's buffers stay small, so
            // memory is bounded by ~12 MB per worker whatever the database size, at no measurable cost in ratio.
            ZSTD_CCtx_setParameter(stream, ZSTD_c_jobSize, 2 << 20)
        }
    }

    deinit {
        ZSTD_freeCCtx(stream)
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try lifecycle.requireOpen()
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try step(&input, ZSTD_e_continue)
        }
    }

    public func finish() throws {
        try lifecycle.finish {
            var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
            while try step(&input, ZSTD_e_end) != 0 {}
            try downstream.finish()
        }
    }

    public func cancel() { lifecycle.cancel { downstream.cancel() } }

    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(stream, &out, &input, mode)
        if ZSTD_isError(remaining) != 0 {
            throw MXError.failed("zstd compression failed: \(String(cString: ZSTD_getErrorName(remaining)))")
        }
        if out.pos > 0 { try downstream.write(UnsafeRawBufferPointer(rebasing: output[0..<out.pos])) }
        return remaining
    }
}
