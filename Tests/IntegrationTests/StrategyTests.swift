import Foundation
import MXBackupKit
import Testing

/// The strategies besides swap: selective tables, in-place, recreate. Each ends with the backup's data,
/// or, on failure, with the live database as it was.
@Suite struct StrategyTests {
    private func backup(_ box: Sandbox) throws -> String {
        let result = try box.run(["backup"])
        guard result.exitCode == 0 else { throw MXError.failed(result.stderr) }
        return try box.onlyBackup()
    }

    private func late(_ box: Sandbox, database: String? = nil) throws -> String {
        try box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: database ?? box.database)
    }

    private func owners(_ box: Sandbox) throws -> String {
        try box.cluster.scalar("SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'", database: box.database)
    }

    @Test func tablesReplacesOnlyTheChosenTablesWhileSynapseRuns() throws {
        let box = try Sandbox()
        let file = try box.legacyBackup()
        let profilesBefore = try box.cluster.contentChecksums(database: box.database)["profiles"]
        try box.cluster.psql(database: box.database, ["-c", "UPDATE profiles SET displayname = 'changed'; INSERT INTO rooms VALUES ('!new:example.org', true, NULL, '10', true)"])
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let others = try box.cluster.contentChecksums(database: box.database).filter { $0.key != "profiles" }

        let result = try box.run(["restore", file, "--tables", "profiles", "--yes"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let after = try box.cluster.contentChecksums(database: box.database)
        #expect(after["profiles"] == profilesBefore)
        #expect(after.filter { $0.key != "profiles" } == others)  // rooms keeps its new row
        #expect(synapse.events.isEmpty && synapse.healthy())      // never stopped

        let missing = try box.run(["restore", file, "--tables", "profiles,nosuch", "--yes"])
        #expect(missing.exitCode == 3 && missing.stderr.contains("public.nosuch"), "\(missing.stderr)")
    }

    /// The restore guide's "Selective Restore" of users, on Synapse's real schema: three tables reference
    /// users by foreign key, so TRUNCATE users alone cannot work. Refused before anything is touched,
    /// naming the exact --tables to pass; that list then restores.
    @Test func tablesUsersNamesTheTablesThatReferenceIt() throws {
        let box = try Sandbox()
        let file = try box.legacyBackup()
        try box.cluster.psql(database: box.database, ["-c", "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1); INSERT INTO users_to_send_full_presence_to VALUES ('@late:example.org', 2)"])
        let before = try box.cluster.contentChecksums(database: box.database)
        let refused = try box.run(["restore", file, "--tables", "users", "--yes"])
        let list = "--tables users,per_user_experimental_features,thread_subscriptions,users_to_send_full_presence_to"
        #expect(refused.exitCode == 3 && refused.stderr.contains(list) && refused.stderr.contains("nothing was changed"), "\(refused.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)

        let restored = try box.run(["restore", file] + list.split(separator: " ").map(String.init) + ["--yes"])
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        #expect(try late(box) == "0")
        #expect(try box.cluster.scalar("SELECT count(*) FROM users_to_send_full_presence_to WHERE user_id = '@late:example.org'", database: box.database) == "0")
    }

    /// PostgreSQL's DETAIL (and HINT) reach the operator: here the row that breaks a foreign key.
    @Test func aFailedLoadSaysPostgresDetail() throws {
        let box = try Sandbox()
        let file = try box.editedDump(name: "ghost.sql") {
            $0.replacingOccurrences(of: "COPY public.per_user_experimental_features (user_id, feature, enabled) FROM stdin;\n",
                                    with: "COPY public.per_user_experimental_features (user_id, feature, enabled) FROM stdin;\n@ghost:example.org\tmsc3881\tt\n")
        }
        let result = try box.run(["restore", file, "--tables", "per_user_experimental_features", "--yes"])
        #expect(result.exitCode == 1 && result.stderr.contains("violates foreign key constraint")
                && result.stderr.contains("DETAIL: Key (user_id)=(@ghost:example.org) is not present in table \"users\""), "\(result.stderr)")
    }

    @Test func tablesRollsBackWhenTheRowsDoNotFit() throws {
        let box = try Sandbox()
        let file = try backup(box)
        // A live schema the backup's rows no longer fit: the COPY fails, the TRUNCATE is rolled back.
        try box.cluster.psql(database: box.database, ["-c", "UPDATE profiles SET displayname = 'renamed' WHERE displayname = 'User user3:example.org'; ALTER TABLE profiles ADD CHECK (displayname <> 'User user3:example.org')"])
        let before = try box.cluster.contentChecksums(database: box.database)
        let result = try box.run(["restore", file, "--tables", "profiles", "--yes"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("rolled back"), "\(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
    }

    /// A legacy backup, then a user added after it, then a restore with `strategy` (Synapse managed):
    /// afterwards the data is the backup's (the user is gone) and every table is owned by synapse.
    private func restoreOverALateUser(strategy: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (Sandbox, FakeSynapse) {
        let box = try Sandbox()
        let file = try box.legacyBackup()
        let backedUp = try box.cluster.contentChecksums(database: box.database).filter { $0.key != "e2e_one_time_keys_json" }
        try box.cluster.psql(database: box.database, ["-c", "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1)"])
        let synapse = try FakeSynapse(box)
        let result = try box.run(["restore", file, "--strategy", strategy, "--yes"])
        #expect(result.exitCode == 0, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(try box.cluster.contentChecksums(database: box.database).filter { $0.key != "e2e_one_time_keys_json" } == backedUp, sourceLocation: sourceLocation)
        #expect(try late(box) == "0", sourceLocation: sourceLocation)
        #expect(try owners(box) == "synapse", sourceLocation: sourceLocation)
        return (box, synapse)
    }

    @Test func inPlaceLoadsInOneTransactionAndKeepsTheOldSchema() throws {
        let (box, synapse) = try restoreOverALateUser(strategy: "in-place")
        defer { synapse.stop() }
        #expect(synapse.healthy() && synapse.events == ["stopped", "started"])
        let parked = try box.cluster.scalar("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'public_pre_restore_%'", database: box.database)
        #expect(try box.cluster.scalar("SELECT count(*) FROM \(parked).users WHERE name = '@late:example.org'", database: box.database) == "1")
    }

    @Test func inPlaceFailureLeavesTheDatabaseAsItWas() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let broken = try box.brokenDump()
        let before = try box.cluster.contentChecksums(database: box.database)
        let result = try box.run(["restore", broken, "--strategy", "in-place", "--yes"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("division by zero") && result.stderr.contains("rolled back"), "\(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try box.cluster.scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'public_pre_restore_%'", database: box.database) == "0")
        #expect(synapse.healthy())
    }

    @Test func recreateReplacesTheDatabaseAfterASafetyBackup() throws {
        let (box, synapse) = try restoreOverALateUser(strategy: "recreate")
        defer { synapse.stop() }
        #expect(synapse.healthy())
        // The safety backup holds the state before the restore, late user included.
        let safety = box.backupFiles().filter { $0.hasSuffix(".sql.zst") }.map { box.backupDir + "/" + $0 }
        #expect(safety.count == 1)
        let copy = try box.restoreWithStandardTools("zstd -dc '\(safety[0])'")
        #expect(try late(box, database: copy) == "1")
    }

    @Test func recreateReloadsTheSafetyBackupWhenTheLoadFails() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let broken = try box.brokenDump()
        let before = try box.cluster.contentChecksums(database: box.database)
        let result = try box.run(["restore", broken, "--strategy", "recreate", "--yes"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("division by zero") && result.stderr.contains("safety backup") && result.stderr.contains("reloaded automatically"), "\(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)  // one-time keys included
        #expect(synapse.healthy())
    }

    @Test func recreateIsRefusedWhenItsSafetyBackupCouldNotBeDecryptedHere() throws {
        let box = try Sandbox()
        let file = try backup(box)
        let owner = try Keyring.generate()
        let server = try owner.publicOnly()
        try box.writeConfig(extra: "gpg:\n  recipients: [\(owner.fingerprint)]")
        let before = try box.cluster.contentChecksums(database: box.database)
        let result = try box.run(["restore", file, "--strategy", "recreate", "--yes"], environment: ["GNUPGHOME": server.home])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("use --strategy swap"), "\(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
    }
}
