import Foundation

/// The backup directory is private: created 0700, tightened to 0700 if it is looser.
public enum BackupDirectory {
    public static func prepare(_ path: String, console: Console) throws {
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
        if st.st_mode & 0o077 != 0 {
            guard chmod(path, 0o700) == 0 else {
                throw MXError.failed("backup.dir \(path): is readable by others and cannot be made private: \(Format.errno(errno))")
            }
            console.warn("backup.dir \(path) was readable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))); changed to 700")
        }
        guard access(path, W_OK) == 0 else {
            throw MXError.refused("backup.dir \(path): not writable by this user")
        }
    }
}
