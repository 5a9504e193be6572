import Foundation

/// `mxbackup status`: one screen for people and one object for monitoring, with exit codes that say
/// what is wrong: 0 OK, 4 no backup or the newest is too old, 5 the newest backup failed its last verify,
/// 6 the last drill failed (the first that applies, in that order).
public struct StatusReport: Sendable, Codable {
    public struct Backup: Sendable, Codable {
        public var file: String
        public var created: String
        public var ageSeconds: Double
        public var size: Int64
        /// nil: never verified.
        public var verified: Bool?
        public var verifiedAt: String?
    }

    public struct Drill: Sendable, Codable {
        public var time: String
        public var ok: Bool
        public var seconds: Double?
        public var reason: String?
    }

    public var newest: Backup?
    public var count: Int
    public var totalSize: Int64
    /// Offsite stores do not exist yet.
    public var lastOffsiteCopy: String?
    public var lastDrill: Drill?
    /// nil when the database server could not be asked.
    public var safetyCopies: [SafetyCopy]?
    public var lock: String?
    public var maxAgeSeconds: Double
    public var problems: [String]
    public var exitCode: Int32

    public static func gather(_ config: Configuration, maxAge: Double, now: Date = Date()) throws -> StatusReport {
        let directory = config.backupDirectory
        let catalog = try BackupCatalog.scan(directory)
        let records = History.read(directory: directory)
        var report = StatusReport(newest: nil, count: catalog.entries.count, totalSize: catalog.entries.reduce(0) { $0 + $1.size },
                                  lastOffsiteCopy: nil, lastDrill: nil,
                                  safetyCopies: try? SafetyCopies.list(DatabaseAdmin(config.postgres), live: config.postgres.database),
                                  lock: OperationLock.holder(directory: directory, connection: config.postgres),
                                  maxAgeSeconds: maxAge, problems: [], exitCode: 0)
        if let entry = catalog.entries.first {
            let verify = History.latest(.verify, for: entry.path, in: records)
            report.newest = Backup(file: entry.path, created: Format.iso8601(entry.created), ageSeconds: now.timeIntervalSince(entry.created),
                                   size: entry.size, verified: verify?.ok, verifiedAt: verify?.time)
        }
        if let drill = History.latest(.drill, in: records) {
            report.lastDrill = Drill(time: drill.time, ok: drill.ok, seconds: drill.seconds, reason: drill.reason)
        }
        var codes: [Int32] = []
        if let newest = report.newest {
            if newest.ageSeconds > maxAge {
                report.problems.append("the newest backup is \(Format.duration(newest.ageSeconds)) old (limit \(Format.duration(maxAge)))")
                codes.append(4)
            }
            if newest.verified == false {
                report.problems.append("the newest backup failed verification")
                codes.append(5)
            }
        } else {
            report.problems.append("no backup in \(directory)")
            codes.append(4)
        }
        if report.lastDrill?.ok == false {
            report.problems.append("the last drill failed: \(report.lastDrill?.reason ?? "")")
            codes.append(6)
        }
        report.exitCode = codes.min() ?? 0
        return report
    }

    public var text: String {
        var out = ""
        if let newest {
            let verified = newest.verified.map { $0 ? "verified \(newest.verifiedAt ?? "")" : "FAILED verification \(newest.verifiedAt ?? "")" } ?? "not verified"
            out += "newest backup:  \(newest.file)\n                \(Format.duration(newest.ageSeconds)) old, \(Format.bytes(newest.size)), \(verified)\n"
        } else {
            out += "newest backup:  none\n"
        }
        out += "backups:        \(count), \(Format.bytes(totalSize))\n"
        out += "offsite copy:   \(lastOffsiteCopy ?? "none (no offsite store configured)")\n"
        out += "last drill:     " + (lastDrill.map { $0.ok ? "OK \($0.time), restore took \(Format.duration($0.seconds ?? 0)) (RTO)" : "FAILED \($0.time): \($0.reason ?? "")" } ?? "never") + "\n"
        out += "safety copies:  " + (safetyCopies.map { $0.isEmpty ? "none" : $0.map(\.name).joined(separator: ", ") + " (dropped by prune after restore.safety_keep_hours)" } ?? "unknown (database unreachable)") + "\n"
        out += "lock:           \(lock ?? "free")\n"
        out += problems.isEmpty ? "status:         OK\n" : problems.map { "PROBLEM:        \($0)\n" }.joined()
        return out
    }
}
