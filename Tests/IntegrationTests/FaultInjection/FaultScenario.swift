import Foundation
import MXBackupKit

/// One row of an operation's scenario table: how to bring a fresh world to where the operation starts,
/// its command line, and the moments to interrupt it at besides its named steps.
struct FaultScenario: Sendable {
    struct Aimed: Sendable {
        var name: String
        var moment: @Sendable (FaultWorld) -> Interruption.Moment
    }

    var operation: String
    var synapse = false
    var offsite = FaultWorld.Offsite.none
    var environment: [String: String] = [:]
    /// Rows of a big table (`filler`) for interruptions aimed inside a COPY or a dump.
    var rows = 0
    var prepare: @Sendable (FaultWorld) throws -> Void = { _ in }
    var arguments: @Sendable (FaultWorld) -> [String]
    /// Interrupt at every step the binary names (else only at `aimed`).
    var atSteps = true
    var aimed: [Aimed] = []
    /// Whether a second run makes sense after a completed first one (a rollback uses its copy up).
    var rerunsWhenDone = true
    /// What a completed run must have produced besides the live database's content; nil when it did.
    var produced: @Sendable (FaultWorld) throws -> String? = { _ in nil }

    func world() throws -> FaultWorld {
        let world = try FaultWorld(synapse: synapse, offsite: offsite, environment: environment, rows: rows)
        do { try prepare(world) } catch { world.close(); throw error }
        return world
    }
}

/// Preparations and checks the scenario tables share.
enum Prepare {
    /// A user and a profile change after the backup: "before" and "after" a restore differ.
    static let change = "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1); UPDATE profiles SET displayname = 'changed'"

    /// A backup of the fixture, then the live data changed after it.
    static func backupThenChange(_ world: FaultWorld) throws {
        try world.must(["backup"])
        world.backup = world.backups.first
        try world.sql(change + (world.box.cluster.scalar("SELECT to_regclass('filler') IS NOT NULL", database: world.live) == "t"
                                ? "; UPDATE filler SET a = 'changed' WHERE i % 100 = 0" : ""))
    }

    /// A completed backup run leaves one more verified backup than before.
    static func oneMoreBackup(than count: Int) -> @Sendable (FaultWorld) throws -> String? {
        { world in world.backups.count > count ? nil : "no new backup in \(world.box.backupDir)" }
    }

    /// The newest backup is listed in the offsite store.
    static func offsite(_ world: FaultWorld) throws -> String? {
        guard let name = world.backups.first.map({ ($0 as NSString).lastPathComponent }) else { return "no backup" }
        let listed = try world.run(["list", "--from", "telegram"])
        return listed.exitCode == 0 && listed.stdout.contains(name) ? nil : "\(name) is not offsite: \(Invariants.lastLine(listed))"
    }

    /// Polls pg_stat_activity for a COPY of `table` in this world's databases (`direction` "FROM stdin" for
    /// a load, "TO stdout" for pg_dump). The polling runs in the server, every 2 ms for up to a second
    /// per call: polled from here, through a new psql each time, a COPY of a few hundred ms is often missed.
    static func copyRunning(_ table: String, _ direction: String, in world: FaultWorld) -> Interruption.Moment {
        let cluster = world.box.cluster
        let databases = "(datname = \(SQL.literal(world.live)) OR starts_with(datname, \(SQL.literal(world.live + "_"))))"
        let poll = """
            DO $$ DECLARE n int := 0; BEGIN LOOP
              PERFORM pg_stat_clear_snapshot();
              EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY public.\(table) %\(direction)%' AND \(databases));
              n := n + 1;
              IF n > 500 THEN RAISE EXCEPTION 'not yet'; END IF;
              PERFORM pg_sleep(0.002);
            END LOOP; END $$
            """
        return .when(description: "10 ms into COPY \(table) \(direction)", delay: 0.01) { (try? cluster.superuser(poll)) != nil }
    }

    /// Waits for a `.partial` of at least `bytes` in the backup directory.
    static func partial(_ bytes: Int, in world: FaultWorld) -> Interruption.Moment {
        let directory = world.box.backupDir
        return .when(description: "\(bytes / 1024) KiB into the .partial", delay: 0) {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).contains { name in
                guard name.hasSuffix(".partial") else { return false }
                let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? NSNumber)?.intValue ?? 0
                return size >= bytes
            }
        }
    }
}
