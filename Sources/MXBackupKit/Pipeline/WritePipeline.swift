/// A backup's write path as one object: compress → [encrypt] → `NAME.partial`, hashed on the way.
///
/// It owns its stages' lifecycle: any failure of any stage cancels the whole chain once (gpg stopped, the
/// partial file removed) before the error reaches the caller, and `write`, `finish`, `commit` and `cancel`
/// may then be called in any order, any number of times, without hanging or removing anything twice.
public final class WritePipeline: ByteSink {
    public let file: FileSink
    private let head: ByteSink

    /// - Parameter progress: updated with the bytes written to the file.
    public init(finalPath: String, progress: Box<Int64>, compression: Compression, level: Int?, threads: Int,
                encryption: Encryption, gpg: GPG) throws {
        file = try FileSink(finalPath: finalPath, progress: progress)
        var built: ByteSink = file
        do {
            if encryption != .none { built = try GPGEncryptor(gpg: gpg, encryption: encryption, downstream: built) }
            built = try compression.encoder(level: level, threads: threads, downstream: built)
        } catch {
            built.cancel()  // the stages built so far, down to the file
            throw error
        }
        head = built
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        do { try head.write(bytes) } catch { cancel(); throw error }
    }

    /// Flushes every stage; the file is complete but keeps its partial name until `commit`.
    public func finish() throws {
        do { try head.finish() } catch { cancel(); throw error }
    }

    /// Gives the file its final name.
    public func commit() throws {
        do {
            try finish()
            try file.commit()
        } catch {
            cancel()
            throw error
        }
    }

    public func cancel() { head.cancel() }
}
