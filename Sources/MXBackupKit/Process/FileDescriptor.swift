import Foundation

/// Blocking I/O on raw file descriptors, retried on EINTR. The pipelines run on dedicated threads,
/// so blocking here never starves Swift's cooperative thread pool.
public enum FileDescriptor {
    public struct IOError: Error, Sendable {
        public var errno: Int32
        public var operation: String
        public var description: String { "\(operation): \(Format.errno(errno))" }
    }

    /// A pipe whose both ends are close-on-exec; `ChildProcess` dup2()s the child's end into place.
    public static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard c_pipe2(&fds, O_CLOEXEC) == 0 else { throw IOError(errno: errno, operation: "pipe") }
        return (fds[0], fds[1])
    }

    /// A pipe that carries a data stream: 1 MiB of kernel buffer instead of 64 KiB, so that both ends
    /// wake each other 16 times less often (best effort: the system's limit may refuse it).
    public static func streamPipe() throws -> (read: Int32, write: Int32) {
        let fds = try pipe()
        _ = fcntl(fds.write, 1031 /* F_SETPIPE_SZ */, Int32(1 << 20))
        return fds
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw IOError(errno: errno, operation: "read")
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw IOError(errno: n < 0 ? errno : EIO, operation: "write")
        }
    }

    public static func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { try writeAll(fd, $0) }
    }

    public static func close(_ fd: Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Reads a descriptor to its end.
    public static func readToEnd(_ fd: Int32) throws -> Data {
        var result = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try read(fd, into: buffer)
            if n == 0 { return result }
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}

/// pipe2(2) is not exported by Swift's Glibc module (it needs _GNU_SOURCE); it is needed so that no
/// pipe end leaks into a child spawned by another thread between pipe() and fcntl().
@_silgen_name("pipe2")
private func c_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
