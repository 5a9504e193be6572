import Foundation

/// The reading side of a pipeline: `read` fills the buffer and returns the byte count, 0 at the end.
/// Decoders are sources over sources; they fail loudly on truncated, corrupt or trailing data.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A file descriptor as a source (a file, or a child's stdout).
public final class DescriptorSource: ByteSource {
    public let fd: Int32
    private let name: String

    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do { return try FileDescriptor.read(fd, into: buffer) } catch {
            throw MXError.failed("\(name): \(error)")
        }
    }
}
