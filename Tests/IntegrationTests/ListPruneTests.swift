import Foundation
import MXBackupKit
import Testing

@Suite struct ListPruneTests {
    @Test func listShowsNewestFirstWithLegacyFilesMarked() throws {
        let box = try Sandbox()
        let keyring = try Keyring.generate()
        let old = try box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: box.backupDir)
        let oldEncrypted = try box.legacyBackup(name: "synapse_db_20240102_030000.sql.gz", in: box.backupDir, encryptTo: keyring)
        #expect(try box.run(["backup"]).exitCode == 0)
        let result = try box.run(["list", "--json"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let entries = try #require(listing["backups"] as? [[String: Any]])
        #expect((listing["safety_copies"] as? [Any])?.isEmpty == true)
        #expect(entries.map { $0["file"] as? String } == [try box.onlyBackupOfMXBackup(), oldEncrypted, old])
        #expect(entries.map { $0["legacy"] as? Bool } == [false, true, true])
        #expect(entries.map { $0["encrypted"] as? Bool } == [false, true, false])
        #expect(entries.map { $0["compression"] as? String } == ["zstd", "gzip", "gzip"])
        let table = try box.run(["list"])
        #expect(table.stdout.contains("legacy (none)") && table.stdout.contains("3 backups"), "\(table.stdout)")
    }

    /// A script reading `list --json` finds the same keys on every backup, and one word for encryption.
    @Test func listGivesLegacyAndOwnFilesTheSameKeysAndOneEncryptionVocabulary() throws {
        let box = try Sandbox()
        let keyring = try Keyring.generate()
        let legacy = try box.legacyBackup(name: "synapse_db_20240102_030000.sql.gz", in: box.backupDir, encryptTo: keyring)
        try box.writeConfig(extra: "gpg:\n  recipients: [\(keyring.fingerprint)]")
        #expect(try box.run(["backup"], environment: ["GNUPGHOME": keyring.home]).exitCode == 0)
        let result = try box.run(["list", "--json"], environment: ["GNUPGHOME": keyring.home])
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let entries = try #require(listing["backups"] as? [[String: Any]])
        #expect(entries.count == 2)
        let (own, old) = (entries[0], entries[1])
        #expect(Set(own.keys) == Set(old.keys), "\(own.keys) vs \(old.keys)")
        for key in ["sha256", "manifest", "verified", "recipients", "server_name", "schema_version"] { #expect(old.keys.contains(key), "\(key)") }
        #expect(old["file"] as? String == legacy)
        #expect(old["sha256"] is NSNull && old["manifest"] is NSNull && old["verified"] as? Bool == false)
        #expect(own["verified"] as? Bool == false && own["sha256"] is String)
        #expect(own["encryption"] as? String == "gpg" && old["encryption"] as? String == "gpg")
        #expect(own["recipients"] as? [String] == [keyring.fingerprint] && old["recipients"] is NSNull)
        let table = try box.run(["list"], environment: ["GNUPGHOME": keyring.home])
        #expect(!table.stdout.contains("recipients"), "\(table.stdout)")
        #expect(table.stdout.contains("gpg to \(keyring.fingerprint.suffix(16))"), "\(table.stdout)")
    }

    @Test func pruneAppliesRetentionButNeverTheNewestVerifiedBackup() throws {
        let box = try Sandbox()
        let legacy = try box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: box.backupDir)
        var written = [timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0), timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0)]
        utimes(legacy, &written)  // as find -mtime, keep_days goes by the file's last write too
        var made: [String] = []
        for _ in 0..<3 {
            #expect(try box.run(["backup"]).exitCode == 0)
            made = box.backupFiles().filter { $0.hasSuffix(".sql.zst") }.map { box.backupDir + "/" + $0 }
            sleep(1)  // names have one-second resolution
        }
        #expect(made.count == 3)
        let (a, b, c) = (made[0], made[1], made[2])
        let oldPartial = box.backupDir + "/synapse_db_20240101_000000.sql.zst.partial"
        let youngPartial = box.backupDir + "/synapse_db_20991231_000000.sql.zst.partial"
        let orphanManifest = box.backupDir + "/synapse_db_20240101_000000.manifest.json"
        try write("x", to: oldPartial, mode: 0o600)
        try write("x", to: youngPartial, mode: 0o600)
        try write("{}", to: orphanManifest, mode: 0o600)
        var times = [timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0), timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0)]
        utimes(oldPartial, &times)
        utimes(orphanManifest, &times)

        #expect(try box.run(["prune"]).exitCode == 2)  // no policy: refuse rather than guess

        let dryRun = try box.run(["prune", "--keep-days", "1", "--dry-run"])
        #expect(dryRun.exitCode == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("would delete \(legacy)"))
        #expect(FileManager.default.fileExists(atPath: legacy) && FileManager.default.fileExists(atPath: oldPartial))

        #expect(try box.run(["prune", "--keep-days", "1"]).exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: legacy))
        #expect(!FileManager.default.fileExists(atPath: oldPartial))
        #expect(!FileManager.default.fileExists(atPath: orphanManifest))
        #expect(FileManager.default.fileExists(atPath: youngPartial))
        #expect([a, b, c].allSatisfy { FileManager.default.fileExists(atPath: $0) })

        // Corrupt the newest: with nothing else kept, the newest *verified* one (b) survives.
        let handle = try #require(FileHandle(forUpdatingAtPath: c))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data([0xFF, 0x00, 0xFF]))
        try handle.close()
        let pruned = try box.run(["prune", "--keep-last", "0"])
        #expect(pruned.exitCode == 0, "\(pruned.stderr)")
        #expect(pruned.stderr.contains("does not match its manifest"))
        #expect(pruned.stdout.contains("newest verified backup"))
        #expect(box.backupFiles().filter { !$0.hasSuffix(".partial") }
            == [(b as NSString).lastPathComponent, (Manifest.path(forBackup: b) as NSString).lastPathComponent].sorted())
    }

    /// The scripts' files come back from offsite or another disk with new modification times, a failed run
    /// of the scripts leaves a 20-byte gzip with the newest name, a full disk a truncated one: none of them
    /// may cost a good backup.
    @Test func pruneKeepsWhatFindMtimeKeepsAndNeverCountsAFileThatCannotBeABackup() throws {
        let box = try Sandbox()
        let first = try box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: box.backupDir)
        let second = try box.legacyBackup(name: "synapse_db_20240102_030000.sql.gz", in: box.backupDir)
        let kept = try box.run(["prune", "--keep-days", "7"])
        #expect(kept.exitCode == 0, "\(kept.stderr)")
        #expect(FileManager.default.fileExists(atPath: first) && FileManager.default.fileExists(atPath: second), "\(kept.stdout)")

        let truncated = box.backupDir + "/synapse_db_20240103_030000.sql.gz"
        let whole = try Data(contentsOf: URL(fileURLWithPath: second))
        try whole.prefix(whole.count * 2 / 3).write(to: URL(fileURLWithPath: truncated))
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd_HHmmss"
        let failed = box.backupDir + "/synapse_db_\(f.string(from: Date())).sql.gz"
        let gzip = try ProcessRunner.run(ProcessSpec("bash", ["-c", "gzip -c < /dev/null > '\(failed)'"]))
        #expect(gzip.termination.succeeded)
        let status = try box.run(["status"])
        #expect(status.exitCode == 5 && status.stdout.contains("too small to hold a Synapse dump"), "\(status.stdout)")
        let doctor = try box.run(["doctor"])
        #expect(doctor.stdout.split(separator: "\n").contains { $0.hasPrefix("[FAIL]") && $0.contains("last backup") && $0.contains(failed) }, "\(doctor.stdout)")

        // Nothing proved readable yet: the truncated file could be the one kept, so no legacy file that may be good goes.
        var pruned = try box.run(["prune", "--keep-last", "1"])
        #expect(pruned.exitCode == 0, "\(pruned.stderr)")
        #expect(pruned.stderr.contains("\(failed): 20 bytes, too small to hold a Synapse dump") && pruned.stderr.contains("proved readable"), "\(pruned.stderr)")
        #expect([first, second, truncated].allSatisfy { FileManager.default.fileExists(atPath: $0) }, "\(pruned.stdout)")
        #expect(!FileManager.default.fileExists(atPath: failed))

        // verify reads each to its end: the truncated one fails, and no longer counts.
        #expect(try box.run(["verify", "--all"]).exitCode == 1)
        pruned = try box.run(["prune", "--keep-last", "1"])
        #expect(pruned.exitCode == 0, "\(pruned.stderr)")
        #expect(FileManager.default.fileExists(atPath: second), "\(pruned.stdout)")
        #expect(!FileManager.default.fileExists(atPath: first) && !FileManager.default.fileExists(atPath: truncated), "\(pruned.stdout)")
    }
}

extension Sandbox {
    /// The one backup written by mxbackup (it has a manifest).
    func onlyBackupOfMXBackup() throws -> String {
        let files = backupFiles().filter { BackupName.suffix(of: $0) != nil && FileManager.default.fileExists(atPath: Manifest.path(forBackup: backupDir + "/" + $0)) }
        guard files.count == 1 else { throw MXError.failed("expected one mxbackup backup, found \(files)") }
        return backupDir + "/" + files[0]
    }
}
