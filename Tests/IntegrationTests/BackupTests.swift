import Foundation
import MXBackupKit
import Testing

/// A backup is only as good as the restore it allows: each format is restored here with standard
/// tools only (zstd, gunzip, gpg, psql) and compared with the source, table by table.
@Suite struct BackupTests {
    @Test func zstdBackupRestoresWithStandardToolsAndMatchesSource() throws {
        let box = try Sandbox()
        let result = try box.run(["backup"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let backup = try box.onlyBackup()
        #expect(backup.hasSuffix(".sql.zst"))
        #expect(fileMode(backup) == 0o600)
        #expect(fileMode(box.backupDir) == 0o700)
        #expect(fileMode(Manifest.path(forBackup: backup)) == 0o600)

        let restored = try box.restoreWithStandardTools("zstd -dc '\(backup)'")
        var source = try box.cluster.contentChecksums(database: box.database)
        let copy = try box.cluster.contentChecksums(database: restored)
        // One-time keys are left out by default (Synapse's backup advice); everything else is equal.
        #expect(source.removeValue(forKey: "e2e_one_time_keys_json")?.hasPrefix("100:") == true)
        #expect(copy["e2e_one_time_keys_json"]?.hasPrefix("0:") == true)
        #expect(copy.filter { $0.key != "e2e_one_time_keys_json" } == source)
    }

    @Test func manifestDescribesTheDumpedDatabase() throws {
        let box = try Sandbox(serverName: "chat.example.com")
        #expect(try box.run(["backup"]).exitCode == 0)
        let backup = try box.onlyBackup()
        let manifest = try box.manifest(of: backup)
        let db = box.database
        func count(_ table: String) throws -> Int64 { Int64(try box.cluster.scalar("SELECT count(*) FROM \(table)", database: db))! }
        #expect(manifest.rowCounts.users == (try count("users")))
        #expect(manifest.rowCounts.rooms == (try count("rooms")))
        #expect(manifest.rowCounts.events == (try count("events")))
        #expect(manifest.rowCounts.localMediaRepository == (try count("local_media_repository")))
        #expect(manifest.maxStreamOrdering == Int64(try box.cluster.scalar("SELECT max(stream_ordering) FROM events", database: db)))
        #expect(manifest.schemaVersion == 88)
        #expect(manifest.schemaCompatVersion == 85)
        #expect(manifest.serverName == "chat.example.com")
        #expect(manifest.database == db)
        #expect(manifest.serverVersion.hasPrefix("15."))
        #expect(manifest.databaseSize > 0)
        #expect(manifest.excludedTableData == ["public.e2e_one_time_keys_json"])
        #expect(manifest.file.sha256 == (try SHA256Hasher.hex(of: backup)))
        #expect(manifest.file.size == (try FileManager.default.attributesOfItem(atPath: backup)[.size] as! NSNumber).int64Value)
        #expect(manifest.encryption.mode == "none")
        let text = try String(contentsOfFile: Manifest.path(forBackup: backup), encoding: .utf8)
        #expect(!text.contains(box.cluster.password))
    }

    @Test func legacyLayoutToAnUntrustedImportedPublicKeyDecryptsWithTheSecretKey() throws {
        let owner = try Keyring.generate()
        let server = try owner.publicOnly()  // this machine holds only the imported public key
        let box = try Sandbox()
        let result = try box.run(["backup", "--compression", "gzip", "--encrypt-to", owner.fingerprint],
                                 environment: ["GNUPGHOME": server.home])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let backup = try box.onlyBackup()
        #expect(backup.hasSuffix(".sql.gz.gpg"))
        #expect((backup as NSString).lastPathComponent.range(of: #"^synapse_db_\d{8}_\d{6}\.sql\.gz\.gpg$"#, options: .regularExpression) != nil)
        let manifest = try box.manifest(of: backup)
        #expect(manifest.encryption.mode == "recipients" && manifest.encryption.recipients == [owner.fingerprint])
        // The server itself cannot read its backup…
        let attempt = try ProcessRunner.run(ProcessSpec("gpg", ["--batch", "--homedir", server.home, "-d", backup]))
        #expect(!attempt.termination.succeeded)
        // …the key owner can, with the legacy restore commands.
        let restored = try box.restoreWithStandardTools("gpg --batch -q --homedir '\(owner.home)' -d '\(backup)' | gunzip")
        #expect(try box.cluster.contentChecksums(database: restored)["events"] == box.cluster.contentChecksums(database: box.database)["events"])
    }

    @Test func symmetricPassphraseNeverReachesArgv() throws {
        let box = try Sandbox()
        let passphrase = "correct horse battery staple \(UUID().uuidString)"
        let passphraseFile = box.root + "/passphrase"
        try write(passphrase + "\n", to: passphraseFile, mode: 0o600)
        // A stand-in gpg that records its arguments, then runs the real one.
        try box.shim("gpg", "printf '%s\\n' \"$*\" >> '\(box.root)/gpg.argv'; exec /usr/bin/gpg \"$@\"")
        let home = try makeTemporaryDirectory("mxbackup-gpgsym")
        let result = try box.run(["backup", "--passphrase-file", passphraseFile],
                                 environment: ["PATH": box.binDir + ":" + ProcessInfo.processInfo.environment["PATH"]!, "GNUPGHOME": home])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let argv = try String(contentsOfFile: box.root + "/gpg.argv", encoding: .utf8)
        #expect(argv.contains("--passphrase-fd 3"))
        #expect(!argv.contains(passphrase))
        #expect(!result.stderr.contains(passphrase) && !result.stdout.contains(passphrase))
        let backup = try box.onlyBackup()
        #expect(backup.hasSuffix(".sql.zst.gpg"))
        #expect(try box.manifest(of: backup).encryption.mode == "symmetric")
        let restored = try box.restoreWithStandardTools(
            "gpg --batch -q --homedir '\(home)' --pinentry-mode loopback --passphrase-file '\(passphraseFile)' -d '\(backup)' | zstd -dc")
        #expect(try box.cluster.scalar("SELECT count(*) FROM users", database: restored) == "20")
    }

    @Test func oneTimeKeysAreKeptOnlyWhenAsked() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup", "--include-one-time-keys"]).exitCode == 0)
        let backup = try box.onlyBackup()
        #expect(try box.manifest(of: backup).excludedTableData.isEmpty)
        #expect(try box.manifest(of: backup).tableRows["public.e2e_one_time_keys_json"] == 100)
        let restored = try box.restoreWithStandardTools("zstd -dc '\(backup)'")
        #expect(try box.cluster.scalar("SELECT count(*) FROM e2e_one_time_keys_json", database: restored) == "100")
    }

    @Test func jsonSummaryIsOneObjectOnStdout() throws {
        let box = try Sandbox()
        let result = try box.run(["backup", "--json"])
        #expect(result.exitCode == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["status"] as? String == "ok")
        #expect(object?["file"] as? String == (try box.onlyBackup()))
        #expect(object?["sha256"] as? String == (try SHA256Hasher.hex(of: box.onlyBackup())))
    }
}
