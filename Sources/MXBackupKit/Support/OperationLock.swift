import Foundation

/// One backup, restore, rollback or prune at a time per database, held two ways for the whole operation:
/// - an flock()ed file `<backup dir>/.<database>.lock`, whose content (pid, host, command, time) names the holder;
/// - a PostgreSQL advisory lock on the database's name (`AdvisoryLock`), so that the lock belongs to the
///   database: runs with another `--dir`, or on another host, are refused as well.
///
/// Both are released by the kernel or the server when the holder dies, however it dies, so a lock left by a
/// killed run is taken over without guessing from pids.
public final class OperationLock {
    public let path: String
    private var fd: Int32
    private var databaseLock: AdvisoryLock?
    /// Who held the file lock before us without releasing it (died): shown to the operator.
    public let staleHolder: String?

    static func path(directory: String, database: String) -> String {
        let safe = database.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" }
        return (directory as NSString).appendingPathComponent(".\(String(safe)).lock")
    }

    /// - Parameters:
    ///   - command: the command line, for the refusal message of whoever comes next.
    ///   - databaseLock: false for work on the backup directory alone (push), which must run while the
    ///     database server is down, and needs only to keep prune away from the files it reads.
    public init(directory: String, connection: PostgresConnection, command: String, databaseLock takeDatabaseLock: Bool = true) throws {
        let database = connection.database
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
        let host = ProcessInfo.processInfo.hostName
        let holder = "pid \(getpid()) on \(host), '\(command)', since \(Format.iso8601(Date()))"
        ftruncate(fd, 0)
        lseek(fd, 0, SEEK_SET)
        try? FileDescriptor.writeAll(fd, Data((holder + "\n").utf8))
        // application_name holds 63 bytes: the subcommand, pid and host say enough.
        let verb = command.split(separator: " ").prefix(2).joined(separator: " ")
        guard takeDatabaseLock else { return }
        do {
            databaseLock = try AdvisoryLock(connection: connection, holder: "\(verb) pid \(getpid()) on \(host)")
        } catch {
            release()
            throw error
        }
    }

    /// Who holds the lock now, without taking it (nil when free): the file's holder, else the database's.
    public static func holder(directory: String, connection: PostgresConnection) -> String? {
        fileHolder(path: path(directory: directory, database: connection.database))
            ?? AdvisoryLock.holder(connection: connection).map { "\($0) (database lock; another backup directory or host)" }
    }

    private static func fileHolder(path: String) -> String? {
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

    /// Frees the database lock, empties the file (no holder) and releases it. Idempotent.
    public func release() {
        databaseLock?.release()
        databaseLock = nil
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
