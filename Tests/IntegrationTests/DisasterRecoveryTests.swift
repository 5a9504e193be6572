import Foundation
import MXBackupKit
import Testing

/// Disaster recovery onto a new server: the configured database does not exist yet, or exists only as
/// the empty, wrongly-collated database the official postgres image makes (`POSTGRES_DB=synapse`).
@Suite struct DisasterRecoveryTests {
    private func backup(_ box: Sandbox) throws -> String {
        let result = try box.run(["backup"])
        guard result.exitCode == 0 else { throw MXError.failed(result.stderr) }
        return try box.onlyBackup()
    }

    /// A sandbox whose database is what the postgres image's POSTGRES_DB makes: empty, the cluster's locale.
    private func emptyWronglyCollated() throws -> Sandbox {
        let box = try Sandbox(fixture: false)
        try box.cluster.superuser("DROP DATABASE \(box.database)")
        try box.cluster.superuser("CREATE DATABASE \(box.database) OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0")
        return box
    }

    @Test func aServerWithoutTheDatabaseGetsItAsTheLiveDatabase() throws {
        let box = try Sandbox()
        let file = try backup(box)
        let backedUp = try box.cluster.contentChecksums(database: box.database).filter { $0.key != "e2e_one_time_keys_json" }
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        synapse.stop()
        try box.cluster.superuser("DROP DATABASE \(box.database) WITH (FORCE)")

        let dry = try box.run(["restore", file, "--dry-run"])
        #expect(dry.exitCode == 0 && dry.stdout.contains("does not exist yet (a new server)") && !dry.stdout.contains("no longer needed"), "\(dry.stdout)\(dry.stderr)")
        let restored = try box.run(["restore", file, "--yes"])
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("restored onto a server that had none") && restored.stdout.contains("health: OK"), "\(restored.stdout)")
        for clone in ["no longer needed", "not checked", "To roll back"] { #expect(!restored.stdout.contains(clone), "\(clone): \(restored.stdout)") }
        #expect(try box.cluster.contentChecksums(database: box.database).filter { $0.key != "e2e_one_time_keys_json" } == backedUp)
        #expect(try box.cluster.scalar("SELECT datcollate || datctype || pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()", database: box.database) == "CCsynapse")
        #expect(synapse.events.last == "started" && synapse.healthy())
        #expect(try box.cluster.superuser("SELECT count(*) FROM pg_database WHERE datname LIKE '\(box.database)_%'").first?.first == "0")

        // --target-db naming the missing live database is the same restore, not a clone.
        synapse.stop()
        try box.cluster.superuser("DROP DATABASE \(box.database) WITH (FORCE)")
        let named = try box.run(["restore", file, "--target-db", box.database, "--yes"])
        #expect(named.exitCode == 0 && named.stdout.contains("restored onto a server that had none") && !named.stdout.contains("no longer needed"), "\(named.stdout)\(named.stderr)")
    }

    /// The postgres image made `synapse` empty, with the cluster's locale (not C): the swap replaces it
    /// with a C database, and the report does not offer to roll back to an empty database as if it were data.
    @Test func anEmptyWronglyCollatedDatabaseIsReplacedAndNotOfferedForRollback() throws {
        let source = try Sandbox()
        let file = try backup(source)
        let box = try emptyWronglyCollated()
        let dry = try box.run(["restore", file, "--dry-run"])
        #expect(dry.stdout.contains("exists but is empty") && !dry.stdout.contains("for rollback"), "\(dry.stdout)")
        let restored = try box.run(["restore", file, "--yes"])
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("was empty (no tables) and was dropped") && !restored.stdout.contains("To roll back")
                && !restored.stdout.contains("kept as"), "\(restored.stdout)")
        #expect(try box.cluster.scalar("SELECT datcollate || datctype FROM pg_database WHERE datname = current_database()", database: box.database) == "CC")
        #expect(try box.cluster.scalar("SELECT count(*) FROM users", database: box.database) == source.cluster.scalar("SELECT count(*) FROM users", database: source.database))
        #expect(try box.cluster.superuser("SELECT count(*) FROM pg_database WHERE datname LIKE '\(box.database)_%'").first?.first == "0")
        let rollback = try box.run(["rollback", "--yes"])
        #expect(rollback.exitCode != 0, "\(rollback.stdout)")
    }

    /// Emptiness is proved again just before the drop: a database that was empty at the plan but got a
    /// table while the backup loaded (Synapse started on it by hand) is kept for rollback, not dropped.
    @Test func aDatabaseWrittenDuringTheLoadIsKeptForRollback() throws {
        let source = try Sandbox()
        let file = try backup(source)
        let box = try emptyWronglyCollated()
        let run = try PausedRun(box, ["restore", file, "--yes"], pauseAt: "load ")
        #expect(run.paused(), "\(run.stderr)")
        _ = try PostgresClient(box.cluster.connection(database: box.database)).query("CREATE TABLE written_meanwhile (x int); INSERT INTO written_meanwhile VALUES (1)")
        run.release()
        let restored = try #require(run.finish(seconds: 120))
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        #expect(!restored.stdout.contains("was dropped") && restored.stdout.contains("mxbackup rollback"), "\(restored.stdout)")
        let parked = try box.cluster.superuser("SELECT datname FROM pg_database WHERE datname LIKE '\(box.database)_pre_restore_%'").map { $0[0] }
        #expect(parked.count == 1)
        if let parked = parked.first {
            #expect(try box.cluster.scalar("SELECT x FROM written_meanwhile", database: parked) == "1")
        }
    }

    /// Functions, types or schemas someone made are kept like tables: such a database is not "empty".
    @Test(arguments: ["CREATE FUNCTION kept() RETURNS int LANGUAGE sql AS 'SELECT 1'", "CREATE TYPE kept AS ENUM ('a')", "CREATE SCHEMA kept"])
    func aDatabaseWithOnlyFunctionsTypesOrSchemasIsNotEmpty(made: String) throws {
        let source = try Sandbox()
        let file = try backup(source)
        let box = try emptyWronglyCollated()
        _ = try PostgresClient(box.cluster.connection(database: box.database)).query(made)
        let dry = try box.run(["restore", file, "--dry-run"])
        #expect(!dry.stdout.contains("exists but is empty") && dry.stdout.contains("it will be kept as"), "\(dry.stdout)")
    }
}
