import CZlib
import Foundation

/// gzip decompression that refuses what `gunzip` merely warns about: a stream that ends early
/// (truncated), bytes after the last member that are not another member (trailing garbage), and any
/// CRC or length mismatch. Concatenated members (`cat a.gz b.gz`) are valid gzip and are read in turn.
public final class GzipDecoder: ByteSource {
    private var stream = z_stream()
    private let upstream: ByteSource
    private let name: String
    private let input: UnsafeMutableRawBufferPointer
    private var inputEnded = false
    private var finished = false

    public init(_ upstream: ByteSource, name: String) throws {
        self.upstream = upstream
        self.name = name
        input = .allocate(byteCount: 256 * 1024, alignment: 16)
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw MXError.failed("gzip: cannot initialise zlib")
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    private func refill() throws {
        guard stream.avail_in == 0, !inputEnded else { return }
        let n = try upstream.read(into: input)
        if n == 0 { inputEnded = true }
        stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_in = uInt(n)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(buffer.count)
        while stream.avail_out == uInt(buffer.count) {
            try refill()
            if stream.avail_in == 0 && inputEnded {
                throw MXError.refused("\(name): the gzip stream is truncated (it ends before its end marker)")
            }
            let rc = inflate(&stream, Z_NO_FLUSH)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                if try !nextMember() {
                    finished = true
                    return buffer.count - Int(stream.avail_out)
                }
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw MXError.refused("\(name): the gzip stream is corrupt (\(detail))")
            }
        }
        return buffer.count - Int(stream.avail_out)
    }

    /// After a member's end: true if another gzip member follows, false at a clean end of input.
    private func nextMember() throws -> Bool {
        try refill()
        if stream.avail_in == 0 && inputEnded { return false }
        // Need two bytes to recognise the magic; a single trailing byte is garbage either way.
        if stream.avail_in < 2 && !inputEnded {
            let first = stream.next_in[0]
            let n = try upstream.read(into: UnsafeMutableRawBufferPointer(rebasing: input[1...]))
            input[0] = first
            if n == 0 { inputEnded = true }
            stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(1 + n)
        }
        guard stream.avail_in >= 2, stream.next_in[0] == 0x1F, stream.next_in[1] == 0x8B else {
            throw MXError.refused("\(name): trailing garbage after the end of the gzip stream (the file was altered or appended to)")
        }
        inflateReset(&stream)
        return true
    }
}
