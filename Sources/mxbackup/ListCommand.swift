import ArgumentParser
import Foundation
import MXBackupKit

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the backups in the backup directory, newest first (legacy files included).")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the listing as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            let config = try global.load()
            if let from = store.from {
                let stored = try Components(config.settings).store(from, console: global.console, manifestMessageID: store.manifestMessage).list()
                if json { try printJSON(stored); return }
                for backup in stored {
                    Console.writeOut("\(Format.localTime(backup.created))  \(Format.bytes(backup.manifest.file.size).padding(toLength: 10, withPad: " ", startingAt: 0))  \(backup.name)  sha256 \(backup.manifest.file.sha256)\n")
                }
                Console.writeOut("\(stored.count) backups in \(from)\n")
                return
            }
            let catalog = try BackupCatalog.scan(config.backupDirectory)
            // Safety copies live on the database server; the list still works when it is unreachable.
            let admin = DatabaseAdmin(config.postgres)
            let copies = Result { try SafetyCopies.list(admin, live: config.postgres.database) }
            let scratch = try? SafetyCopies.scratchDatabases(admin, live: config.postgres.database)
            let clones = CloneRecord.abandoned(directory: config.backupDirectory, live: config.postgres.database)
            let history = History.read(directory: config.backupDirectory)
            let verifications = catalog.entries.map { History.latest(.verify, for: $0.path, in: history) }
            if json {
                try printJSON(Listing(backups: zip(catalog.entries, verifications).map(ListedBackup.init),
                                      safetyBackups: catalog.safetyBackups.map { ListedBackup($0, nil) },
                                      safetyCopies: try? copies.get(), scratchDatabases: scratch,
                                      interruptedClones: clones.compactMap { $0.content?.database }))
                return
            }
            defer {
                let keepHours = config.settings.restore.safetyKeepHours
                for entry in catalog.safetyBackups {
                    Console.writeOut("safety backup (file): \(entry.path), the live database before a restore, from \(Format.localTime(entry.created)); not a backup to restore as latest; 'mxbackup prune' deletes it after \(keepHours)h\n")
                }
                printSafetyCopies(copies, keepHours: keepHours)
                let running = scratch?.isEmpty == false ? OperationLock.holder(directory: config.backupDirectory, connection: config.postgres) : nil
                for name in scratch ?? [] {
                    let recorded = RestoreState.load(RestoreState.path(directory: config.backupDirectory, database: config.postgres.database))?.scratch == name
                    Console.writeOut("scratch database of a restore: \(name); " + (running.map { "a run holds the lock (\($0))\n" }
                        ?? (recorded ? "left by an interrupted restore: 'mxbackup restore --resume-cleanup' drops it\n"
                                     : "no interrupted restore recorded it: DROP DATABASE it if it is not yours\n")))
                }
                for partial in catalog.partials {
                    let writing = partial.path.hasSuffix(".partial") && !FileSink.isAbandoned(partial.path)
                    Console.writeOut(writing ? "being written by a running mxbackup: \(partial.path)\n"
                        : "leftover of an interrupted run: \(partial.path) (\(Format.localTime(partial.modified))); the next backup or 'mxbackup restore --resume-cleanup' removes it\n")
                }
                if let leftover = RestoreState.leftoverWarning(directory: config.backupDirectory, database: config.postgres.database) {
                    Console.writeOut(leftover + "\n")
                }
                for (path, record) in clones { Console.writeOut("interrupted clone: " + CloneRecord.leftoverLine(record, path: path) + "\n") }
            }
            guard !catalog.entries.isEmpty else {
                Console.writeOut("no backups in \(config.backupDirectory)\n")
                return
            }
            var rows = [["CREATED", "SIZE", "COMPRESSION", "ENCRYPTION", "MANIFEST", "VERIFIED", "FILE"]]
            for (entry, verify) in zip(catalog.entries, verifications) {
                let verified = verify.map { $0.ok ? ($0.date.map(Format.localTime) ?? "yes") : "FAILED" } ?? "-"
                rows.append([Format.localTime(entry.created), Format.bytes(entry.size), entry.compression.rawValue,
                             entry.encryptionDescription,
                             entry.isLegacy ? "legacy (none)" : "yes", verified, entry.path])
            }
            let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                let padded = row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                Console.writeOut(padded.joined(separator: "  ") + "\n")
            }
            let total = catalog.entries.reduce(Int64(0)) { $0 + $1.size }
            Console.writeOut("\(catalog.entries.count) backups, \(Format.bytes(total)) in \(config.backupDirectory)\n")
        }
    }

    private func printSafetyCopies(_ copies: Result<[SafetyCopy], Error>, keepHours: Int) {
        switch copies {
        case .success(let list):
            for copy in list {
                Console.writeOut("safety copy (\(copy.schemaOf.map { "schema in \($0)" } ?? "database")): \(copy.name), \(copy.kind.replacingOccurrences(of: "_", with: " ")) from \(Format.localTime(copy.created)); 'mxbackup prune' drops it after \(keepHours)h\n")
            }
        case .failure(let error):
            Console.writeOut("safety copies: not shown (\((error as? MXError)?.message ?? "\(error)"))\n")
        }
    }
}

struct Listing: Encodable {
    var backups: [ListedBackup]
    /// Restores' safety backups of the live database (`synapse_db_safety_*`): not backups to restore as latest.
    var safetyBackups: [ListedBackup]
    /// nil when the database server could not be asked.
    var safetyCopies: [SafetyCopy]?
    /// Restores' scratch databases (leftovers unless a restore runs); nil when the server could not be asked.
    var scratchDatabases: [String]?
    /// Databases interrupted drills and `--target-db` restores created (CloneRecord): `--resume-cleanup` drops them.
    var interruptedClones: [String]
}

/// The same keys for every file: what a legacy file lacks is null (or false), never missing.
struct ListedBackup: Encodable {
    var file: String
    var created: String
    var size: Int64
    var compression: String
    var encrypted: Bool
    /// "gpg" or "none", as the text listing says.
    var encryption: String
    /// Fingerprints it is encrypted to; null when not known (legacy, symmetric, unencrypted).
    var recipients: [String]?
    var legacy: Bool
    var manifest: String?
    var sha256: String?
    var serverName: String?
    var schemaVersion: Int?
    /// The last verify's verdict; false when never verified.
    var verified: Bool
    var verifiedAt: String?
    /// "safety" for a restore's safety backup.
    var purpose: String?

    init(_ entry: BackupEntry, _ verify: HistoryRecord?) {
        verified = verify?.ok ?? false
        verifiedAt = verify?.time
        file = entry.path
        created = Format.iso8601(entry.created)
        size = entry.size
        compression = entry.compression.rawValue
        encrypted = entry.encrypted
        encryption = entry.encryption
        recipients = entry.recipients
        legacy = entry.isLegacy
        manifest = entry.manifestPath
        sha256 = entry.manifest?.file.sha256
        serverName = entry.manifest?.serverName
        schemaVersion = entry.manifest?.schemaVersion
        purpose = entry.kind == .safety ? Manifest.safetyPurpose : nil
    }

    enum CodingKeys: String, CodingKey {
        case file, created, size, compression, encrypted, encryption, recipients, legacy, manifest, sha256, serverName, schemaVersion, verified, verifiedAt, purpose
    }

    /// Written by hand because the synthesized encoder leaves nil keys out.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(created, forKey: .created)
        try c.encode(size, forKey: .size)
        try c.encode(compression, forKey: .compression)
        try c.encode(encrypted, forKey: .encrypted)
        try c.encode(encryption, forKey: .encryption)
        try c.encode(recipients, forKey: .recipients)
        try c.encode(legacy, forKey: .legacy)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(serverName, forKey: .serverName)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(verified, forKey: .verified)
        try c.encode(verifiedAt, forKey: .verifiedAt)
        try c.encodeIfPresent(purpose, forKey: .purpose)
    }
}
