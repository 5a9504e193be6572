import Foundation

/// `mxbackup prune`: applies the retention policy to the backup directory.
///
/// Only this database's backups are candidates: files named like a backup (`BackupName.parse`) whose
/// manifest, if any, names this database; anything else in the directory is never touched. Never deletes
/// the newest backup whose manifest checksum matches its file, or without one the newest legacy file verify
/// read to its end, or without that any legacy file that may be good (so a broken policy or a run of failed
/// backups can never leave zero good backups); files that cannot be backups (`BackupEntry.implausibility`)
/// or failed their last verify never count towards keep_last; deletes a manifest with its backup; removes leftovers (`.partial`
/// files, orphan manifests) older than a day (younger ones may belong to a running backup). Restores' safety
/// copies (safety backup files, databases, schemas) go after `restore.safety_keep_hours`.
public struct PruneOperation {
    public struct Decision: Sendable, Encodable {
        public var path: String
        public var created: Date
        public var size: Int64
        public var keep: Bool
        public var reasons: [String]
    }

    public struct Plan: Sendable {
        public var decisions: [Decision]
        public var leftovers: [String]
        /// Safety-copy databases and schemas older than `restore.safety_keep_hours`.
        public var expiredCopies: [SafetyCopy]
    }

    public let directory: String
    public let database: String
    public let policy: RetentionPolicy
    public let safetyKeepHours: Int
    /// Where the safety copies of restores live (nil: only files are pruned).
    public let server: DatabaseAdmin?
    public let console: Console

    public init(directory: String, database: String, policy: RetentionPolicy, safetyKeepHours: Int, server: DatabaseAdmin?, console: Console) {
        self.directory = directory
        self.database = database
        self.policy = policy
        self.safetyKeepHours = safetyKeepHours
        self.server = server
        self.console = console
    }

    public func plan(now: Date = Date()) throws -> Plan {
        guard !policy.isEmpty else {
            throw MXError.configuration("no retention policy: set retention.keep_days (or BACKUP_RETENTION_DAYS in --env-file) or keep_last/keep_daily/keep_weekly/keep_monthly, or pass --keep-days")
        }
        let catalog = try BackupCatalog.scan(directory)
        let mine = { (entry: BackupEntry) in entry.manifest.map { $0.database == database } ?? true }
        let entries = catalog.entries.filter(mine)
        let records = History.read(directory: directory)
        let verified = entries.map { History.latest(.verify, for: $0.path, in: records)?.ok }
        var reasons = policy.reasons(for: entries.map(\.created), lastWritten: entries.map(\.modified),
                                     countable: entries.indices.map { entries[$0].implausibility == nil && verified[$0] != false }, now: now)
        // entries are newest first: protect the first one whose checksum is right.
        var protected = false
        for (index, entry) in entries.enumerated() {
            guard let manifest = entry.manifest else { continue }
            if manifest.file.size == entry.size, (try? SHA256Hasher.hex(of: entry.path)) == manifest.file.sha256 {
                reasons[index].append("newest verified backup")
                protected = true
                break
            }
            console.warn("\(entry.path): does not match its manifest's size/checksum")
        }
        // A legacy file is proved only by a read to its end (verify; adopt gives it a manifest). Without any
        // proved backup, a truncated file could be the one kept: then no legacy file that may be good goes.
        if !protected {
            if let index = entries.indices.first(where: { entries[$0].isLegacy && verified[$0] == true && entries[$0].implausibility == nil }) {
                reasons[index].append("newest legacy backup that verify read to its end")
            } else {
                let unproved = entries.indices.filter { entries[$0].isLegacy && entries[$0].implausibility == nil && verified[$0] == nil }
                for index in unproved { reasons[index].append("no backup here is proved readable yet") }
                if !unproved.isEmpty {
                    console.warn("no backup in \(directory) is proved readable: legacy files are kept until 'mxbackup adopt --all' (or verify) reads one to its end")
                }
            }
        }
        for entry in entries {
            if let why = entry.implausibility { console.warn("\(entry.path): \(why): not counted as a backup") }
        }
        var decisions = entries.enumerated().map { index, entry in
            Decision(path: entry.path, created: entry.created, size: entry.size, keep: !reasons[index].isEmpty, reasons: reasons[index])
        }
        let cutoff = now.addingTimeInterval(-Double(safetyKeepHours) * 3600)
        let pending = RestoreState.load(RestoreState.path(directory: directory, database: database))?.safetyBackup
        for entry in catalog.safetyBackups.filter(mine) {
            var why: [String] = []
            if entry.created >= cutoff { why.append("safety backup of a restore, kept \(safetyKeepHours)h") }
            if let pending, (pending as NSString).standardizingPath == (entry.path as NSString).standardizingPath {
                why.append("named by an interrupted restore's state file")
            }
            decisions.append(Decision(path: entry.path, created: entry.created, size: entry.size, keep: !why.isEmpty, reasons: why))
        }
        let dayAgo = now.addingTimeInterval(-86400)
        let leftovers = catalog.partials.filter { $0.modified < dayAgo && (!$0.path.hasSuffix(".partial") || FileSink.isAbandoned($0.path)) }.map(\.path)
        var expired: [SafetyCopy] = []
        if let server {
            do {
                expired = try SafetyCopies.list(server, live: database).filter { $0.created < cutoff }
            } catch {
                console.warn("safety copies not pruned: \((error as? MXError)?.message ?? "\(error)")")
            }
        }
        return Plan(decisions: decisions, leftovers: leftovers, expiredCopies: expired)
    }

    /// Deletes what `plan` says may go; returns the plan.
    public func run(dryRun: Bool, now: Date = Date()) throws -> Plan {
        FaultPoint.reached("prune: plan")
        let result = try plan(now: now)
        // A signal during the plan may have cut its look at the server short: stop rather than prune half.
        try Interrupts.shared.checkpoint()
        guard !dryRun else { return result }
        FaultPoint.reached("prune: delete backups")
        for decision in result.decisions where !decision.keep {
            try remove(decision.path)
            let manifest = Manifest.path(forBackup: decision.path)
            if FileManager.default.fileExists(atPath: manifest) { try remove(manifest) }
        }
        for leftover in result.leftovers { try remove(leftover) }
        try Interrupts.shared.checkpoint()
        FaultPoint.reached("prune: drop safety copies")
        if let server {
            for copy in result.expiredCopies { try SafetyCopies.drop(copy, server) }
        }
        return result
    }

    private func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw MXError.failed("\(path): cannot delete: \(Format.errno(errno))")
        }
    }
}
