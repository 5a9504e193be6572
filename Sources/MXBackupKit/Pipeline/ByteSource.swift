import Foundation

/// The reading side of a pipeline: `read` fills the buffer and returns the byte count, 0 at the end.
/// Decoders are sources over sources; they fail loudly on truncated, corrupt or trailing data.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}
