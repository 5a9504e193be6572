import Foundation
import MXBackupKit
import Testing

/// The loads that replace live data (`in-place`, `--tables`) are one transaction that only mxbackup's own
/// COMMIT ends. Whatever kills the load first (kill -9 of mxbackup, whose psql lives on in its own process
/// group and reads end-of-input; the death of a `docker exec` client, whose psql in the container lives on
/// too) leaves the live database exactly as it was.
@Suite struct LoadTransactionTests {
    /// A table whose COPY lasts long enough to aim at, with a last column that is most of each row: a random
    /// cut of the stream then falls inside the last column, which PostgreSQL accepts as a (shorter) row.
    private static let padding = "INSERT INTO state_groups_state SELECT g, '!room1:example.org', 'm.room.member', '@u' || g || ':example.org', "
        + "'$' || repeat(md5(g::text), 16) FROM generate_series(1, 30000) g"
    private static let copyOfBigTable = "COPY public.state_groups_state"

    private enum Kill { case mxbackup, dockerClient }

    /// A sandbox whose backup differs from the live data, the backup, and the live state before the restore.
    private func prepare(container: Bool) throws -> (box: Sandbox, file: String, before: [String: String]) {
        let box = try Sandbox()
        try box.cluster.psql(database: box.database, ["-c", Self.padding])
        if container {
            try box.dockerStandIn(log: box.root + "/docker.argv")
            try box.writeConfig(postgres: ["container: matrix-postgres", "docker: \(box.binDir)/docker"])
        }
        let backup = try box.run(["backup"])
        guard backup.exitCode == 0 else { throw MXError.failed(backup.stderr) }
        // After the backup: what a restore would remove, and a kill must not.
        try box.cluster.psql(database: box.database, ["-c", "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1); DELETE FROM state_groups_state WHERE state_group % 7 = 0"])
        return (box, try box.onlyBackup(), try liveState(box))
    }

    /// Every table's content, the indexes and constraints of `public`, and which schemas exist.
    private func liveState(_ box: Sandbox) throws -> [String: String] {
        var state = try box.cluster.contentChecksums(database: box.database)
        state["(schemas)"] = try box.cluster.scalar("SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'", database: box.database)
        return state
    }

    /// Starts `restore` and returns it with the file its stderr goes to.
    private func start(_ box: Sandbox, _ arguments: [String], environment: [String: String] = [:]) throws -> (ChildProcess, String) {
        let stderrPath = box.root + "/restore.stderr"
        let fd = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(fd) }
        return (try ChildProcess(box.spec(["restore"] + arguments + ["--yes"], environment: environment), descriptors: [2: fd]), stderrPath)
    }

    /// Waits (server side, polling every 2 ms) until the load's COPY of the big table runs. From another
    /// database: in-place ends every session of the live one before it loads.
    private func waitForCopy(_ box: Sandbox) throws {
        try box.cluster.psql(database: "postgres", ["-c", """
        DO $$ BEGIN
          FOR i IN 1..60000 LOOP
            PERFORM pg_stat_clear_snapshot();
            IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '\(box.database)' AND query LIKE '\(Self.copyOfBigTable)%') THEN RETURN; END IF;
            PERFORM pg_sleep(0.002);
          END LOOP;
          RAISE EXCEPTION 'the load never reached %', '\(Self.copyOfBigTable)';
        END $$;
        """])
    }

    /// Waits until no loading session of mxbackup is connected any more (the orphaned psql has ended).
    private func waitForOrphans(_ box: Sandbox) throws -> Bool {
        waitUntil(seconds: 60) {
            (try? box.cluster.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'mxbackup'", database: box.database)) == "0"
        }
    }

    /// The stand-in `docker exec` client that carries the load (its psql writes nothing: `-o /dev/null`).
    private func loadClient(of parent: pid_t) -> pid_t? {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
        return pids.first { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"),
                  pid_t(stat[stat.index(close, offsetBy: 2)...].split(separator: " ")[1]) == parent,
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.contains("exec") && arguments.contains("/dev/null")
        }
    }

    private func killAimedAtCopy(container: Bool, kill target: Kill, _ arguments: [String],
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (box, file, before) = try prepare(container: container)
        let (restore, stderrPath) = try start(box, [file] + arguments)
        defer { restore.signalGroup(SIGKILL); restore.wait() }
        try waitForCopy(box)
        usleep(10_000)
        switch target {
        case .mxbackup:
            kill(restore.pid, SIGKILL)
        case .dockerClient:
            let client = try #require(loadClient(of: restore.pid), sourceLocation: sourceLocation)
            kill(client, SIGKILL)
        }
        let ended = waitUntil(seconds: 60) { !isAlive(restore.pid) }
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        #expect(ended, "\(stderr)", sourceLocation: sourceLocation)
        #expect(try waitForOrphans(box), "a loading session is still connected", sourceLocation: sourceLocation)
        #expect(try liveState(box) == before, "the live database changed: \(stderr)", sourceLocation: sourceLocation)
        if target == .dockerClient {
            #expect(restore.wait() != .exited(0), sourceLocation: sourceLocation)
            #expect(stderr.contains("rolled back"), "\(stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test func inPlaceKilledDuringTheCopyLeavesTheDatabaseAsItWas() throws {
        try killAimedAtCopy(container: false, kill: .mxbackup, ["--strategy", "in-place", "--services", "none"])
    }

    @Test func tablesKilledDuringTheCopyLeavesTheDatabaseAsItWas() throws {
        try killAimedAtCopy(container: false, kill: .mxbackup, ["--tables", "state_groups_state"])
    }

    @Test func inPlaceThroughDockerExecKilledDuringTheCopyLeavesTheDatabaseAsItWas() throws {
        try killAimedAtCopy(container: true, kill: .mxbackup, ["--strategy", "in-place", "--services", "none"])
    }

    @Test func inPlaceWhoseDockerExecClientDiesLeavesTheDatabaseAsItWas() throws {
        try killAimedAtCopy(container: true, kill: .dockerClient, ["--strategy", "in-place", "--services", "none"])
    }

    @Test func tablesWhoseDockerExecClientDiesLeavesTheDatabaseAsItWas() throws {
        try killAimedAtCopy(container: true, kill: .dockerClient, ["--tables", "state_groups_state"])
    }

    /// Killed at the first chunk of the dump, the loading psql has had only the statements that set the old
    /// data aside (in-place: rename `public`; tables: TRUNCATE), cut at a statement boundary: the case where
    /// committing at end-of-input loses everything, every time.
    private func killAtFirstChunk(step: (Manifest) -> String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (box, file, before) = try prepare(container: false)
        let marker = box.root + "/paused"
        let stepLog = box.root + "/steps"
        let (restore, stderrPath) = try start(box, [file] + arguments, environment: [
            "MXBACKUP_FAULT_PAUSE": step(try box.manifest(of: file)), "MXBACKUP_FAULT_MARKER": marker, "MXBACKUP_STEP_LOG": stepLog])
        defer { restore.signalGroup(SIGKILL); restore.wait() }
        let paused = waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: marker) || !isAlive(restore.pid) }
        try #require(paused && isAlive(restore.pid), "never paused; steps: \((try? String(contentsOfFile: stepLog, encoding: .utf8)) ?? ""); \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")", sourceLocation: sourceLocation)
        kill(restore.pid, SIGKILL)
        restore.wait()
        #expect(try waitForOrphans(box), "a loading session is still connected", sourceLocation: sourceLocation)
        #expect(try liveState(box) == before, "the live database changed", sourceLocation: sourceLocation)
    }

    @Test func inPlaceKilledAtItsFirstChunkLeavesTheDatabaseAsItWas() throws {
        try killAtFirstChunk(step: { "load \(Format.bytes($0.dumpSize)) of SQL in one transaction: streaming" },
                             ["--strategy", "in-place", "--services", "none"])
    }

    @Test func tablesKilledAtTheirFirstChunkLeavesTheDatabaseAsItWas() throws {
        try killAtFirstChunk(step: { _ in "replace the rows of public.state_groups_state: streaming" }, ["--tables", "state_groups_state"])
    }
}
