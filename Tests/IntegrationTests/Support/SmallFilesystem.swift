import Foundation
import MXBackupKit

/// A tmpfs of a given size mounted on a directory: the server-fault tests' full disk. Mounting needs root;
/// without it the test fails, saying so (it never passes untried).
struct SmallFilesystem {
    let path: String

    init(bytes: Int, at path: String, mode: String = "0700") throws {
        guard getuid() == 0 else { throw MXError.failed("a small filesystem needs root to mount (mount -t tmpfs): run the server-fault tests as root") }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
        try Self.mount(["-t", "tmpfs", "-o", "size=\(bytes),mode=\(mode)", "tmpfs", path])
    }

    /// Frees space (or takes it away) without touching the files on it.
    func resize(bytes: Int) throws { try Self.mount(["-o", "remount,size=\(bytes)", path]) }

    func unmount() { _ = try? ProcessRunner.run(ProcessSpec("umount", ["-l", path])) }

    var freeBytes: Int {
        var st = statvfs()
        statvfs(path, &st)
        return Int(st.f_bavail) * Int(st.f_frsize)
    }

    /// A file taking all but `free` bytes; remove it to give the space back.
    func fill(leaving free: Int) throws -> String {
        let ballast = path + "/ballast"
        let fd = open(ballast, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MXError.failed("cannot create \(ballast): \(Format.errno(errno))") }
        defer { close(fd) }
        let chunk = Data(repeating: 0xA5, count: 1 << 16)
        while freeBytes > free + chunk.count { try FileDescriptor.writeAll(fd, chunk) }
        return ballast
    }

    private static func mount(_ arguments: [String]) throws {
        let output = try ProcessRunner.run(ProcessSpec("mount", arguments))
        guard output.termination.succeeded else { throw MXError.failed("mount \(arguments.joined(separator: " ")) failed: \(output.stderr)") }
    }
}
