import Foundation

/// Passes bytes through and, at their end, checks their count and SHA-256: a store's download that
/// does not match what was uploaded fails instead of feeding a restore.
public final class ChecksummedSource: ByteSource {
    private let upstream: ByteSource
    private let expectedSHA256: String
    private let expectedSize: Int64
    private let name: String
    private let hasher = SHA256Hasher()
    private var count: Int64 = 0
    private var ended = false

    public init(_ upstream: ByteSource, sha256: String, size: Int64, name: String) {
        self.upstream = upstream
        expectedSHA256 = sha256
        expectedSize = size
        self.name = name
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if ended { return 0 }  // checked once; reading past the end stays at the end
        let n = try upstream.read(into: buffer)
        if n > 0 {
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            count += Int64(n)
            return n
        }
        ended = true
        let digest = hasher.finalize()
        guard count == expectedSize, digest == expectedSHA256 else {
            throw MXError.failed("\(name): the downloaded bytes do not match (\(count) bytes, SHA-256 \(digest); expected \(expectedSize), \(expectedSHA256))")
        }
        return 0
    }
}
