import Foundation

/// `mxbackup prune`: applies the retention policy to the backup directory.
///
/// Never deletes the newest backup whose manifest checksum matches its file (so a broken policy or a
/// run of failed backups can never leave zero good backups); deletes a manifest with its backup;
/// removes leftovers (`.partial` files, orphan manifests) older than a day (younger ones may belong to a running backup).
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
        /// Safety-copy databases older than `restore.safety_keep_hours`.
        public var expiredCopies: [SafetyCopy]
    }

    /// Where the safety copies of restores live, and how long they are kept.
    public struct SafetyCopyPolicy {
        public var admin: DatabaseAdmin
        public var live: String
        public var keepHours: Int

        public init(admin: DatabaseAdmin, live: String, keepHours: Int) {
            self.admin = admin
            self.live = live
            self.keepHours = keepHours
        }
    }

    public let directory: String
    public let policy: RetentionPolicy
    public let safetyCopies: SafetyCopyPolicy?
    public let console: Console

    public init(directory: String, policy: RetentionPolicy, safetyCopies: SafetyCopyPolicy?, console: Console) {
        self.directory = directory
        self.policy = policy
        self.safetyCopies = safetyCopies
        self.console = console
    }

    public func plan(now: Date = Date()) throws -> Plan {
        guard !policy.isEmpty else {
            throw MXError.configuration("no retention policy: set retention.keep_days (or BACKUP_RETENTION_DAYS in --env-file) or keep_last/keep_daily/keep_weekly/keep_monthly, or pass --keep-days")
        }
        let catalog = try BackupCatalog.scan(directory)
        var reasons = policy.reasons(for: catalog.entries.map(\.created), now: now)
        // entries are newest first: protect the first one whose checksum is right.
        for (index, entry) in catalog.entries.enumerated() {
            guard let manifest = entry.manifest else { continue }
            if manifest.file.size == entry.size, (try? SHA256Hasher.hex(of: entry.path)) == manifest.file.sha256 {
                reasons[index].append("newest verified backup")
                break
            }
            console.warn("\(entry.path): does not match its manifest's size/checksum")
        }
        let decisions = catalog.entries.enumerated().map { index, entry in
            Decision(path: entry.path, created: entry.created, size: entry.size, keep: !reasons[index].isEmpty, reasons: reasons[index])
        }
        let dayAgo = now.addingTimeInterval(-86400)
        let leftovers = catalog.partials.filter { $0.modified < dayAgo }.map(\.path)
        var expired: [SafetyCopy] = []
        if let safetyCopies {
            do {
                let cutoff = now.addingTimeInterval(-Double(safetyCopies.keepHours) * 3600)
                expired = try SafetyCopies.list(safetyCopies.admin, live: safetyCopies.live).filter { $0.created < cutoff }
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
        guard !dryRun else { return result }
        FaultPoint.reached("prune: delete backups")
        for decision in result.decisions where !decision.keep {
            try remove(decision.path)
            let manifest = Manifest.path(forBackup: decision.path)
            if FileManager.default.fileExists(atPath: manifest) { try remove(manifest) }
        }
        for leftover in result.leftovers { try remove(leftover) }
        FaultPoint.reached("prune: drop safety copies")
        for copy in result.expiredCopies { try safetyCopies?.admin.drop(copy.name) }
        return result
    }

    private func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw MXError.failed("\(path): cannot delete: \(Format.errno(errno))")
        }
    }
}
