import Foundation

/// Where backups are kept: the local backup directory, a Telegram chat, (later) S3. Every store
/// implements these four operations and passes the same conformance suite; retries, logging and
/// limits are wrappers around any store (`RetryingStore`), not code inside each one.
///
/// A stored backup is the backup file's exact bytes plus its manifest; names are the backup file names
/// (`synapse_db_YYYYMMDD_HHMMSS.sql.zst.gpg`).
public protocol BackupStore: Sendable {
    /// For messages: "telegram chat -100123", "directory /srv/backups".
    var description: String { get }

    /// Stores the backup at `path` with its manifest. Idempotent: calling it again after a failure
    /// resumes (or redoes) the upload, and a backup already stored completely is not sent again.
    func put(path: String, manifest: Manifest) throws

    /// The backups kept in the store, newest first.
    func list() throws -> [StoredBackup]

    /// Streams a backup's bytes; the stream fails if they do not match the store's checksums.
    func open(_ name: String) throws -> ByteSource

    /// Removes a backup where the store allows it; returns false when it cannot (and says why in `note`).
    func delete(_ name: String) throws -> (deleted: Bool, note: String?)
}

public struct StoredBackup: Sendable, Codable, Equatable {
    public var name: String
    public var manifest: Manifest

    public init(name: String, manifest: Manifest) {
        self.name = name
        self.manifest = manifest
    }

    public var created: Date { Format.parseISO8601(manifest.createdAt) ?? .distantPast }
}

/// Errors a store reports, so that `RetryingStore` knows what may be retried.
public enum StoreError: Error, Sendable {
    /// Try again after this many seconds (Telegram's 429 `retry_after`).
    case rateLimited(seconds: Double, message: String)
    /// A timeout, a dropped connection, a 5xx: may work on retry.
    case transient(String)
    /// Will not work by retrying (bad token, chat not found, too large, hash mismatch).
    case permanent(String)

    public var message: String {
        switch self {
        case .rateLimited(_, let m), .transient(let m), .permanent(let m): return m
        }
    }
}
