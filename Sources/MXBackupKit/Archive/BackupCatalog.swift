import Foundation

/// The backups in a directory: mxbackup's own (with manifests) and the legacy scripts' files.
public struct BackupEntry: Sendable {
    public var path: String
    public var name: String { (path as NSString).lastPathComponent }
    public var size: Int64
    public var created: Date
    public var compression: Compression
    public var encrypted: Bool
    public var manifest: Manifest?
    public var manifestPath: String? { manifest == nil ? nil : Manifest.path(forBackup: path) }
    /// A file of the legacy scripts (or any backup without a manifest).
    public var isLegacy: Bool { manifest == nil }
}

public struct BackupCatalog: Sendable {
    public var directory: String
    public var entries: [BackupEntry]
    /// Leftovers of interrupted runs: `.partial` files, and manifests whose backup is gone (a crash
    /// between the manifest's rename and the backup's).
    public var partials: [(path: String, modified: Date)]

    /// Reads the directory. A missing directory is an empty catalogue.
    public static func scan(_ directory: String) throws -> BackupCatalog {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory) else { return BackupCatalog(directory: directory, entries: [], partials: []) }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: directory) } catch {
            throw MXError.failed("\(directory): cannot list the backup directory: \(error.localizedDescription)")
        }
        var entries: [BackupEntry] = []
        var partials: [(String, Date)] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let attributes = try? fm.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            let modified = attributes[.modificationDate] as? Date ?? Date.distantPast
            if name.hasSuffix(".partial") {
                partials.append((path, modified))
                continue
            }
            if name.hasSuffix(".manifest.json") {
                let stem = String(path.dropLast(".manifest.json".count))
                if !BackupName.suffixes.contains(where: { fm.fileExists(atPath: stem + $0) }) { partials.append((path, modified)) }
                continue
            }
            guard let suffix = BackupName.suffix(of: name) else { continue }
            let manifestPath = Manifest.path(forBackup: path)
            let manifest = fm.fileExists(atPath: manifestPath) ? try? Manifest.read(manifestPath) : nil
            let created = manifest.flatMap { Format.parseISO8601($0.createdAt) }
                ?? BackupName.date(in: name, timeZone: .current) ?? modified
            let compression: Compression = suffix.contains(".zst") ? .zstd : suffix.contains(".gz") ? .gzip : .none
            entries.append(BackupEntry(path: path, size: (attributes[.size] as? NSNumber)?.int64Value ?? 0,
                                       created: created, compression: compression,
                                       encrypted: suffix.hasSuffix(".gpg"), manifest: manifest))
        }
        entries.sort { $0.created > $1.created }
        return BackupCatalog(directory: directory, entries: entries, partials: partials.sorted { $0.1 < $1.1 })
    }
}
