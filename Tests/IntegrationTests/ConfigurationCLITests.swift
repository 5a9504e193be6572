import Foundation
import MXBackupKit
import Testing

/// Configuration mistakes are caught before any work, with the file, the key and the fix.
@Suite struct ConfigurationCLITests {
    @Test func unknownKeyNamesFileLineAndKey() throws {
        let box = try Sandbox(fixture: false)
        try box.writeConfig(backup: ["compresion: zstd"])
        let result = try box.run(["backup"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains(box.configPath) && result.stderr.contains("unknown key 'backup.compresion'"), "\(result.stderr)")
        #expect(box.backupFiles() == [])
    }

    @Test func wrongTypeNamesTheKey() throws {
        let box = try Sandbox(fixture: false)
        try box.writeConfig(backup: ["level: high"])
        let result = try box.run(["backup"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("backup.level: expected a whole number"), "\(result.stderr)")
    }

    @Test func aMistypedServicesFlagIsRefusedByRestoreAndRollback() throws {
        let box = try Sandbox(fixture: false)
        for arguments in [["rollback", "--services", "sytemd", "--yes"], ["restore", box.root + "/any.sql", "--services", "sytemd", "--yes"]] {
            let result = try box.run(arguments)
            #expect(result.exitCode == 2, "\(arguments[0]): \(result.stderr)")
            #expect(result.stderr.contains("services.kind (from --services): 'sytemd' is not one of none, compose, systemd, command"),
                    "\(arguments[0]): \(result.stderr)")
        }
        let compression = try box.run(["backup", "--compression", "lz4"])
        #expect(compression.exitCode == 2 && compression.stderr.contains("backup.compression (from --compression): 'lz4' is not one of zstd, gzip"),
                "\(compression.stderr)")
        let strategy = try box.run(["restore", box.root + "/any.sql", "--strategy", "swapp", "--yes"])
        #expect(strategy.exitCode == 2 && strategy.stderr.contains("restore.strategy (from --strategy): 'swapp' is not one of swap, recreate, in-place"),
                "\(strategy.stderr)")
    }

    @Test func aMistypedEnumerationInTheFileNamesFileAndLine() throws {
        let box = try Sandbox(fixture: false)
        for (extra, key, bad) in [("services:\n  kind: sytemd", "services.kind", "sytemd"), ("restore:\n  strategy: swapp", "restore.strategy", "swapp")] {
            try box.writeConfig(extra: extra)
            let lines = try String(contentsOfFile: box.configPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let line = (lines.firstIndex { $0.hasSuffix(": " + bad) } ?? -2) + 1
            let result = try box.run(["rollback", "--yes"])
            #expect(result.exitCode == 2)
            #expect(result.stderr.contains("\(box.configPath):\(line): \(key): must be one of") && result.stderr.contains("got '\(bad)'"), "\(result.stderr)")
        }
    }

    @Test func missingOrUnreadableConfigFileIsAnError() throws {
        let box = try Sandbox(fixture: false)
        let missing = box.root + "/nope.yaml"
        var result = try box.run(["backup", "--config", missing])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains(missing) && result.stderr.contains("not found"), "\(result.stderr)")
        result = try box.run(["backup", "--config", box.root])  // a directory cannot be read as a file
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("cannot read the configuration file"), "\(result.stderr)")
    }

    @Test func looseSecretFileIsRefused() throws {
        let box = try Sandbox(fixture: false)
        try box.writeConfig(password: TestCluster.shared.password)
        chmod(box.root + "/wrong.password", 0o644)
        let result = try box.run(["backup"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("readable by group or others") && result.stderr.contains("chmod 600"), "\(result.stderr)")
        #expect(!result.stderr.contains(TestCluster.shared.password))
        #expect(box.backupFiles() == [])
    }

    @Test func inlineSecretOnlyInAPrivateConfigFile() throws {
        let box = try Sandbox(fixture: true)
        try box.writeConfig(extra: "gpg:\n  passphrase: inline-secret-123")
        chmod(box.configPath, 0o644)
        var result = try box.run(["backup"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("gpg.passphrase") && result.stderr.contains("readable by group or others"), "\(result.stderr)")
        chmod(box.configPath, 0o600)
        result = try box.run(["backup"], environment: ["GNUPGHOME": try makeTemporaryDirectory("mxbackup-gpgsym")])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(try box.onlyBackup().hasSuffix(".sql.zst.gpg"))
    }

    @Test func configCommandRedactsEverySecretAndNamesSources() throws {
        let box = try Sandbox(fixture: false)
        let envFile = box.root + "/.env"
        try write("POSTGRES_PASSWORD=env-secret-1\nTELEGRAM_BOT_TOKEN=123:token-secret\nTELEGRAM_CHAT_ID=-100\nBACKUP_RETENTION_DAYS=9\n",
                  to: envFile, mode: 0o600)
        let result = try box.run(["config", "--env-file", envFile], environment: ["MXBACKUP_GPG_PASSPHRASE": "gpg-secret-2"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        for secret in ["env-secret-1", "token-secret", "gpg-secret-2", TestCluster.shared.password] {
            #expect(!result.stdout.contains(secret))
        }
        #expect(result.stdout.contains("keep_days: 9  # from \(envFile)"))
        #expect(result.stdout.contains("bot_token: '<redacted>'"))
        #expect(result.stdout.contains("port: \(TestCluster.shared.port)  # from \(box.configPath)"))
    }

    /// A configuration file can name the scripts' .env (legacy.env_file), relative to its own directory;
    /// what mxbackup does not use of it is said by config and doctor.
    @Test func legacyEnvFileKeyIsRelativeToTheConfigFileAndItsUnusedVariablesAreNoted() throws {
        let box = try Sandbox(fixture: false)
        let deployment = box.root + "/deploy"
        try FileManager.default.createDirectory(atPath: deployment, withIntermediateDirectories: true)
        try write("BACKUP_RETENTION_DAYS=5\nSYNAPSE_SERVER_NAME=matrix.example.org\nRCLONE_REMOTE=b2\nDOMAIN=example.org\n", to: deployment + "/.env", mode: 0o600)
        try box.writeConfig(extra: "legacy:\n  env_file: deploy/.env")
        let elsewhere = try makeTemporaryDirectory("mxbackup-cwd")
        let shown = try ProcessRunner.run(ProcessSpec("bash", ["-c", "cd '\(elsewhere)' && exec '\(Sandbox.binary)' config"], environment: ["MXBACKUP_CONFIG": box.configPath]))
        #expect(shown.termination.succeeded, "\(shown.stderr)")
        #expect(shown.text.contains("keep_days: 5  # from \(deployment)/.env"), "\(shown.text)")
        #expect(shown.text.contains("server_name: 'matrix.example.org'  # from \(deployment)/.env"))
        #expect(shown.text.contains("env_file: '\(deployment)/.env'  # from \(box.configPath)"))
        #expect(shown.text.contains("# note: \(deployment)/.env:3: RCLONE_REMOTE is not used by mxbackup"))
        #expect(shown.text.contains("# note: \(deployment)/.env:4: DOMAIN is not used by mxbackup"))
        let doctor = try box.run(["doctor", "--json"])
        let checks = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [[String: Any]])
        let notes = checks.filter { $0["name"] as? String == "not used" }
        #expect(notes.map { $0["status"] as? String } == ["warn", "ok"], "\(doctor.stdout)")
        #expect((notes.first?["detail"] as? String)?.contains("RCLONE_REMOTE") == true)
    }

    @Test func initWritesAPrivateTemplateThatLoads() throws {
        let box = try Sandbox(fixture: false)
        let path = box.root + "/new.yaml"
        #expect(try box.run(["init", "--output", path]).exitCode == 0)
        #expect(fileMode(path) == 0o600)
        #expect(try box.run(["init", "--output", path]).exitCode == 3)  // never overwrites silently
        let shown = try box.run(["config", "--config", path])
        #expect(shown.exitCode == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("compression: 'zstd'  # from \(path)"))
    }
}
