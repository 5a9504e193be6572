import Foundation
import MXBackupKit
import Testing

/// What a restore keeps of the data it replaced is a safety copy, whatever its form (a schema inside the
/// live database, a safety backup file): listed, rolled back to, pruned after `restore.safety_keep_hours`,
/// and never taken for a backup.
@Suite struct SafetyCopyTests {
    private func backup(_ box: Sandbox) throws -> Manifest {
        let result = try box.run(["backup"])
        guard result.exitCode == 0 else { throw MXError.failed(result.stderr) }
        let newest = try #require(try BackupCatalog.scan(box.backupDir).entries.first)
        return try #require(newest.manifest)
    }

    @Test func theSchemaAnInPlaceRestoreSetAsideIsASafetyCopy() throws {
        let box = try Sandbox()
        let before = try backup(box)
        let file = try #require(try BackupCatalog.scan(box.backupDir).entries.first).path
        try box.cluster.psql(database: box.database, ["-c", "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1)"])
        let withLateUser = try box.cluster.contentChecksums(database: box.database)
        let synapse = try FakeSynapse(box, moreConfig: "restore:\n  safety_keep_hours: 0\nretention:\n  keep_last: 5")
        defer { synapse.stop() }
        let restored = try box.run(["restore", file, "--strategy", "in-place", "--yes"])
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        sleep(1)  // backup names have one-second resolution

        // The next backup holds Synapse's data once, not the set-aside schema as well.
        let after = try backup(box)
        #expect(after.tableRows.count == before.tableRows.count, "\(after.tableRows.keys.sorted())")
        #expect(after.dumpSize < before.dumpSize * 11 / 10, "\(after.dumpSize) vs \(before.dumpSize)")
        #expect(after.excludedSchemas?.contains("public_pre_restore_*") == true)

        let listed = try box.run(["list"])
        #expect(listed.stdout.contains("safety copy (schema in \(box.database)): public_pre_restore_"), "\(listed.stdout)")
        let status = try box.run(["status", "--json"])
        #expect(status.stdout.contains("public_pre_restore_"), "\(status.stdout)")

        let rollback = try box.run(["rollback", "--yes"])
        #expect(rollback.exitCode == 0, "\(rollback.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == withLateUser)
        #expect(synapse.healthy())
        let admin = DatabaseAdmin(box.cluster.connection(database: box.database))
        let left = try SafetyCopies.list(admin, live: box.database)
        #expect(left.map(\.kind) == ["rolled_back"] && left.first?.schemaOf == box.database, "\(left)")

        let pruned = try box.run(["prune"])
        #expect(pruned.exitCode == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("dropped schema public_rolled_back_"), "\(pruned.stdout)")
        #expect(try SafetyCopies.list(admin, live: box.database).isEmpty)
        #expect(try box.cluster.contentChecksums(database: box.database) == withLateUser)
        #expect(try box.run(["rollback", "--yes"]).exitCode == 3)  // nothing left to roll back to
    }

    @Test func recreatesSafetyBackupIsNeverTakenForABackup() throws {
        let box = try Sandbox()
        _ = try backup(box)
        let ordinary = try box.onlyBackup()
        let synapse = try FakeSynapse(box, moreConfig: "retention:\n  keep_last: 0")
        defer { synapse.stop() }
        sleep(1)
        let restored = try box.run(["restore", ordinary, "--strategy", "recreate", "--yes"])
        #expect(restored.exitCode == 0, "\(restored.stderr)")

        let catalog = try BackupCatalog.scan(box.backupDir)
        let safety = try #require(catalog.safetyBackups.first)
        #expect(safety.name.hasPrefix("synapse_db_safety_") && BackupName.parse(safety.name)?.kind == .safety)
        #expect(safety.manifest?.purpose == "safety")
        #expect(catalog.entries.map(\.path) == [ordinary])  // what push, verify --latest and restore latest pick

        let listed = try box.run(["list", "--json"])
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
        #expect((listing["backups"] as? [[String: Any]])?.map { $0["file"] as? String } == [ordinary])
        #expect((listing["safety_backups"] as? [[String: Any]])?.map { $0["file"] as? String } == [safety.path])
        let status = try JSONSerialization.jsonObject(with: Data(try box.run(["status", "--json"]).stdout.utf8)) as? [String: Any]
        #expect((status?["newest"] as? [String: Any])?["file"] as? String == ordinary)

        // Newer than the ordinary backup, but the ordinary one is what prune protects; the safety
        // backup stays for restore.safety_keep_hours, then goes.
        let kept = try box.run(["prune"])
        #expect(kept.exitCode == 0, "\(kept.stderr)")
        #expect(kept.stdout.split(separator: "\n").contains { $0.hasPrefix("keep") && $0.contains(ordinary) && $0.contains("newest verified backup") }, "\(kept.stdout)")
        #expect(FileManager.default.fileExists(atPath: safety.path))
        try box.writeConfig(extra: "retention:\n  keep_last: 0\nrestore:\n  safety_keep_hours: 0")
        #expect(try box.run(["prune"]).exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: safety.path) && !FileManager.default.fileExists(atPath: Manifest.path(forBackup: safety.path)))
        #expect(FileManager.default.fileExists(atPath: ordinary))
    }

    @Test func pruneTouchesOnlyThisDatabasesBackups() throws {
        let box = try Sandbox()
        let legacy = try box.legacyBackup(name: "synapse_db_20240101_030000.sql.gz", in: box.backupDir)
        _ = try backup(box)
        let ours = try box.onlyBackupOfMXBackup()
        var foreign = [box.backupDir + "/users_only.sql", box.backupDir + "/notes.dump",
                       box.backupDir + "/synapse_db_20240101_030000_copy.sql.gz", box.backupDir + "/report.partial"]
        try FileManager.default.copyItem(atPath: legacy, toPath: box.backupDir + "/pre-restore-backup-20240101_030000.sql.gz")
        foreign.append(box.backupDir + "/pre-restore-backup-20240101_030000.sql.gz")
        for path in foreign where !FileManager.default.fileExists(atPath: path) { try write("SELECT 1;\n", to: path, mode: 0o600) }
        // Another database's backup (its manifest says so) in the same directory.
        var other = try box.manifest(of: ours)
        other.database = "another_db"
        other.createdAt = "2024-01-02T03:00:00Z"
        let otherPath = box.backupDir + "/synapse_db_20240102_030000.sql.zst"
        try FileManager.default.copyItem(atPath: ours, toPath: otherPath)
        try FileSink.writeAtomically(try other.encoded(), to: Manifest.path(forBackup: otherPath))
        foreign.append(otherPath)
        var old = [timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0), timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0)]
        for path in foreign { utimes(path, &old) }

        let pruned = try box.run(["prune", "--keep-last", "1"])
        #expect(pruned.exitCode == 0, "\(pruned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: legacy))  // this database's old legacy backup goes
        for path in foreign { #expect(FileManager.default.fileExists(atPath: path), "\(path) was deleted") }
        #expect(FileManager.default.fileExists(atPath: Manifest.path(forBackup: otherPath)))
        #expect(FileManager.default.fileExists(atPath: ours))
    }
}
