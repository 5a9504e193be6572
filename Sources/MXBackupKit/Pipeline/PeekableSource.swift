import Foundation

/// Lets the format detection look at the first bytes of a stream without consuming them.
public final class PeekableSource: ByteSource {
    private let upstream: ByteSource
    private var buffered = Data()
    private var ended = false

    public init(_ upstream: ByteSource) { self.upstream = upstream }

    /// Up to `count` bytes from the start (fewer only at the end of the stream).
    public func peek(_ count: Int) throws -> Data {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 4096), alignment: 16)
        defer { chunk.deallocate() }
        while buffered.count < count && !ended {
            let n = try upstream.read(into: chunk)
            if n == 0 { ended = true }
            buffered.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        }
        return buffered.prefix(count)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if buffered.isEmpty { return try upstream.read(into: buffer) }
        let n = min(buffer.count, buffered.count)
        buffered.copyBytes(to: buffer.bindMemory(to: UInt8.self), count: n)
        buffered.removeFirst(n)
        return n
    }
}

/// A file read from its start; the descriptor closes with the object.
public final class FileSource: ByteSource {
    public let path: String
    public let size: Int64
    private let fd: Int32

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MXError.refused("\(path): cannot open the backup: \(Format.errno(errno))") }
        var st = stat()
        fstat(fd, &st)
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw MXError.refused("\(path): not a regular file")
        }
        size = Int64(st.st_size)
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do { return try FileDescriptor.read(fd, into: buffer) } catch {
            throw MXError.failed("\(path): read failed: \(error)")
        }
    }
}

/// Raw backup bytes, hashed and counted as they are read.
public final class HashingSource: ByteSource {
    private let upstream: ByteSource
    private let hasher = SHA256Hasher()
    public private(set) var bytesRead: Int64 = 0
    /// The size the bytes should have (the file's, or the store's record).
    public let size: Int64

    public init(_ upstream: ByteSource, size: Int64) {
        self.upstream = upstream
        self.size = size
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try upstream.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        bytesRead += Int64(n)
        return n
    }

    /// The SHA-256 of everything read; call once, at the end.
    public func sha256() -> String { hasher.finalize() }
}
