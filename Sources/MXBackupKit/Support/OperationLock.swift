import Foundation

/// One backup or restore at a time per database: an flock()ed file `<backup dir>/.<database>.lock`.
///
/// The kernel releases the flock when the holder dies, however it dies, so a lock left by a killed run
/// is taken over without guessing from pids; the file's content (pid, host, command, time) names the
/// holder in the refusal message.
public final class OperationLock {
    public let path: String
    private var fd: Int32
    /// Who held the lock before us without releasing it (died): shown to the operator.
    public let staleHolder: String?

    static func path(directory: String, database: String) -> String {
        let safe = database.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" }
        return (directory as NSString).appendingPathComponent(".\(String(safe)).lock")
    }

    public init(directory: String, database: String, command: String) throws {
        path = Self.path(directory: directory, database: database)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MXError.failed("\(path): cannot open the lock file: \(Format.errno(errno))") }
        let previous = String(decoding: (try? FileDescriptor.readToEnd(fd)) ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw MXError.refused("another mxbackup run holds the lock for database \(database) (\(path)): \(previous.isEmpty ? "unknown holder" : previous); wait for it to finish")
        }
        staleHolder = previous.isEmpty ? nil : previous
        let holder = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), '\(command)', since \(Format.iso8601(Date()))"
        ftruncate(fd, 0)
        lseek(fd, 0, SEEK_SET)
        try? FileDescriptor.writeAll(fd, Data((holder + "\n").utf8))
    }

    /// Who holds the lock now, without taking it (nil when free).
    public static func holder(directory: String, database: String) -> String? {
        let path = path(directory: directory, database: database)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        let text = String(decoding: (try? FileDescriptor.readToEnd(fd)) ?? Data(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown holder" : text
    }

    /// Empties the file (no holder) and releases the lock.
    public func release() {
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
