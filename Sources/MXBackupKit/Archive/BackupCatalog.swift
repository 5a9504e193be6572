import Foundation

/// The backups in a directory: mxbackup's own (with manifests) and the legacy scripts' files.
public struct BackupEntry: Sendable {
    public var path: String
    public var name: String { (path as NSString).lastPathComponent }
    public var size: Int64
    public var created: Date
    /// The file's last write (what the scripts' `find -mtime` goes by).
    public var modified: Date
    public var compression: Compression
    public var encrypted: Bool
    public var manifest: Manifest?
    public var kind: BackupName.Kind
    /// Set when the time in a legacy file's name cannot be right (later than the file itself): says why
    /// `created` was taken from the file instead.
    public var clockNote: String?
    public var manifestPath: String? { manifest == nil ? nil : Manifest.path(forBackup: path) }
    /// A file of the legacy scripts (or any backup without a manifest).
    public var isLegacy: Bool { manifest == nil }

    /// `list`'s one vocabulary for every file, own or legacy, in text and JSON: "gpg" or "none".
    public var encryption: String { encrypted ? "gpg" : "none" }
    /// The keys it is encrypted to, when its manifest says (a legacy file's are unknown until adopted).
    public var recipients: [String]? {
        guard let info = manifest?.encryption, info.mode == "recipients" else { return nil }
        return info.recipients
    }
    /// The encryption with what is known of it: "gpg", "gpg to 0123456789ABCDEF", "gpg passphrase", "none".
    public var encryptionDescription: String {
        if let recipients { return "gpg to " + recipients.map { String($0.suffix(16)) }.joined(separator: ",") }
        return manifest?.encryption.mode == "symmetric" ? "gpg passphrase" : encryption
    }

    /// Why the file cannot be a backup that restores, seen without reading it: empty, smaller than any
    /// Synapse dump (a failed run of the scripts leaves a 20-byte gzip), or not the size its manifest says.
    public var implausibility: String? {
        if let manifest, manifest.file.size != size { return "\(size) bytes where its manifest says \(manifest.file.size)" }
        if size == 0 { return "empty (0 bytes)" }
        if manifest == nil && size < Self.smallestDump { return "\(size) bytes, too small to hold a Synapse dump" }
        return nil
    }

    /// Even Synapse's empty schema compresses to tens of kB; 4 KiB leaves a wide margin.
    public static let smallestDump: Int64 = 4096

    /// Seconds since `created`, never negative.
    public func age(now: Date = Date()) -> Double { max(0, now.timeIntervalSince(created)) }

    /// Why the backup's time cannot be trusted as it stands (a warning), or nil.
    public func datingProblem(now: Date = Date()) -> String? {
        if created.timeIntervalSince(now) > 60 {
            return "dated \(Format.iso8601(created)), in the future: check this machine's clock and time zone (its age counts as 0)"
        }
        return clockNote
    }
}

public struct BackupCatalog: Sendable {
    public var directory: String
    /// Backups, newest first. Only files named like a backup (`BackupName.parse`); safety backups are apart.
    public var entries: [BackupEntry]
    /// Restores' safety backups of the live database (`synapse_db_safety_*`), newest first.
    public var safetyBackups: [BackupEntry]
    /// Leftovers of interrupted runs: `.partial` files of backup names, and manifests whose backup is gone
    /// (a crash between the manifest's rename and the backup's).
    public var partials: [(path: String, modified: Date)]

    /// Reads the directory. A missing directory is an empty catalogue.
    public static func scan(_ directory: String) throws -> BackupCatalog {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory) else { return BackupCatalog(directory: directory, entries: [], safetyBackups: [], partials: []) }
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
                let stem = String(name.dropLast(".partial".count))
                // A backup's, or its manifest's (written .partial, then renamed, by backup and adopt).
                let manifestOf = stem.hasSuffix(".manifest.json") ? String(stem.dropLast(".manifest.json".count)) + ".sql" : nil
                if BackupName.parse(stem) != nil || manifestOf.flatMap(BackupName.parse) != nil { partials.append((path, modified)) }
                continue
            }
            if name.hasSuffix(".manifest.json") {
                let stem = String(path.dropLast(".manifest.json".count))
                if BackupName.parse((stem as NSString).lastPathComponent + ".sql") != nil,
                   !BackupName.suffixes.contains(where: { fm.fileExists(atPath: stem + $0) }) { partials.append((path, modified)) }
                continue
            }
            guard let parsed = BackupName.parse(name) else { continue }
            let manifestPath = Manifest.path(forBackup: path)
            let manifest = fm.fileExists(atPath: manifestPath) ? try? Manifest.read(manifestPath) : nil
            var created = manifest.flatMap { Format.parseISO8601($0.createdAt) }
            var clockNote: String?
            if created == nil, let named = BackupName.date(in: parsed.stamp, timeZone: .current) {
                // A file cannot be older than its last write: a later name was written in another time zone.
                created = min(named, modified)
                if named.timeIntervalSince(modified) > 60 {
                    clockNote = "its name says \(Format.iso8601(named)) but the file was last written \(Format.iso8601(modified)): the name is in another time zone than this machine's (\(TimeZone.current.identifier)); its age is taken from the file"
                }
            }
            let compression: Compression = parsed.suffix.contains(".zst") ? .zstd : parsed.suffix.contains(".gz") ? .gzip : .none
            let kind: BackupName.Kind = parsed.kind == .safety || manifest?.purpose == Manifest.safetyPurpose ? .safety : .backup
            entries.append(BackupEntry(path: path, size: (attributes[.size] as? NSNumber)?.int64Value ?? 0,
                                       created: created ?? modified, modified: modified, compression: compression,
                                       encrypted: parsed.suffix.hasSuffix(".gpg"), manifest: manifest, kind: kind, clockNote: clockNote))
        }
        entries.sort { $0.created > $1.created }
        return BackupCatalog(directory: directory, entries: entries.filter { $0.kind == .backup },
                             safetyBackups: entries.filter { $0.kind == .safety }, partials: partials.sorted { $0.1 < $1.1 })
    }
}
