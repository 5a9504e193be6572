import Foundation

/// The database a `--target-db` restore or a drill is creating and loading, on disk:
/// `<backup dir>/.<live>.clone-<pid>.json` (0600), flock()ed by its run for as long as the database is
/// unfinished. A record whose lock is free was left by a run that died (kill -9, power cut): it names the
/// one database that run created, which `list` shows and `restore --resume-cleanup` drops. Clones and
/// drills run beside restores, so each has a record of its own, not the live database's state file.
public final class CloneRecord: @unchecked Sendable {
    public struct Content: Codable, Sendable {
        public var database: String
        /// `drill` or `restore --target-db`.
        public var command: String
        public var started: String
    }

    public let path: String
    public let content: Content
    private var fd: Int32

    private init(path: String, content: Content, fd: Int32) {
        self.path = path
        self.content = content
        self.fd = fd
    }

    /// Written, and locked, before CREATE DATABASE runs: the database may or may not exist afterwards.
    static func begin(directory: String, live: String, database: String, command: String) throws -> CloneRecord {
        let path = (directory as NSString).appendingPathComponent(".\(live).clone-\(getpid()).json")
        unlink(path)  // a pid's earlier record: that process is this one, so the record is stale
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw MXError.failed("\(path): cannot record the database this run creates: \(Format.errno(errno)); nothing was changed")
        }
        flock(fd, LOCK_EX)
        let content = Content(database: database, command: command, started: Format.iso8601(Date()))
        do {
            try FileDescriptor.writeAll(fd, try JSONEncoder().encode(content))
            guard fsync(fd) == 0 else { throw MXError.failed("\(path): fsync: \(Format.errno(errno))") }
        } catch {
            close(fd)
            unlink(path)
            throw MXError.failed("\(path): cannot record the database this run creates: \(reason(error)); nothing was changed")
        }
        return CloneRecord(path: path, content: content, fd: fd)
    }

    /// The database is finished (kept as the result, or dropped): nothing is left to clean up. Idempotent.
    func finish() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    /// Records no living run holds, with what they name; unreadable ones (a run killed while writing its
    /// record, before it created anything) name nothing.
    public static func abandoned(directory: String, live: String) -> [(path: String, content: Content?)] {
        let prefix = ".\(live).clone-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
            .filter(FileSink.isAbandoned)
            .map { path in (path, FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(Content.self, from: $0) }) }
    }

    /// The line `list` and `status` print for an abandoned record.
    public static func leftoverLine(_ content: Content?, path: String) -> String {
        guard let content else { return "an unreadable clone record \(path) (its run died before creating anything): 'mxbackup restore --resume-cleanup' removes it" }
        return "\(content.database), created by a \(content.command) started \(content.started) that was interrupted, may be half loaded (\(path)): 'mxbackup restore --resume-cleanup' drops it"
    }
}
