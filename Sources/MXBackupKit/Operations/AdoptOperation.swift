import Foundation

/// `mxbackup adopt`: makes a backup of the legacy scripts a first-class backup by proving it and writing
/// its manifest. The whole file is read (every layer to its end, a complete pg_dump, a Synapse database)
/// before anything is written; the manifest then records what the read found, with the file's SHA-256, so
/// verify, push, prune's protection of the newest good backup and restore treat it like one of mxbackup's.
/// A file that fails is refused and nothing is written for it.
public struct AdoptOperation {
    public struct Outcome: Sendable, Encodable {
        public enum Status: String, Sendable, Encodable { case adopted, alreadyAdopted = "already adopted", refused }
        public var file: String
        public var status: Status
        /// What was proved, or why it was refused.
        public var detail: String
        public var sha256: String?
    }

    public let directory: String
    public let gpg: GPG
    public let passphrase: String?
    /// Where pg_restore runs for a custom-format dump; also names the database the backups are of.
    public let connection: PostgresConnection
    /// `synapse.server_name`, for a dump whose users table is empty.
    public let serverName: String?
    public let console: Console

    public init(directory: String, gpg: GPG, passphrase: String?, connection: PostgresConnection, serverName: String?, console: Console) {
        self.directory = directory
        self.gpg = gpg
        self.passphrase = passphrase
        self.connection = connection
        self.serverName = serverName
        self.console = console
    }

    /// Adopts `files`, or with `all` every backup in the directory that has no manifest (none left is no
    /// outcome, not an error: a second run finds nothing to do). Takes the
    /// directory's lock (so prune cannot delete a file while it is read), not the database's: no database
    /// is needed.
    public func run(files: [String], all: Bool, commandLine: String) throws -> [Outcome] {
        FaultPoint.reached("adopt: lock")
        guard FileManager.default.fileExists(atPath: directory) else {
            throw MXError.refused("backup.dir \(directory) does not exist: nothing to adopt (point backup.dir or --dir at the scripts' backups directory)")
        }
        let lock = try OperationLock(directory: directory, connection: connection, command: commandLine, databaseLock: false)
        defer { lock.release() }
        let catalog = try BackupCatalog.scan(directory)
        var targets = files
        if all { targets += catalog.entries.filter(\.isLegacy).map(\.path).reversed() }
        guard all || !targets.isEmpty else { throw MXError.configuration("adopt: name the files to adopt, or pass --all") }
        var outcomes: [Outcome] = []
        for path in targets {
            let outcome: Outcome
            do {
                outcome = try adopt(path, catalog: catalog)
            } catch let error as MXError where error.kind == .refused {
                outcome = Outcome(file: path, status: .refused, detail: Self.stripping(path, from: error.message), sha256: nil)
            }
            outcomes.append(outcome)
            try Interrupts.shared.checkpoint()
        }
        return outcomes
    }

    private func adopt(_ path: String, catalog: BackupCatalog) throws -> Outcome {
        let name = (path as NSString).lastPathComponent
        guard let parsed = BackupName.parse(name), parsed.kind == .backup else {
            throw MXError.refused("\(path): not named like a backup (synapse_db_YYYYMMDD_HHMMSS.sql.gz[.gpg]): only such files are listed and pruned; rename it")
        }
        guard BackupDirectory.holds(path, directory: directory) else {
            throw MXError.refused("\(path): not in the backup directory \(directory): move it there first (backups are listed, pruned and pushed from there)")
        }
        let manifestPath = Manifest.path(forBackup: path)
        if FileManager.default.fileExists(atPath: manifestPath) {
            return Outcome(file: path, status: .alreadyAdopted, detail: "already has its manifest \(manifestPath): nothing to do", sha256: nil)
        }
        guard let entry = catalog.entries.first(where: { $0.name == name }), let before = Self.stamp(path) else {
            throw MXError.refused("\(path): no such backup file")
        }

        FaultPoint.reached("adopt: read")
        console.info("reading \(path) (\(Format.bytes(entry.size))) to the end")
        let inspection = try BackupInspection.inspect(try .file(path), gpg: gpg, passphrase: passphrase, connection: connection)
        let missing = BackupVerifier.synapseTables.filter { inspection.tableRows[$0] == nil }
        guard missing.isEmpty else {
            throw MXError.refused("\(path): not a complete Synapse dump (no \(missing.joined(separator: ", "))): not adopted")
        }
        // The manifest must describe the bytes that were read: a file the scripts were still writing is refused.
        guard let after = Self.stamp(path), after == before, inspection.size == before.size else {
            throw MXError.refused("\(path): changed while it was read (is a backup script still writing it?): run adopt again once it is finished")
        }
        let encryption = inspection.layers.contains(.gpg) ? try gpg.encryptionInfo(head: try Self.head(of: path)) : .init(mode: "none", recipients: [])
        let compression: Compression = inspection.layers.contains(.zstd) ? .zstd : inspection.layers.contains(.gzip) ? .gzip : .none
        let rows = inspection.tableRows
        let manifest = Manifest(
            manifestFormat: Manifest.currentFormat, mxbackupVersion: MXBackupVersion.current,
            createdAt: Format.iso8601(entry.created), host: ProcessInfo.processInfo.hostName,
            database: connection.database,
            serverVersion: inspection.dumpedFrom ?? "unknown", pgDumpVersion: inspection.dumpedBy ?? "unknown",
            schemaVersion: inspection.schemaVersion, schemaCompatVersion: inspection.schemaCompatVersion,
            serverName: inspection.serverName ?? serverName,
            rowCounts: .init(users: rows["public.users"] ?? 0, rooms: rows["public.rooms"] ?? 0, events: rows["public.events"] ?? 0,
                             localMediaRepository: rows["public.local_media_repository"] ?? 0),
            tableRows: rows, maxStreamOrdering: inspection.maxStreamOrdering,
            // The size of the database it came from is unknown: restore's disk check then uses twice the SQL.
            databaseSize: inspection.sqlBytes * 2,
            dumpFormat: inspection.layers.contains(.custom) ? "custom" : "plain", dumpSize: inspection.sqlBytes,
            // The scripts dumped every table's rows, one-time keys included (restore empties them anyway).
            excludedTableData: [],
            compression: compression.rawValue, compressionLevel: compression == .none ? 0 : compression.defaultLevel,
            encryption: encryption,
            file: .init(name: name, size: inspection.size, sha256: inspection.sha256))
        try Interrupts.shared.checkpoint()
        FaultPoint.reached("adopt: manifest")
        try FileSink.writeAtomically(try manifest.encoded(), to: manifestPath)
        do {
            try History.append(HistoryRecord(kind: .verify, file: path, sha256: inspection.sha256, ok: true, reason: nil), directory: directory)
        } catch { console.warn("history: \(error)") }
        let detail = "\(inspection.layers.map(\.rawValue).joined(separator: " > ")), \(Format.bytes(inspection.sqlBytes)) of SQL, complete, "
            + "\(rows.count) tables, schema \(inspection.schemaVersion.map(String.init) ?? "?"), server_name \(manifest.serverName ?? "unknown"); manifest \(manifestPath)"
        return Outcome(file: path, status: .adopted, detail: detail, sha256: inspection.sha256)
    }

    /// Size and modification time, to tell whether a file changed while it was read.
    private struct Stamp: Equatable {
        var size: Int64
        var modified: Date
    }

    private static func stamp(_ path: String) -> Stamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.int64Value, let modified = attributes[.modificationDate] as? Date else { return nil }
        return Stamp(size: size, modified: modified)
    }

    /// The first bytes of a file: enough for an OpenPGP message's session-key packets.
    private static func head(of path: String) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw MXError.failed("\(path): cannot read") }
        defer { try? handle.close() }
        return try handle.read(upToCount: 64 * 1024) ?? Data()
    }

    private static func stripping(_ path: String, from message: String) -> String {
        message.hasPrefix(path + ": ") ? String(message.dropFirst(path.count + 2)) : message
    }
}
