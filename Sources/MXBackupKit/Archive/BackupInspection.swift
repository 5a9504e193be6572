import Foundation

/// What a full read of a backup proved: every layer decodes to its end, the SQL is a complete
/// pg_dump, the checksum matches the manifest (when there is one), and what the dump contains.
public struct BackupInspection: Sendable {
    public var path: String
    public var layers: [BackupReader.Layer]
    public var sha256: String
    public var size: Int64
    public var manifest: Manifest?
    public var sqlBytes: Int64
    public var tableRows: [String: Int64]
    public var maxStreamOrdering: Int64?
    public var schemaVersion: Int?
    public var schemaCompatVersion: Int?
    public var serverName: String?
    /// From pg_dump's header comments (read only by a full read).
    public var dumpedFrom: String? = nil
    public var dumpedBy: String? = nil
    /// The whole file was read and checked; false when the facts come from the manifest and the file is
    /// checked while it loads (`opened`).
    public var fullyRead = true

    /// A Synapse database has its schema_version table.
    public var isSynapse: Bool { tableRows["public.schema_version"] != nil }

    /// For a load that touches nothing the operator has (a new database, dropped if anything fails): the
    /// facts come from the manifest, and only the start of the file is read now: its size, its layers (a
    /// wrong key, an empty or foreign file are refused here). The rest is checked while it loads: every
    /// layer to its end, and the SHA-256 against the manifest before the new database is used.
    public static func opened(_ source: BackupSource, manifest: Manifest, gpg: GPG, passphrase: String?,
                              connection: PostgresConnection) throws -> BackupInspection {
        try checkSize(source)
        let reader = try BackupReader(source: source, gpg: gpg, passphrase: passphrase, connection: connection)
        reader.cancel()
        return BackupInspection(
            path: source.name, layers: reader.layers, sha256: manifest.file.sha256, size: manifest.file.size, manifest: manifest,
            sqlBytes: manifest.dumpSize, tableRows: manifest.tableRows, maxStreamOrdering: manifest.maxStreamOrdering,
            schemaVersion: manifest.schemaVersion, schemaCompatVersion: manifest.schemaCompatVersion,
            serverName: manifest.serverName, fullyRead: false)
    }

    /// With a manifest, "this is not the file the manifest describes" is a more precise diagnosis of a read
    /// that failed than the decoder's (a local file is hashed again to tell).
    public static func manifestMismatch(_ source: BackupSource) -> MXError? {
        guard let manifest = source.manifest, FileManager.default.fileExists(atPath: source.name),
              let digest = try? SHA256Hasher.hex(of: source.name), digest != manifest.file.sha256 else { return nil }
        return .refused("\(source.name): SHA-256 \(digest) differs from its manifest's \(manifest.file.sha256): the file is corrupt")
    }

    /// Cheap first: a size that differs from the manifest's is known before decrypting anything.
    private static func checkSize(_ source: BackupSource) throws {
        let path = source.name
        guard let manifest = source.manifest, FileManager.default.fileExists(atPath: path) else { return }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.int64Value ?? -1
        guard size == manifest.file.size else {
            throw MXError.refused("\(path): size \(size) differs from its manifest's \(manifest.file.size): the file is truncated or not the one the manifest describes")
        }
    }

    /// Reads the whole backup (nothing is written) and checks it.
    public static func inspect(_ source: BackupSource, gpg: GPG, passphrase: String?, connection: PostgresConnection,
                               progress: ((Int64) -> Void)? = nil) throws -> BackupInspection {
        let path = source.name
        let manifest = source.manifest
        try checkSize(source)
        let scanner = DumpScanner()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var reader: BackupReader?
        do {
            let opened = try BackupReader(source: source, gpg: gpg, passphrase: passphrase, connection: connection)
            reader = opened
            while true {
                let n = try opened.read(into: buffer)
                if n == 0 { break }
                do {
                    try scanner.scan(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                } catch {
                    throw PsqlScript.refused(path, error)
                }
                progress?(scanner.bytes)
                try Interrupts.shared.checkpoint()
            }
            do { try scanner.finish() } catch { throw PsqlScript.refused(path, error) }
        } catch {
            reader?.cancel()
            throw manifestMismatch(source) ?? error
        }
        guard let reader else { throw MXError.failed("\(path): could not be read") }
        let digest = reader.fileDigest()
        if let manifest, manifest.file.sha256 != digest.sha256 {
            throw MXError.refused("\(path): SHA-256 \(digest.sha256) differs from its manifest's \(manifest.file.sha256): the file is corrupt")
        }
        if let manifest, manifest.tableRows != scanner.tableRows {
            throw MXError.refused("\(path): the dump's row counts differ from its manifest's: the file is not the one the manifest describes")
        }
        guard scanner.complete else {
            throw MXError.refused("\(path): the SQL ends without pg_dump's completion line: the dump is incomplete")
        }
        return BackupInspection(
            path: path, layers: reader.layers, sha256: digest.sha256, size: digest.size, manifest: manifest,
            sqlBytes: scanner.bytes, tableRows: scanner.tableRows, maxStreamOrdering: scanner.maxStreamOrdering,
            schemaVersion: scanner.schemaVersion, schemaCompatVersion: scanner.schemaCompatVersion,
            serverName: scanner.firstUserID.flatMap(BackupOperation.serverName(of:)) ?? manifest?.serverName,
            dumpedFrom: scanner.dumpedFrom, dumpedBy: scanner.dumpedBy)
    }
}
