import Foundation

/// The end of a backup pipeline: writes to `NAME.partial` (0600, created exclusively), hashes and counts
/// what it writes; `commit` fsyncs and renames it into place. Until then no file has the final name.
public final class FileSink: ByteSink, @unchecked Sendable {
    public let finalPath: String
    public let partialPath: String
    private var fd: Int32
    private let hasher = SHA256Hasher()
    public private(set) var bytesWritten: Int64 = 0
    private let counter: Box<Int64>
    public private(set) var sha256: String?
    private let lifecycle = StageLifecycle("the backup file")
    private var committed = false

    /// - Parameter progress: updated with the bytes written, read by the progress display.
    public init(finalPath: String, progress: Box<Int64> = Box(0)) throws {
        self.finalPath = finalPath
        partialPath = finalPath + ".partial"
        counter = progress
        if FileManager.default.fileExists(atPath: finalPath) {
            throw MXError.refused("\(finalPath) already exists: mxbackup never overwrites a backup")
        }
        fd = open(partialPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0, errno == EEXIST, Self.isAbandoned(partialPath) {
            // Left by a run that died (kill -9, power cut): nobody writes it any more.
            unlink(partialPath)
            fd = open(partialPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else {
            throw MXError.failed("\(partialPath): cannot create: \(errno == EEXIST ? "another mxbackup run is writing it" : Format.errno(errno))")
        }
        flock(fd, LOCK_EX)
        Interrupts.shared.register(file: partialPath)
    }

    /// Whether a `.partial` is a leftover: its writer holds an flock on it while it writes, and the kernel
    /// drops that lock when the writer dies, however it dies.
    public static func isAbandoned(_ partial: String) -> Bool {
        let fd = open(partial, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) == 0
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try lifecycle.requireOpen()
        do {
            try FileDescriptor.writeAll(fd, bytes)
        } catch let error as FileDescriptor.IOError {
            throw failure(error.errno, "write")
        }
        hasher.update(bytes)
        bytesWritten += Int64(bytes.count)
        counter.value = bytesWritten
    }

    /// Flushes to disk; the data is complete but still under the partial name.
    public func finish() throws {
        try lifecycle.finish {
            guard fsync(fd) == 0 else { throw failure(errno, "fsync") }
            close(fd)
            fd = -1
            sha256 = hasher.finalize()
        }
    }

    /// Gives the file its final name and makes the rename durable.
    public func commit() throws {
        try finish()
        guard !committed else { return }
        guard rename(partialPath, finalPath) == 0 else {
            throw MXError.failed("\(partialPath): cannot rename to \(finalPath): \(Format.errno(errno))")
        }
        committed = true
        Interrupts.shared.unregister(file: partialPath)
        Self.syncDirectory(directory)
    }

    /// Removes the partial file (after any failure); a committed file stays.
    public func cancel() {
        lifecycle.cancel {
            if fd >= 0 { close(fd); fd = -1 }
            guard !committed else { return }
            unlink(partialPath)
            Interrupts.shared.unregister(file: partialPath)
        }
    }

    /// The operator's message for a failed write or flush. A full disk (or quota, or file-size limit)
    /// is named as such with the directory, since that is what must be fixed.
    private func failure(_ code: Int32, _ operation: String) -> MXError {
        let done = "no backup was written, \((partialPath as NSString).lastPathComponent) is removed"
        if code == ENOSPC || code == EDQUOT || code == EFBIG {
            return .failed("disk full in \(directory): \(operation) failed after \(Format.bytes(bytesWritten)) (\(Format.errno(code))): "
                           + "\(done): free space there (or raise the quota or file-size limit) or prune old backups")
        }
        return .failed("\(partialPath): \(operation) failed after \(Format.bytes(bytesWritten)): \(Format.errno(code)): \(done)")
    }

    private var directory: String {
        let parent = (finalPath as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    static func syncDirectory(_ path: String) {
        let dfd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Writes a small file atomically (manifest, index): temp file, fsync, rename.
    public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let temp = path + ".partial"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw MXError.failed("\(temp): cannot create: \(Format.errno(errno))") }
        flock(fd, LOCK_EX)  // so that a sweep of leftovers (isAbandoned) leaves it alone
        do {
            try FileDescriptor.writeAll(fd, data)
            guard fsync(fd) == 0 else { throw FileDescriptor.IOError(errno: errno, operation: "fsync") }
        } catch {
            close(fd)
            unlink(temp)
            throw MXError.failed("\(temp): write failed: \(error)")
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw MXError.failed("\(path): cannot rename into place: \(Format.errno(errno))")
        }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }
}
