import Foundation
import MXBackupKit
import Testing

/// `mxbackup adopt`: a backup of the old scripts, proved to its end, becomes one of mxbackup's own.
@Suite struct AdoptTests {
    @Test func anAdoptedLegacyBackupIsProvedAndFirstClass() throws {
        let box = try Sandbox()
        let keyring = try Keyring.generate()
        let legacy = try box.legacyBackup(name: "synapse_db_20240102_030000.sql.gz", in: box.backupDir, encryptTo: keyring)
        let environment = ["GNUPGHOME": keyring.home]
        let adopted = try box.run(["adopt", "--all"], environment: environment)
        #expect(adopted.exitCode == 0, "\(adopted.stderr)")
        #expect(adopted.stdout.contains("ADOPTED: \(legacy): gpg > gzip > plain"), "\(adopted.stdout)")
        let manifestPath = Manifest.path(forBackup: legacy)
        #expect(fileMode(manifestPath) == 0o600)
        let manifest = try Manifest.read(manifestPath)
        #expect(manifest.file.sha256 == (try SHA256Hasher.hex(of: legacy)))
        #expect(manifest.file.name == (legacy as NSString).lastPathComponent)
        #expect(manifest.encryption.mode == "recipients" && manifest.encryption.recipients == [keyring.fingerprint])
        #expect(manifest.compression == "gzip" && manifest.dumpFormat == "plain" && manifest.database == box.database)
        #expect(manifest.serverName == "example.org" && manifest.schemaVersion != nil && manifest.rowCounts.users > 0)
        #expect(manifest.serverVersion.first?.isNumber == true && manifest.pgDumpVersion.first?.isNumber == true, "\(manifest.serverVersion)")
        #expect(box.backupFiles().allSatisfy { !$0.hasSuffix(".partial") })

        // From now on it is a backup like mxbackup's own: listed with its manifest and verified,
        // checked by its checksum, and restorable.
        let listing = try box.run(["list", "--json"], environment: environment)
        let entry = try #require(((try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any])?["backups"] as? [[String: Any]])?.first)
        #expect(entry["legacy"] as? Bool == false && entry["verified"] as? Bool == true && entry["sha256"] as? String == manifest.file.sha256)
        let verified = try box.run(["verify", legacy], environment: environment)
        #expect(verified.exitCode == 0 && verified.stdout.contains("SHA-256 matches the manifest"), "\(verified.stdout)\(verified.stderr)")
        let drill = try box.run(["drill", legacy], environment: environment)
        #expect(drill.exitCode == 0, "\(drill.stdout)\(drill.stderr)")

        // A second run has nothing to do; naming the file again says it is adopted already.
        let again = try box.run(["adopt", "--all"], environment: environment)
        #expect(again.exitCode == 0 && again.stdout.contains("nothing to adopt"), "\(again.stdout)\(again.stderr)")
        let named = try box.run(["adopt", legacy], environment: environment)
        #expect(named.exitCode == 0 && named.stdout.contains("ALREADY ADOPTED: \(legacy)"), "\(named.stdout)")
        #expect(try Manifest.read(manifestPath) == manifest)
    }

    @Test func truncatedCorruptAndForeignFilesAreRefusedAndNothingIsWritten() throws {
        let box = try Sandbox()
        let good = try box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: box.backupDir)
        let whole = try #require(FileManager.default.contents(atPath: good))
        let truncated = box.backupDir + "/synapse_db_20240102_030000.sql.gz"
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        let corrupt = box.backupDir + "/synapse_db_20240103_030000.sql.gz"
        var bytes = whole
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: corrupt))
        // A complete pg_dump of a database that is not Synapse's.
        let other = try box.cluster.createDatabase(prefix: "o", fixture: false)
        let foreign = try box.legacyBackup(name: "synapse_db_20240104_030000.sql.gz", in: box.backupDir, database: other)
        // A dump cut at a line end: it decompresses, but pg_dump's completion line is missing.
        let cut = box.backupDir + "/synapse_db_20240105_030000.sql"
        let plain = try box.editedDump(name: "plain.sql") { $0 }
        let text = try String(contentsOfFile: plain, encoding: .utf8)
        try write(String(text[..<text.range(of: "-- PostgreSQL database dump complete")!.lowerBound]), to: cut, mode: 0o600)

        for (file, reason) in [(truncated, "truncated"), (corrupt, "corrupt"), (foreign, "not a complete Synapse dump"), (cut, "without pg_dump's completion line")] {
            let result = try box.run(["adopt", file])
            #expect(result.exitCode == 3, "\(file): \(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("REFUSED: \(file): ") && result.stdout.contains(reason), "\(file): \(result.stdout)")
            #expect(result.stderr.contains("not adopted"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: Manifest.path(forBackup: file)), "\(file)")
        }
        #expect(box.backupFiles().allSatisfy { !$0.hasSuffix(".partial") && !$0.hasSuffix(".manifest.json") }, "\(box.backupFiles())")
        // --all adopts the good file and refuses the others in one run, exiting non-zero.
        let all = try box.run(["adopt", "--all"])
        #expect(all.exitCode == 3 && all.stdout.contains("ADOPTED: \(good)") && all.stderr.contains("4 of 5 files not adopted"), "\(all.stdout)\(all.stderr)")
        #expect(box.backupFiles().filter { $0.hasSuffix(".manifest.json") } == [(Manifest.path(forBackup: good) as NSString).lastPathComponent])
    }

    @Test func aFileOutsideTheBackupDirectoryOrNotNamedLikeABackupIsRefused() throws {
        let box = try Sandbox()
        let elsewhere = try box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: box.root + "/elsewhere")
        let renamed = box.backupDir + "/users_only.sql.gz"
        try FileManager.default.createDirectory(atPath: box.backupDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: elsewhere, toPath: renamed)
        let outside = try box.run(["adopt", elsewhere])
        #expect(outside.exitCode == 3 && outside.stdout.contains("not in the backup directory \(box.backupDir): move it there first"), "\(outside.stdout)")
        let misnamed = try box.run(["adopt", renamed])
        #expect(misnamed.exitCode == 3 && misnamed.stdout.contains("not named like a backup"), "\(misnamed.stdout)")
        #expect(!FileManager.default.fileExists(atPath: Manifest.path(forBackup: elsewhere)))
    }

    @Test func adoptIsRefusedWhileAnotherRunHoldsTheDirectoryLock() throws {
        let box = try Sandbox()
        let legacy = try box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: box.backupDir)
        let lock = try OperationLock(directory: box.backupDir, connection: box.cluster.connection(database: box.database), command: "mxbackup prune", databaseLock: false)
        let refused = try box.run(["adopt", "--all"])
        #expect(refused.exitCode == 3 && refused.stderr.contains("another mxbackup run holds the lock"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: Manifest.path(forBackup: legacy)))
        lock.release()
        #expect(try box.run(["adopt", "--all"]).exitCode == 0)
    }
}
