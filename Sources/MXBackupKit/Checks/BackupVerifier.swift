import Foundation

/// `mxbackup verify`: every check that needs no database. A file passes when it decrypts and
/// decompresses to its very end, is a complete pg_dump with Synapse's tables, and matches its manifest.
public struct BackupVerifier {
    public struct Verdict: Sendable, Codable {
        public var file: String
        public var ok: Bool
        /// OK: what was proved (and what could not be); FAILED: why.
        public var detail: String
        public var sha256: String?
    }

    /// The tables every Synapse database has; a dump without them is not a usable Synapse backup.
    public static let synapseTables = ["public.schema_version", "public.users", "public.rooms", "public.events",
                                       "public.event_json", "public.room_memberships", "public.state_groups_state"]

    public let gpg: GPG
    public let passphrase: String?
    public let connection: PostgresConnection

    public init(gpg: GPG, passphrase: String?, connection: PostgresConnection) {
        self.gpg = gpg
        self.passphrase = passphrase
        self.connection = connection
    }

    public func verify(_ path: String) -> Verdict {
        // Only the legacy scripts made files without a manifest, and they never made zstd: a zstd backup
        // without its manifest has lost the checksum that proves it.
        let hasManifest = FileManager.default.fileExists(atPath: Manifest.path(forBackup: path))
        if !hasManifest, path.contains(".sql.zst") {
            return Verdict(file: path, ok: false, detail: "its manifest \(Manifest.path(forBackup: path)) is missing: the checksum cannot be checked", sha256: nil)
        }
        do {
            return verify(try .file(path))
        } catch {
            return Verdict(file: path, ok: false, detail: (error as? MXError)?.message ?? "\(error)", sha256: nil)
        }
    }

    /// A backup from any source: a local file or a store's stream.
    public func verify(_ source: BackupSource) -> Verdict {
        let path = source.name
        do {
            let inspection = try BackupInspection.inspect(source, gpg: gpg, passphrase: passphrase, connection: connection)
            let missing = Self.synapseTables.filter { inspection.tableRows[$0] == nil }
            guard missing.isEmpty else {
                return Verdict(file: path, ok: false, detail: "not a complete Synapse dump: no \(missing.joined(separator: ", "))", sha256: inspection.sha256)
            }
            let checksum = inspection.manifest == nil ? "no manifest (legacy file): every check but the checksum" : "SHA-256 matches the manifest"
            return Verdict(file: path, ok: true,
                           detail: "\(inspection.layers.map(\.rawValue).joined(separator: " > ")), \(Format.bytes(inspection.sqlBytes)) of SQL, complete, \(inspection.tableRows.count) tables; \(checksum)",
                           sha256: inspection.sha256)
        } catch {
            let message = (error as? MXError)?.message ?? "\(error)"
            let prefix = path + ": "
            return Verdict(file: path, ok: false, detail: message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message, sha256: nil)
        }
    }
}
