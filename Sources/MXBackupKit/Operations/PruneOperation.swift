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

    public let directory: String
    public let policy: RetentionPolicy
    public let console: Console

    public init(directory: String, policy: RetentionPolicy, console: Console) {
        self.directory = directory
        self.policy = policy
        self.console = console
    }

    public func plan(now: Date = Date()) throws -> (decisions: [Decision], leftovers: [String]) {
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
        return (decisions, leftovers)
    }

    /// Deletes what `plan` says may go; returns the plan.
    public func run(dryRun: Bool, now: Date = Date()) throws -> (decisions: [Decision], leftovers: [String]) {
        let result = try plan(now: now)
        guard !dryRun else { return result }
        for decision in result.decisions where !decision.keep {
            try remove(decision.path)
            let manifest = Manifest.path(forBackup: decision.path)
            if FileManager.default.fileExists(atPath: manifest) { try remove(manifest) }
        }
        for leftover in result.leftovers { try remove(leftover) }
        return result
    }

    private func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw MXError.failed("\(path): cannot delete: \(Format.errno(errno))")
        }
    }
}
