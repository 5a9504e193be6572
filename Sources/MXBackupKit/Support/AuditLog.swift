import Foundation

/// The append-only audit log: one JSON line per restore attempt (refused, dry-run, failed,
/// rolled back, done), 0600. Command lines hold no secrets (argv never does).
public struct AuditRecord: Codable, Sendable {
    public struct Step: Codable, Sendable {
        public var name: String
        public var seconds: Double
    }

    public var time: String
    public var user: String
    public var host: String
    public var command: String
    public var operation: String
    public var file: String?
    public var sha256: String?
    public var strategy: String?
    public var target: String?
    public var steps: [Step]
    public var downtimeSeconds: Double?
    public var outcome: String
    public var error: String?

    public init(time: String, user: String, host: String, command: String, operation: String, file: String?,
                strategy: String?, target: String?, steps: [Step], outcome: String) {
        self.time = time
        self.user = user
        self.host = host
        self.command = command
        self.operation = operation
        self.file = file
        self.strategy = strategy
        self.target = target
        self.steps = steps
        self.outcome = outcome
    }
}

extension AuditRecord {
    /// A record for an attempt starting now, by this user on this host.
    public static func begin(operation: String, command: String, file: String? = nil, strategy: String? = nil, target: String?) -> AuditRecord {
        AuditRecord(time: Format.iso8601(Date()), user: NSUserName(), host: ProcessInfo.processInfo.hostName, command: command,
                    operation: operation, file: file, strategy: strategy, target: target, steps: [], outcome: "started")
    }
}

public enum AuditLog {
    public static func append(_ record: AuditRecord, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let line = try encoder.encode(record) + Data("\n".utf8)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MXError.failed("\(path): cannot open the audit log: \(Format.errno(errno))") }
        defer { close(fd) }
        try FileDescriptor.writeAll(fd, line)
        fsync(fd)
    }

    public static func read(_ path: String) -> [AuditRecord] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return text.split(separator: "\n").compactMap { try? decoder.decode(AuditRecord.self, from: Data($0.utf8)) }
    }
}
