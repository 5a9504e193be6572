import Foundation

/// `mxbackup status`: one screen for people and one object for monitoring, with exit codes that say
/// what is wrong: 7 an interrupted restore waits for `restore --resume-cleanup` (Synapse may be stopped; before
/// all others), else 4 no backup or the newest is too old, 5 the newest backup failed its last verify or cannot be one (empty, too small),
/// 6 the last drill failed (the first that applies, in that order), else 0 OK.
public struct StatusReport: Sendable, Codable {
    public struct Backup: Sendable, Codable {
        public var file: String
        public var created: String
        /// Never negative: a backup dated in the future is 0 s old (and named in `warnings`).
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

    /// The offsite copies, from the index this machine keeps of the store after each push
    /// (`telegram-index.json`): status asks no remote server.
    public struct Offsite: Sendable, Codable {
        public var store: String
        public var count: Int
        public var newest: String?
        public var newestSentAt: String?
        /// nil when there is no local backup to look for.
        public var newestLocalIsOffsite: Bool?
    }

    public var newest: Backup?
    public var count: Int
    public var totalSize: Int64
    /// nil when no offsite store is configured.
    public var offsite: Offsite?
    public var lastDrill: Drill?
    /// nil when the database server could not be asked.
    public var safetyCopies: [SafetyCopy]?
    /// Restores' scratch databases; nil when the database server could not be asked.
    public var scratchDatabases: [String]?
    /// What an interrupted restore left (its state file), and what to run.
    public var interruptedRestore: String?
    public var lock: String?
    public var maxAgeSeconds: Double
    public var problems: [String]
    /// Worth knowing, not failing: a backup dated in the future, say.
    public var warnings: [String] = []
    public var exitCode: Int32

    /// Exit code of an interrupted restore.
    public static let interruptedRestoreCode: Int32 = 7

    public static func gather(_ config: Configuration, maxAge: Double, now: Date = Date()) throws -> StatusReport {
        let directory = config.backupDirectory
        let catalog = try BackupCatalog.scan(directory)
        let records = History.read(directory: directory)
        let live = config.postgres.database
        let admin = DatabaseAdmin(config.postgres)
        var report = StatusReport(newest: nil, count: catalog.entries.count, totalSize: catalog.entries.reduce(0) { $0 + $1.size },
                                  offsite: nil, lastDrill: nil,
                                  safetyCopies: try? SafetyCopies.list(admin, live: live),
                                  scratchDatabases: try? SafetyCopies.scratchDatabases(admin, live: live),
                                  interruptedRestore: RestoreState.leftoverWarning(directory: directory, database: live),
                                  lock: OperationLock.holder(directory: directory, connection: config.postgres),
                                  maxAgeSeconds: maxAge, problems: [], exitCode: 0)
        var codes: [Int32] = []
        let interrupted = report.interruptedRestore != nil
        if let entry = catalog.entries.first {
            let verify = History.latest(.verify, for: entry.path, in: records)
            report.newest = Backup(file: entry.path, created: Format.iso8601(entry.created), ageSeconds: entry.age(now: now),
                                   size: entry.size, verified: verify?.ok, verifiedAt: verify?.time)
            if let dating = entry.datingProblem(now: now) { report.warnings.append("the newest backup \(entry.name): \(dating)") }
        }
        report.offsite = offsite(config, newestLocal: catalog.entries.first?.name)
        if config.settings.backup.offsite.contains("telegram"), report.offsite?.newestLocalIsOffsite == false, let name = catalog.entries.first?.name {
            report.warnings.append("the newest backup \(name) is not offsite (backup.offsite: [telegram]): 'mxbackup push' sends it")
        }
        if let interrupted = report.interruptedRestore { report.problems.append(interrupted) }
        // A scratch database an interrupted restore recorded is covered by its state file; one nothing recorded
        // may be the operator's own, so it is named, never claimed.
        let recorded = RestoreState.load(RestoreState.path(directory: directory, database: live))?.scratch
        if report.lock == nil, let unrecorded = report.scratchDatabases?.filter({ $0 != recorded }), !unrecorded.isEmpty {
            report.warnings.append("\(unrecorded.joined(separator: ", ")) named like a restore's scratch database, but no interrupted restore recorded it: DROP DATABASE it if it is not yours")
        }
        for (path, record) in CloneRecord.abandoned(directory: directory, live: live) {
            report.warnings.append(CloneRecord.leftoverLine(record, path: path))
        }
        if let drill = History.latest(.drill, in: records) {
            report.lastDrill = Drill(time: drill.time, ok: drill.ok, seconds: drill.seconds, reason: drill.reason)
        }
        if let newest = report.newest {
            if newest.ageSeconds > maxAge {
                report.problems.append("the newest backup is \(Format.duration(newest.ageSeconds)) old (limit \(Format.duration(maxAge)))")
                codes.append(4)
            }
            if newest.verified == false {
                report.problems.append("the newest backup failed verification")
                codes.append(5)
            }
            if let why = catalog.entries.first?.implausibility {
                report.problems.append("the newest backup \(newest.file) is \(why): it cannot restore; check the job that writes it")
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
        report.exitCode = interrupted ? Self.interruptedRestoreCode : codes.min() ?? 0
        return report
    }

    private static func offsite(_ config: Configuration, newestLocal: String?) -> Offsite? {
        let telegram = config.settings.telegram
        guard config.settings.backup.offsite.contains("telegram") || (telegram.botToken != nil && telegram.chatID != nil) else { return nil }
        let index = FileManager.default.contents(atPath: TelegramStore.indexPath(config.backupDirectory))
            .flatMap { try? TelegramManifest.decode($0) }?.index ?? []
        return Offsite(store: "telegram chat \(telegram.chatID ?? "?")", count: index.count, newest: index.first?.name,
                       newestSentAt: index.first.map { Format.iso8601(Date(timeIntervalSince1970: Double($0.sentAt))) },
                       newestLocalIsOffsite: newestLocal.map { name in index.contains { $0.name == name } })
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
        if let offsite {
            out += "offsite:        \(offsite.store): " + (offsite.newest.map { "\(offsite.count) backup\(offsite.count == 1 ? "" : "s"), newest \($0) (sent \(offsite.newestSentAt ?? "?"))" }
                ?? "none pushed from this machine ('mxbackup list --from telegram' asks the chat)") + "\n"
        } else {
            out += "offsite:        none (no offsite store configured)\n"
        }
        out += "last drill:     " + (lastDrill.map { $0.ok ? "OK \($0.time), restore took \(Format.duration($0.seconds ?? 0)) (RTO)" : "FAILED \($0.time): \($0.reason ?? "")" } ?? "never") + "\n"
        out += "safety copies:  " + (safetyCopies.map { $0.isEmpty ? "none" : $0.map(\.name).joined(separator: ", ") + " (dropped by prune after restore.safety_keep_hours)" } ?? "unknown (database unreachable)") + "\n"
        if let scratchDatabases, !scratchDatabases.isEmpty { out += "scratch:        \(scratchDatabases.joined(separator: ", "))\n" }
        out += "lock:           \(lock ?? "free")\n"
        out += warnings.map { "WARNING:        \($0)\n" }.joined()
        out += problems.isEmpty ? "status:         OK\n" : problems.map { "PROBLEM:        \($0)\n" }.joined()
        return out
    }
}
