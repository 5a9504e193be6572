import CZstd
import Foundation

/// zstd decompression that refuses a truncated frame or data that is not zstd after a frame.
public final class ZstdDecoder: ByteSource {
    private let stream: OpaquePointer
    private let upstream: ByteSource
    private let name: String
    private let input: UnsafeMutableRawBufferPointer
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var inputEnded = false
    /// 0 when the last frame is complete (a clean place to end).
    private var pending = 0

    public init(_ upstream: ByteSource, name: String) throws {
        guard let stream = ZSTD_createDCtx() else { throw MXError.failed("zstd: out of memory") }
        self.stream = stream
        self.upstream = upstream
        self.name = name
        input = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(stream)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while out.pos == 0 {
            if inBuffer.pos == inBuffer.size && !inputEnded {
                let n = try upstream.read(into: input)
                inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: n, pos: 0)
                if n == 0 { inputEnded = true }
            }
            if inBuffer.pos == inBuffer.size && inputEnded {
                // All input consumed: done if the last frame is complete and nothing is buffered.
                let rc = ZSTD_decompressStream(stream, &out, &inBuffer)
                if ZSTD_isError(rc) == 0 && out.pos > 0 { pending = rc; return out.pos }
                if pending != 0 { throw MXError.refused("\(name): the zstd stream is truncated (it ends inside a frame)") }
                return 0
            }
            let rc = ZSTD_decompressStream(stream, &out, &inBuffer)
            if ZSTD_isError(rc) != 0 {
                throw MXError.refused("\(name): the zstd stream is corrupt (\(String(cString: ZSTD_getErrorName(rc))))")
            }
            pending = rc
        }
        return out.pos
    }
}
