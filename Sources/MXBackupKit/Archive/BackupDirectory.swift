import Foundation

/// Directories mxbackup writes backups into. One it creates is private (0700). An existing one is
/// tightened to 0700 only when mxbackup owns it as its backup directory and is about to write backups
/// there (`owned`); anywhere else (`fetch --output /tmp`, a read-only command) its mode is the operator's,
/// and a loose one is only warned about: the files mxbackup writes are 0600 anyway.
public enum BackupDirectory {
    public static func prepare(_ path: String, console: Console, owned: Bool = true) throws {
        var st = stat()
        if stat(path, &st) != 0 {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw MXError.failed("backup.dir \(path): cannot create: \(error.localizedDescription)")
            }
            return
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw MXError.configuration("backup.dir \(path): exists and is not a directory")
        }
        let mode = String(st.st_mode & 0o7777, radix: 8)
        if st.st_mode & 0o077 != 0 {
            if owned {
                guard chmod(path, 0o700) == 0 else {
                    throw MXError.failed("backup.dir \(path): is readable by others and cannot be made private: \(Format.errno(errno))")
                }
                console.warn("backup.dir \(path) was readable by group or others (mode \(mode)); changed to 700")
            } else {
                console.warn("\(path) is open to group or others (mode \(mode)): left as it is; the files written there are 0600")
            }
        }
        guard access(path, W_OK) == 0 else {
            throw MXError.refused("backup.dir \(path): not writable by this user")
        }
    }

    /// Removes the `.partial` files that runs killed outright left here (backups, fetched copies, manifests
    /// and records): those no living writer holds (`FileSink.isAbandoned`). Returns what it removed.
    @discardableResult
    public static func removeAbandonedPartials(_ path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { name in
            guard name.hasSuffix(".partial") else { return false }
            let stem = String(name.dropLast(".partial".count))
            return BackupName.parse(stem) != nil || stem.hasSuffix(".json")
        }.map { (path as NSString).appendingPathComponent($0) }
         .filter { FileSink.isAbandoned($0) && unlink($0) == 0 }
    }

    /// A directory with symlinks resolved, for comparing two spellings of one directory.
    public static func canonical(_ directory: String) -> String {
        URL(fileURLWithPath: directory.isEmpty ? "." : directory).resolvingSymlinksInPath().standardizedFileURL.path
    }

    /// Whether the file lies directly in `directory` (however either is spelled).
    public static func holds(_ path: String, directory: String) -> Bool {
        canonical((path as NSString).deletingLastPathComponent) == canonical(directory)
    }
}
