import Foundation
import MXBackupKit
import Testing

/// A restore into a new database loads the rows over several sessions: the result must be the same
/// database a single session makes, and a failure in any session must stop the whole load.
@Suite struct ParallelLoadTests {
    /// A table several load chunks long, so that one table's rows are cut between sessions.
    private func addBigTable(_ box: Sandbox) throws {
        try box.cluster.psql(database: box.database, ["-c", """
            CREATE TABLE big_notes (id integer PRIMARY KEY, note text NOT NULL);
            INSERT INTO big_notes SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 60000) g;
            SELECT setval('events_stream_seq', 123456);
            """])
    }

    @Test func severalSessionsLoadTheSameDatabaseAsOne() throws {
        let box = try Sandbox()
        try addBigTable(box)
        #expect(try box.run(["backup"]).exitCode == 0)
        let backup = try box.onlyBackup()
        let source = try box.cluster.contentChecksums(database: box.database)
        var loads: [String: Int] = [:]
        for jobs in [1, 3] {
            let target = "\(box.database)_jobs\(jobs)"
            let result = try box.run(["restore", backup, "--target-db", target, "--jobs", "\(jobs)", "--json"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            var copy = try box.cluster.contentChecksums(database: target)
            var expected = source
            #expect(copy.removeValue(forKey: "e2e_one_time_keys_json")?.hasPrefix("0:") == true)
            expected.removeValue(forKey: "e2e_one_time_keys_json")
            #expect(copy == expected, "--jobs \(jobs)")
            #expect(try box.cluster.scalar("SELECT last_value FROM events_stream_seq", database: target) == "123456")
            #expect(try box.cluster.scalar("SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'", database: target) == "synapse")
            // Each chunk of rows is a COPY (a transaction) of its own: one for a single session.
            loads[target] = Int(try box.cluster.scalar("SELECT count(DISTINCT xmin::text) FROM big_notes", database: target)) ?? 0
            // With a manifest the file is checked while it loads, not read twice.
            let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let steps = (report?["steps"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(steps.contains("preflight: open the backup") && !steps.contains { $0.hasPrefix("preflight: read") }, "\(steps)")
        }
        #expect(loads["\(box.database)_jobs1"] == 1)
        #expect((loads["\(box.database)_jobs3"] ?? 0) >= 3, "\(loads)")
    }

    @Test func aBadRowInOneSessionStopsTheLoadAndIsNamed() throws {
        let box = try Sandbox()
        try addBigTable(box)
        let before = try box.cluster.contentChecksums(database: box.database)
        // A row half way through the big table that PostgreSQL refuses: one session fails while others load.
        let file = try box.editedDump(name: "bad-row.sql") { $0.replacingOccurrences(of: "\n30000\t", with: "\nthirty thousand\t") }
        let result = try box.run(["restore", file, "--yes", "--jobs", "2"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("invalid input syntax for type integer") && result.stderr.contains("thirty thousand"), "\(result.stderr)")
        #expect(result.stderr.contains("was not touched"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try DatabaseAdmin(box.cluster.connection(database: box.database)).databases(prefix: box.database + "_restore_").isEmpty)
    }

    @Test func jobsMustBePositive() throws {
        let box = try Sandbox()
        let result = try box.run(["restore", "x.sql", "--jobs", "0"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("--jobs: must be at least 1"), "\(result.stderr)")
    }
}
