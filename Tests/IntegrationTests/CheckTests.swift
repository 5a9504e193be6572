import Foundation
import MXBackupKit
import Testing

/// verify, drill, doctor and status: each problem provoked for real and reported with its reason or fix.
@Suite struct CheckTests {
    private func copy(_ path: String, to name: String, in box: Sandbox, withManifest: Bool = true) throws -> String {
        let target = box.backupDir + "/" + name
        try FileManager.default.copyItem(atPath: path, toPath: target)
        if withManifest { try FileManager.default.copyItem(atPath: Manifest.path(forBackup: path), toPath: Manifest.path(forBackup: target)) }
        return target
    }

    @Test func verifyPassesGoodFilesAndFailsEachDefectWithItsReason() throws {
        let box = try Sandbox()
        let keyring = try Keyring.generate()
        let env = ["GNUPGHOME": keyring.home]
        #expect(try box.run(["backup", "--encrypt-to", keyring.fingerprint], environment: env).exitCode == 0)
        let encrypted = try box.onlyBackup()
        sleep(1)
        #expect(try box.run(["backup"]).exitCode == 0)
        let plain = box.backupFiles().filter { $0.hasSuffix(".sql.zst") }.map { box.backupDir + "/" + $0 }[0]
        // A legacy file made with the legacy command, without manifest.
        let legacy = try box.legacyBackup(in: box.backupDir)

        let good = try box.run(["verify", encrypted, plain, legacy], environment: env)
        #expect(good.exitCode == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("OK: \(legacy): gzip > plain") && good.stdout.contains("every check but the checksum"))

        var cases: [(file: String, reason: String)] = []
        let truncated = try copy(plain, to: "synapse_db_20250101_000001.sql.zst", in: box)
        try FileHandle(forWritingAtPath: truncated)!.truncate(atOffset: 5000)
        cases.append((truncated, "size"))
        let cipher = try copy(encrypted, to: "synapse_db_20250101_000002.sql.zst.gpg", in: box, withManifest: false)
        try FileManager.default.moveItem(atPath: cipher, toPath: box.backupDir + "/synapse_db_20250101_000002.sql.gz.gpg")
        try flip(box.backupDir + "/synapse_db_20250101_000002.sql.gz.gpg")  // no manifest: gpg itself must notice
        cases.append((box.backupDir + "/synapse_db_20250101_000002.sql.gz.gpg", "decryption failed"))
        let compressed = box.backupDir + "/synapse_db_20250101_000003.sql.gz"
        try FileManager.default.copyItem(atPath: legacy, toPath: compressed)
        try flip(compressed)
        cases.append((compressed, "corrupt"))
        let noManifest = try copy(plain, to: "synapse_db_20250101_000004.sql.zst", in: box, withManifest: false)
        cases.append((noManifest, "manifest"))
        let wrongSum = try copy(plain, to: "synapse_db_20250101_000005.sql.zst", in: box)
        try flip(wrongSum, at: 0.3)
        cases.append((wrongSum, "differs from its manifest"))
        let empty = box.backupDir + "/synapse_db_20250101_000006.sql.gz"
        try write("", to: empty, mode: 0o600)
        cases.append((empty, "empty"))
        let trailing = box.backupDir + "/synapse_db_20250101_000007.sql.gz"
        try FileManager.default.copyItem(atPath: legacy, toPath: trailing)
        let handle = FileHandle(forWritingAtPath: trailing)!
        handle.seekToEndOfFile()
        handle.write(Data("garbage".utf8))
        try handle.close()
        cases.append((trailing, "trailing garbage"))

        for (file, reason) in cases {
            let result = try box.run(["verify", file], environment: env)
            #expect(result.exitCode == 1, "\(file)")
            #expect(result.stdout.hasPrefix("FAILED: \(file): ") && result.stdout.contains(reason), "\(file): \(result.stdout)")
        }
        let wrongKey = try box.run(["verify", encrypted], environment: ["GNUPGHOME": try Keyring.generate().home])
        #expect(wrongKey.exitCode == 1 && wrongKey.stdout.contains("no secret key"), "\(wrongKey.stdout)")

        let json = try box.run(["verify", "--json", plain, empty], environment: env)
        let verdicts = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(verdicts.map { $0["ok"] as? Bool } == [true, false])
        // Remembered for status: the newest file (by name date) is the mxbackup one that passed.
        #expect(History.read(directory: box.backupDir).filter { $0.kind == .verify }.count >= cases.count + 3)
    }

    @Test func drillGreenRedAndTheEstimateInRestoreDryRun() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let backup = try box.onlyBackup()
        let before = try box.cluster.contentChecksums(database: box.database)
        let admin = DatabaseAdmin(box.cluster.connection(database: box.database))

        let noEstimate = try box.run(["restore", backup, "--dry-run"])
        #expect(noEstimate.stdout.contains("no drill history yet"))

        let green = try box.run(["drill", "--latest"])
        #expect(green.exitCode == 0, "\(green.stdout)\(green.stderr)")
        #expect(green.stdout.contains("drill OK"))
        #expect(try admin.databases(prefix: box.database + "_drill_").isEmpty)
        #expect(try box.cluster.contentChecksums(database: box.database) == before)

        let dryRun = try box.run(["restore", backup, "--dry-run"])
        #expect(dryRun.stdout.contains("expected restore ≈"), "\(dryRun.stdout)")

        let broken = try box.brokenDump()
        let red = try box.run(["drill", broken])
        #expect(red.exitCode == 1)
        #expect(red.stdout.contains("drill FAILED") && red.stdout.contains("division by zero"), "\(red.stdout)")
        #expect(try admin.databases(prefix: box.database + "_drill_").isEmpty)
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        let audit = AuditLog.read(box.backupDir + "/audit.jsonl").filter { $0.operation == "drill" }
        #expect(audit.map(\.outcome) == ["done", "failed"])
    }

    @Test func doctorReportsEachProblemWithItsFix() throws {
        let box = try Sandbox()
        // A role without CREATEDB, a database with another collation.
        let role = "nocreate_\(UUID().uuidString.prefix(6).lowercased())"
        let otherDB = "coll_\(UUID().uuidString.prefix(6).lowercased())"
        try box.cluster.superuser("CREATE ROLE \(role) LOGIN PASSWORD '\(box.cluster.password)'")
        try box.cluster.superuser("CREATE DATABASE \(otherDB) OWNER \(role) ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0")
        try box.writeConfig(postgres: [], extra: "")
        let config = try String(contentsOfFile: box.configPath, encoding: .utf8)
            .replacingOccurrences(of: "user: synapse", with: "user: \(role)").replacingOccurrences(of: "database: \(box.database)", with: "database: \(otherDB)")
        try write(config, to: box.configPath, mode: 0o600)
        // A stale backup: its manifest says it was made three days ago.
        try FileManager.default.createDirectory(atPath: box.backupDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stale = box.backupDir + "/synapse_db_20200101_000000.sql.gz"
        try write("x", to: stale, mode: 0o600)
        var times = [timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0), timeval(tv_sec: time(nil) - 3 * 86400, tv_usec: 0)]
        utimes(stale, &times)

        let result = try box.run(["doctor"])
        #expect(result.exitCode == 1)
        let out = result.stdout
        #expect(out.contains("[FAIL] privileges for restore") && out.contains("ALTER ROLE \"\(role)\" CREATEDB"), "\(out)")
        #expect(out.contains("[FAIL] database locale: encoding UTF8, collation C.UTF-8") && out.contains("collation and ctype C"), "\(out)")
        #expect(out.contains("[FAIL] last backup") && out.contains("fix: run mxbackup backup"), "\(out)")
        #expect(out.contains("[WARN] encryption: backups are not encrypted"))

        // A world-readable secret file: the configuration does not load, and doctor says how to fix it.
        chmod(box.cluster.passwordFile, 0o644)
        defer { chmod(box.cluster.passwordFile, 0o600) }
        let loose = try box.run(["doctor"])
        #expect(loose.exitCode == 1)
        #expect(loose.stdout.contains("[FAIL] configuration") && loose.stdout.contains("chmod 600 \(box.cluster.passwordFile)"), "\(loose.stdout)")
    }

    @Test func statusExitCodesTellMonitoringWhatIsWrong() throws {
        let box = try Sandbox()
        #expect(try box.run(["status"]).exitCode == 4)  // no backup at all
        #expect(try box.run(["backup"]).exitCode == 0)
        #expect(try box.run(["verify", "--latest"]).exitCode == 0)
        var result = try box.run(["status", "--json"])
        #expect(result.exitCode == 0, "\(result.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["newest"] as? [String: Any])?["verified"] as? Bool == true)
        #expect(object["count"] as? Int == 1)
        #expect(object["lock"] == nil || object["lock"] is NSNull)

        #expect(try box.run(["status", "--max-age", "0s"]).exitCode == 4)  // stale
        try (try FileHandle(forWritingAtPath: box.onlyBackup()))!.truncate(atOffset: 100)
        #expect(try box.run(["verify", "--latest"]).exitCode == 1)
        result = try box.run(["status"])
        #expect(result.exitCode == 5 && result.stdout.contains("failed verification"), "\(result.stdout)")

        // A held lock is shown with its holder.
        let lock = try OperationLock(directory: box.backupDir, connection: box.cluster.connection(database: box.database), command: "mxbackup backup (test holder)")
        #expect(try box.run(["status"]).stdout.contains("test holder"))
        lock.release()
    }

    @Test func statusReportsAFailedDrill() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let broken = try box.brokenDump()
        #expect(try box.run(["drill", broken]).exitCode == 1)
        let result = try box.run(["status"])
        #expect(result.exitCode == 6 && result.stdout.contains("the last drill failed"), "\(result.stdout)")
    }
}
