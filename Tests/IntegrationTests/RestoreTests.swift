import Foundation
import MXBackupKit
import Testing

/// Restores end with the backup's data in place and the right owner everywhere; every refusal and every
/// failure leaves the live database exactly as it was (compared table by table).
@Suite struct RestoreTests {
    private func scratchLeftovers(_ box: Sandbox) throws -> [String] {
        try DatabaseAdmin(box.cluster.connection(database: box.database)).databases(prefix: box.database + "_restore_")
    }

    private func lastAudit(_ box: Sandbox) -> AuditRecord? { AuditLog.read(box.backupDir + "/audit.jsonl").last }

    private func addLateUser(_ box: Sandbox) throws {
        try box.cluster.psql(database: box.database, ["-c", "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1)"])
    }

    @Test func swapRestoresALegacyEncryptedBackupAndKeepsThePreviousDatabase() throws {
        let box = try Sandbox()
        let keyring = try Keyring.generate()
        let backup = try box.legacyBackup(encryptTo: keyring)
        var before = try box.cluster.contentChecksums(database: box.database)
        try addLateUser(box)
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }

        let result = try box.run(["restore", backup, "--yes"], environment: ["GNUPGHOME": keyring.home])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Downtime (Synapse stopped)"), "\(result.stdout)")
        var after = try box.cluster.contentChecksums(database: box.database)
        #expect(after.removeValue(forKey: "e2e_one_time_keys_json")?.hasPrefix("0:") == true)  // emptied on purpose
        before.removeValue(forKey: "e2e_one_time_keys_json")
        #expect(after == before)
        #expect(try box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: box.database) == "0")
        #expect(synapse.healthy())
        #expect(synapse.events == ["stopped", "started"])
        // The previous database is kept, with the late user, for rollback.
        let parked = try DatabaseAdmin(box.cluster.connection(database: box.database)).databases(prefix: box.database + "_pre_restore_")
        #expect(parked.count == 1)
        #expect(try box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: parked[0]) == "1")
        #expect(try box.cluster.scalar("SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'", database: box.database) == "synapse")
        let audit = try #require(lastAudit(box))
        let digest = try SHA256Hasher.hex(of: backup)
        #expect(audit.outcome == "done" && audit.downtimeSeconds != nil && audit.sha256 == digest)
        #expect(try scratchLeftovers(box).isEmpty)
    }

    @Test func targetDatabaseClonesMXBackupAndCustomFormatBackups() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let zstd = try box.onlyBackup()
        let custom = try box.legacyBackup(name: "synapse_db_20240101_030000.dump")
        let source = try box.cluster.contentChecksums(database: box.database)
        for (index, file) in [zstd, custom].enumerated() {
            let target = "\(box.database)_clone\(index)"
            let result = try box.run(["restore", file, "--target-db", target])
            #expect(result.exitCode == 0, "\(file): \(result.stderr)")
            let copy = try box.cluster.contentChecksums(database: target)
            #expect(copy.filter { $0.key != "e2e_one_time_keys_json" } == source.filter { $0.key != "e2e_one_time_keys_json" })
            #expect(try box.cluster.scalar("SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'", database: target) == "synapse")
            #expect(try box.cluster.scalar("SELECT datcollate || datctype || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '\(target)'", database: target) == "CCUTF8")
        }
        #expect(try box.cluster.contentChecksums(database: box.database) == source)
    }

    enum Bad: String, CaseIterable, Sendable {
        case truncated, flippedCompressedByte, flippedCiphertextByte, wrongKey, empty, notPostgres, notSynapse, newerSchema, otherServer, sqlErrorHalfWay, manifestMismatch
    }

    @Test(arguments: Bad.allCases)
    func refusalsAndFailuresLeaveTheLiveDatabaseAsItWas(_ bad: Bad) throws {
        let box = try Sandbox()
        let keyring = try Keyring.generate()
        var env: [String: String] = ["GNUPGHOME": keyring.home]
        let file: String
        let expected: String
        switch bad {
        case .truncated:
            #expect(try box.run(["backup"]).exitCode == 0)
            file = box.root + "/cut.sql.zst"
            let data = try Data(contentsOf: URL(fileURLWithPath: try box.onlyBackup()))
            try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: file))
            expected = "truncated"
        case .flippedCompressedByte:
            file = try box.legacyBackup()
            try flip(file)
            expected = "corrupt"
        case .flippedCiphertextByte:
            file = try box.legacyBackup(encryptTo: keyring)
            try flip(file)
            expected = "decryption failed"
        case .wrongKey:
            file = try box.legacyBackup(encryptTo: keyring)
            env["GNUPGHOME"] = try Keyring.generate().home
            expected = "no secret key"
        case .empty:
            file = box.root + "/empty.sql.gz"
            try write("", to: file, mode: 0o600)
            expected = "empty"
        case .notPostgres:
            file = box.root + "/photo.sql.gz"
            try write(String(repeating: "not a dump\n", count: 100), to: file, mode: 0o600)
            expected = "not a PostgreSQL dump"
        case .notSynapse:
            let other = try box.cluster.createDatabase(prefix: "plain", fixture: false)
            try box.cluster.psql(database: other, ["-c", "CREATE TABLE notes (id int); INSERT INTO notes VALUES (1)"])
            file = try box.editedDump(name: "plain.sql", database: other) { $0 }
            expected = "not a Synapse database"
        case .newerSchema:
            file = try box.newerSchemaDump()
            expected = "upgrade Synapse first"
        case .otherServer:
            let other = try box.cluster.createDatabase(prefix: "other", serverName: "other.example.net")
            file = try box.legacyBackup(database: other)
            expected = "belongs to other.example.net"
        case .sqlErrorHalfWay:
            file = try box.brokenDump()
            expected = "division by zero"
        case .manifestMismatch:
            #expect(try box.run(["backup"]).exitCode == 0)
            file = try box.onlyBackup()
            try flip(file)
            expected = "differs from its manifest"
        }
        let before = try box.cluster.contentChecksums(database: box.database)
        let result = try box.run(["restore", file, "--yes"], environment: env)
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains(expected), "\(bad): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try scratchLeftovers(box).isEmpty)
        #expect(lastAudit(box)?.outcome == (bad == .sqlErrorHalfWay ? "failed" : "refused"))
    }

    @Test func unhealthySynapseAfterTheSwapIsRolledBackAutomatically() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box, maxCompat: 88)
        defer { synapse.stop() }
        let file = try box.newerSchemaDump()
        let before = try box.cluster.contentChecksums(database: box.database)
        // Refused without --force, Synapse undisturbed.
        var result = try box.run(["restore", file, "--yes"])
        #expect(result.exitCode == 3)
        #expect(synapse.events.isEmpty && synapse.healthy())
        // Forced: Synapse refuses the new schema, mxbackup swaps back.
        result = try box.run(["restore", file, "--yes", "--force"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("rolled back automatically"), "\(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(synapse.healthy())
        #expect(synapse.events == ["stopped", "started", "stopped", "started"])
        #expect(lastAudit(box)?.outcome == "rolled-back")
        #expect(try DatabaseAdmin(box.cluster.connection(database: box.database)).databases(prefix: box.database + "_failed_restore_").count == 1)
    }

    @Test func dryRunChangesNothingAndNoTerminalMeansYes() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let before = try box.cluster.contentChecksums(database: box.database)
        let dry = try box.run(["restore", try box.onlyBackup(), "--dry-run"])
        #expect(dry.exitCode == 0, "\(dry.stderr)")
        for section in ["PRE", "DURING", "POST", "CLEANUP", "[ok] schema compatibility", "Downtime"] { #expect(dry.stdout.contains(section)) }
        // A swap with a manifest reads the file while it loads: the dry run has not proved its SHA-256.
        #expect(dry.stdout.contains("[not checked] backup file") && !dry.stdout.contains("[ok] backup file"), "\(dry.stdout)")
        for line in dry.stdout.split(separator: "\n") where line.contains("not checked:") { #expect(line.contains("[not checked]"), "\(line)") }
        #expect(lastAudit(box)?.outcome == "dry-run")
        let noTTY = try box.run(["restore", try box.onlyBackup()])
        #expect(noTTY.exitCode == 3 && noTTY.stderr.contains("pass --yes"), "\(noTTY.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try scratchLeftovers(box).isEmpty)
    }

    /// A psql that starts loading, then stalls: the restore is caught in the middle of its load.
    private func stallingLoad(_ box: Sandbox) throws {
        try box.shim("psql", """
        if [[ " $* " == *" --no-psqlrc "* ]]; then
          head -c 20000 | /usr/bin/psql "$@" >/dev/null 2>&1
          sleep 120 & echo $! > '\(box.root)/stalled.pid'
          wait
          exit 1
        fi
        exec /usr/bin/psql "$@"
        """)
        try box.writeConfig(postgres: ["bin_dir: \(box.binDir)"])
    }

    @Test func sigtermDuringTheLoadDropsTheScratchDatabase() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let backup = try box.onlyBackup()
        try stallingLoad(box)
        let before = try box.cluster.contentChecksums(database: box.database)
        let stderrFD = open(box.root + "/stderr", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(stderrFD) }
        let child = try ChildProcess(box.spec(["restore", backup, "--yes"]), descriptors: [2: stderrFD])
        #expect(waitUntil(seconds: 30) { FileManager.default.fileExists(atPath: box.root + "/stalled.pid") })
        #expect(try scratchLeftovers(box).count == 1)
        kill(child.pid, SIGTERM)
        #expect(child.wait() == .exited(143))
        let stderr = try String(contentsOfFile: box.root + "/stderr", encoding: .utf8)
        #expect(stderr.contains("was not touched"), "\(stderr)")
        #expect(try scratchLeftovers(box).isEmpty)
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(lastAudit(box)?.outcome == "failed")
    }

    @Test func killDuringTheLoadIsFoundAndCleanedUpByTheNextRun() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let backup = try box.onlyBackup()
        try stallingLoad(box)
        let before = try box.cluster.contentChecksums(database: box.database)
        let child = try ChildProcess(box.spec(["restore", backup, "--yes"]), descriptors: [:])
        #expect(waitUntil(seconds: 30) { FileManager.default.fileExists(atPath: box.root + "/stalled.pid") })
        kill(child.pid, SIGKILL)
        child.wait()
        defer { kill(-child.pid, SIGKILL) }
        try box.writeConfig()  // the real psql again
        let refused = try box.run(["restore", backup, "--yes"])
        #expect(refused.exitCode == 3 && refused.stderr.contains("--resume-cleanup"), "\(refused.stderr)")
        #expect(try box.run(["list"]).stdout.contains("was interrupted while loading"))
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stderr)")
        #expect(cleanup.stdout.contains("dropped the scratch database"), "\(cleanup.stdout)")
        #expect(try scratchLeftovers(box).isEmpty)
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try box.run(["restore", backup, "--yes"]).exitCode == 0)
    }

    @Test func composeServicesStopAllAndStartMainBeforeWorkers() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let synapse = try FakeSynapse(box)  // serves /health; the stand-in docker only records
        defer { synapse.stop() }
        let log = box.root + "/docker.argv"
        try box.shim("docker", """
        printf '%s\\n' "$*" >> '\(log)'
        if [[ "$*" == *"ps --services"* ]]; then printf 'synapse\\nsynapse-worker-2\\nsynapse-worker-1\\nmatrix-postgres\\n'; fi
        """)
        try box.writeComposeConfig(synapsePort: synapse.port)
        let result = try box.run(["restore", try box.onlyBackup(), "--yes"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(calls == ["compose --project-directory /srv/matrix ps --services",
                          "compose --project-directory /srv/matrix stop synapse-worker-1 synapse-worker-2 synapse",
                          "compose --project-directory /srv/matrix start synapse",
                          "compose --project-directory /srv/matrix start synapse-worker-1 synapse-worker-2"])
    }

    @Test func rollbackBringsThePreviousDatabaseBackAndPruneDropsOldSafetyCopies() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let backup = try box.onlyBackup()
        try addLateUser(box)
        let withLateUser = try box.cluster.contentChecksums(database: box.database)
        let synapse = try FakeSynapse(box, moreConfig: "restore:\n  safety_keep_hours: 0\nretention:\n  keep_last: 5")
        defer { synapse.stop() }
        #expect(try box.run(["restore", backup, "--yes"]).exitCode == 0)
        #expect(try box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: box.database) == "0")
        let listed = try box.run(["list"])
        #expect(listed.stdout.contains("safety copy (database): \(box.database)_pre_restore_"), "\(listed.stdout)")

        let rollback = try box.run(["rollback", "--yes"])
        #expect(rollback.exitCode == 0, "\(rollback.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == withLateUser)
        #expect(synapse.healthy())
        #expect(synapse.events == ["stopped", "started", "stopped", "started"])
        #expect(lastAudit(box)?.operation == "rollback" && lastAudit(box)?.outcome == "done")
        let admin = DatabaseAdmin(box.cluster.connection(database: box.database))
        #expect(try SafetyCopies.list(admin, live: box.database).map(\.kind) == ["rolled_back"])

        let pruned = try box.run(["prune"])
        #expect(pruned.exitCode == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("dropped database \(box.database)_rolled_back_"), "\(pruned.stdout)")
        #expect(try SafetyCopies.list(admin, live: box.database).isEmpty)
        #expect(try box.run(["rollback", "--yes"]).exitCode == 3)  // nothing left to roll back to
    }

    @Test func tooLittleFreeDiskIsRefusedBeforeAnythingIsTouched() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        try box.cluster.superuser("GRANT pg_read_all_settings TO synapse")
        // A df that reports 1 KiB free where the server keeps its data.
        try box.shim("df", "printf 'Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/x 100 99 1 99%% /\\n'")
        let path = ["PATH": box.binDir + ":" + ProcessInfo.processInfo.environment["PATH"]!]
        let before = try box.cluster.contentChecksums(database: box.database)
        let refused = try box.run(["restore", try box.onlyBackup(), "--yes"], environment: path)
        #expect(refused.exitCode == 3)
        #expect(refused.stderr.contains("free disk on the database server") && refused.stderr.contains("1.0 KiB free"), "\(refused.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try scratchLeftovers(box).isEmpty)
        #expect(try box.run(["restore", try box.onlyBackup(), "--yes", "--force"], environment: path).exitCode == 0)
    }

    @Test func canaryLoginAndServerNoticesFrameTheRestore() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let password = "canary-\(UUID().uuidString)"
        let token = "admin-\(UUID().uuidString)"
        let config = "  canary_user: '@user2:example.org'\n  canary_password: \(password)\n  admin_token: \(token)"
        var synapse = try FakeSynapse(box, moreConfig: "", canaryPassword: password, adminToken: token)
        // The synapse section is written by FakeSynapse; add the canary and the token to it.
        try write(try String(contentsOfFile: box.configPath, encoding: .utf8).replacingOccurrences(of: "  health_timeout: 5", with: "  health_timeout: 5\n" + config),
                  to: box.configPath, mode: 0o600)
        defer { synapse.stop() }
        let result = try box.run(["restore", try box.onlyBackup(), "--yes"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let users = Int(try box.cluster.scalar("SELECT count(*) FROM users", database: box.database))!
        #expect(synapse.notices.filter { $0.text.contains("being restored") }.count == users)
        #expect(synapse.notices.filter { $0.text.contains("Maintenance is over") }.count == users)
        let audit = try String(contentsOfFile: box.backupDir + "/audit.jsonl", encoding: .utf8)
        for secret in [password, token] { #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret) && !audit.contains(secret)) }

        // A canary that cannot log in means the restored accounts are not right: roll back.
        synapse.stop()
        synapse = try FakeSynapse(box, canaryPassword: "another-password", adminToken: token)
        try write(try String(contentsOfFile: box.configPath, encoding: .utf8).replacingOccurrences(of: "  health_timeout: 5", with: "  health_timeout: 5\n" + config),
                  to: box.configPath, mode: 0o600)
        let before = try box.cluster.contentChecksums(database: box.database)
        let refused = try box.run(["restore", try box.onlyBackup(), "--yes"])
        #expect(refused.exitCode == 1)
        #expect(refused.stderr.contains("canary login of @user2:example.org refused") && refused.stderr.contains("rolled back"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(password))
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
    }

    @Test func aSessionMxbackupMayNotEndStopsTheSwapCleanly() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let before = try box.cluster.contentChecksums(database: box.database)
        // A superuser's session on the live database (an operator's psql): the Synapse role cannot end it.
        var spec = PostgresConnection(host: box.cluster.directory + "/socket", port: box.cluster.port, user: "postgres", database: box.database)
            .tool("psql", ["-X", "-c", "SELECT pg_sleep(60)"])
        if getuid() == 0 { spec = ProcessSpec("runuser", ["-u", "postgres", "--", "env"] + spec.environment.map { "\($0.key)=\($0.value)" } + ["psql"] + spec.arguments) }
        let session = try ChildProcess(spec, descriptors: [:])
        defer { session.signalGroup(SIGKILL); session.wait() }
        #expect(waitUntil(seconds: 10) { (try? box.cluster.superuser("SELECT count(*) FROM pg_stat_activity WHERE datname = '\(box.database)' AND usename = 'postgres'").first?.first) == "1" })
        let result = try box.run(["restore", try box.onlyBackup(), "--yes"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("may not end: postgres") && result.stderr.contains("nothing was renamed"), "\(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try scratchLeftovers(box).isEmpty)
    }
}
