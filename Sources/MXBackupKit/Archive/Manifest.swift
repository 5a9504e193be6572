import Foundation

/// `NAME.manifest.json`, written beside each backup. It holds no secrets: only what is needed to
/// check the backup (size, SHA-256) and to judge a restore (Synapse schema, server_name, row counts).
public struct Manifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    public struct Counts: Codable, Sendable, Equatable {
        public var users: Int64
        public var rooms: Int64
        public var events: Int64
        public var localMediaRepository: Int64
    }

    public struct EncryptionInfo: Codable, Sendable, Equatable {
        /// "none", "recipients" or "symmetric"
        public var mode: String
        public var recipients: [String]
    }

    public struct FileInfo: Codable, Sendable, Equatable {
        public var name: String
        public var size: Int64
        public var sha256: String
    }

    public var manifestFormat: Int
    public var mxbackupVersion: String
    public var createdAt: String
    public var host: String
    public var database: String
    public var serverVersion: String
    public var pgDumpVersion: String
    public var schemaVersion: Int?
    public var schemaCompatVersion: Int?
    public var serverName: String?
    public var rowCounts: Counts
    /// Rows of every table in the dump, by qualified name.
    public var tableRows: [String: Int64]
    public var maxStreamOrdering: Int64?
    public var databaseSize: Int64
    public var dumpFormat: String
    /// Bytes of SQL before compression.
    public var dumpSize: Int64
    /// Tables whose rows were left out on purpose.
    public var excludedTableData: [String]
    public var compression: String
    public var compressionLevel: Int
    public var encryption: EncryptionInfo
    public var file: FileInfo
    /// "safety": a restore's safety backup of the live database, not a backup to keep, push or restore
    /// as `latest`. Absent for an ordinary backup (and in manifests older than the field).
    public var purpose: String? = nil
    /// Schemas left out of the dump (pg_dump patterns): a restore's own safety copies inside the database.
    public var excludedSchemas: [String]? = nil

    public static let safetyPurpose = "safety"

    public static func path(forBackup path: String) -> String { BackupName.stem(of: path) + ".manifest.json" }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    public static func read(_ path: String) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MXError.failed("\(path): cannot read the manifest")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(Manifest.self, from: data)
        } catch {
            throw MXError.failed("\(path): not a valid mxbackup manifest: \(error)")
        }
    }
}
