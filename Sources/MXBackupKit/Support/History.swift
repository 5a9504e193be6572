import Foundation

/// What verify and drill found, remembered in `<backup dir>/history.jsonl` (0600): `list` and `status`
/// show "verified <when>", and drills give `restore --dry-run` its time estimate.
public struct HistoryRecord: Codable, Sendable {
    public enum Kind: String, Codable, Sendable { case verify, drill }

    public var kind: Kind
    public var time: String
    public var file: String
    public var sha256: String?
    public var ok: Bool
    public var reason: String?
    /// Drills: the whole drill, and the load alone.
    public var seconds: Double?
    public var loadSeconds: Double?
    public var sqlBytes: Int64?

    public init(kind: Kind, file: String, sha256: String?, ok: Bool, reason: String?, seconds: Double? = nil,
                loadSeconds: Double? = nil, sqlBytes: Int64? = nil) {
        self.kind = kind
        time = Format.iso8601(Date())
        self.file = file
        self.sha256 = sha256
        self.ok = ok
        self.reason = reason
        self.seconds = seconds
        self.loadSeconds = loadSeconds
        self.sqlBytes = sqlBytes
    }

    public var date: Date? { Format.parseISO8601(time) }
}

public enum History {
    public static func path(directory: String) -> String {
        (directory as NSString).appendingPathComponent("history.jsonl")
    }

    public static func append(_ record: HistoryRecord, directory: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let fd = open(path(directory: directory), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MXError.failed("\(path(directory: directory)): cannot open: \(Format.errno(errno))") }
        defer { close(fd) }
        try FileDescriptor.writeAll(fd, try encoder.encode(record) + Data("\n".utf8))
    }

    /// Oldest first.
    public static func read(directory: String) -> [HistoryRecord] {
        guard let text = try? String(contentsOfFile: path(directory: directory), encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return text.split(separator: "\n").compactMap { try? decoder.decode(HistoryRecord.self, from: Data($0.utf8)) }
    }

    /// The latest record of a kind for a file (by name, so a moved directory keeps its history).
    public static func latest(_ kind: HistoryRecord.Kind, for file: String? = nil, in records: [HistoryRecord]) -> HistoryRecord? {
        records.last { $0.kind == kind && (file == nil || ($0.file as NSString).lastPathComponent == (file! as NSString).lastPathComponent) }
    }

    /// Restore time estimate from successful drills: seconds per byte of SQL loaded (median of the last five).
    public static func loadRate(_ records: [HistoryRecord]) -> Double? {
        let rates = records.filter { $0.kind == .drill && $0.ok }.suffix(5).compactMap { record -> Double? in
            guard let seconds = record.seconds, let bytes = record.sqlBytes, bytes > 0 else { return nil }
            return seconds / Double(bytes)
        }.sorted()
        return rates.isEmpty ? nil : rates[rates.count / 2]
    }
}
