import Foundation

/// A directory as a store (the backup directory itself, or a mounted disk for a second copy).
public struct LocalStore: BackupStore {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var description: String { "directory \(directory)" }

    public func put(path: String, manifest: Manifest) throws {
        let target = (directory as NSString).appendingPathComponent(manifest.file.name)
        if (target as NSString).standardizingPath == (path as NSString).standardizingPath { return }
        try BackupDirectory.prepare(directory, console: Console(mode: .quiet))
        if FileManager.default.fileExists(atPath: target), (try? SHA256Hasher.hex(of: target)) == manifest.file.sha256 { return }
        unlink(target)
        let sink = try FileSink(finalPath: target)
        do {
            let source = try FileSource(path: path)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            try sink.finish()
            guard sink.sha256 == manifest.file.sha256 else {
                throw StoreError.permanent("\(path) does not match its manifest's checksum")
            }
            try FileSink.writeAtomically(try manifest.encoded(), to: Manifest.path(forBackup: target))
            try sink.commit()
        } catch {
            sink.cancel()
            throw error
        }
    }

    public func list() throws -> [StoredBackup] {
        try BackupCatalog.scan(directory).entries.compactMap { entry in
            entry.manifest.map { StoredBackup(name: entry.name, manifest: $0) }
        }
    }

    public func open(_ name: String) throws -> ByteSource {
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.permanent("no backup \(name) in \(directory)") }
        let manifest = try Manifest.read(Manifest.path(forBackup: path))
        return ChecksummedSource(try FileSource(path: path), sha256: manifest.file.sha256, size: manifest.file.size, name: path)
    }

    public func delete(_ name: String) throws -> (deleted: Bool, note: String?) {
        let path = (directory as NSString).appendingPathComponent(name)
        unlink(Manifest.path(forBackup: path))
        guard unlink(path) == 0 || errno == ENOENT else { throw StoreError.permanent("cannot delete \(path): \(Format.errno(errno))") }
        return (true, nil)
    }
}
