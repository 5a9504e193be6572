import Foundation

/// Where a backup's bytes come from: a local file, or a store (Telegram, …) streaming them. Restore,
/// drill and verify read through this, so an offsite copy is restored without landing on disk first.
public struct BackupSource: Sendable {
    /// For messages and records: the path, or "telegram:NAME".
    public var name: String
    /// The manifest beside the file, or the one stored with the backup.
    public var manifest: Manifest?
    /// The backup file's own name (a path's last component, a stored backup's or document's name).
    public var fileName: String
    private let opener: @Sendable () throws -> (ByteSource, Int64)

    public init(name: String, fileName: String? = nil, manifest: Manifest?, open: @escaping @Sendable () throws -> (ByteSource, Int64)) {
        self.name = name
        self.fileName = fileName ?? manifest?.file.name ?? (name as NSString).lastPathComponent
        self.manifest = manifest
        opener = open
    }

    /// A local file, with the manifest beside it when there is one.
    public static func file(_ path: String) throws -> BackupSource {
        let manifestPath = Manifest.path(forBackup: path)
        let manifest = FileManager.default.fileExists(atPath: manifestPath) ? try Manifest.read(manifestPath) : nil
        return BackupSource(name: path, manifest: manifest) {
            let file = try FileSource(path: path)
            return (file, file.size)
        }
    }

    /// A backup kept in a store; each `open` streams it again.
    public static func store(_ store: BackupStore, label: String, name: String, manifest: Manifest) -> BackupSource {
        BackupSource(name: "\(label):\(name)", manifest: manifest) {
            (try store.open(name), manifest.file.size)
        }
    }

    /// The bytes and how many there should be.
    public func open() throws -> (source: ByteSource, size: Int64) {
        let (source, size) = try opener()
        return (source, size)
    }
}
