import Foundation
import MXBackupKit
import Testing

/// mxbackup tightens only a directory it creates, or its own backup directory when it writes backups there;
/// read-only commands and `fetch --output` leave an existing directory's mode as it is.
@Suite struct DirectoryModeTests {
    private func mode(_ path: String) -> mode_t {
        var st = stat()
        stat(path, &st)
        return st.st_mode & 0o7777
    }

    @Test func readOnlyCommandsLeaveTheBackupDirectoryAlone() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        chmod(box.backupDir, 0o755)
        #expect(try box.run(["list"]).exitCode == 0)
        #expect(try box.run(["status"]).exitCode == 0)
        let verify = try box.run(["verify", "--latest"])
        #expect(verify.exitCode == 0, "\(verify.stderr)")
        #expect(verify.stderr.contains("open to group or others (mode 755)"), "\(verify.stderr)")
        #expect(mode(box.backupDir) == 0o755)
        // A backup writes there: its own directory is made private.
        #expect(try box.run(["backup"]).exitCode == 0)
        #expect(mode(box.backupDir) == 0o700)
    }

    @Test func fetchIntoASharedDirectoryKeepsItsStickyBit() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let file = try box.onlyBackup()
        let bot = try FakeBotAPI()
        try box.writeConfig(extra: bot.config())
        #expect(try box.run(["push", file]).exitCode == 0)

        let shared = box.root + "/shared-tmp"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        chmod(shared, 0o1777)
        let fetched = try box.run(["fetch", "--from", "telegram", "latest", "--output", shared])
        #expect(fetched.exitCode == 0, "\(fetched.stderr)")
        #expect(mode(shared) == 0o1777)
        let target = shared + "/" + (file as NSString).lastPathComponent
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(mode(target) == 0o600)
    }
}
