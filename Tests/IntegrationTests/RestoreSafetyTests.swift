import Foundation
import MXBackupKit
import Testing

/// issue 11: a restore, a drill or a cleanup drops only what its own record says it created, never undoes
/// a committed restore, finishes an interrupted rollback, starts exactly the services it stopped, and says
/// what actually happened. The binary is paused at named steps (docs/fault-injection.md) and killed there.
@Suite struct RestoreSafetyTests {
    private func backup(_ box: Sandbox) throws -> String {
        let result = try box.run(["backup"])
        guard result.exitCode == 0 else { throw MXError.failed(result.stderr) }
        return try box.onlyBackup()
    }

    private func addLateUser(_ box: Sandbox) throws {
        try box.cluster.psql(database: box.database, ["-c", "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1)"])
    }

    private func late(_ box: Sandbox) throws -> String {
        try box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: box.database)
    }

    private func statePath(_ box: Sandbox) -> String { RestoreState.path(directory: box.backupDir, database: box.database) }
    private func admin(_ box: Sandbox) -> DatabaseAdmin { DatabaseAdmin(box.cluster.connection(database: box.database)) }

    /// Rewrites part of the config file (FakeSynapse writes the services section).
    private func editConfig(_ box: Sandbox, _ from: String, _ to: String) throws {
        let text = try String(contentsOfFile: box.configPath, encoding: .utf8)
        #expect(text.contains(from))
        try write(text.replacingOccurrences(of: from, with: to), to: box.configPath, mode: 0o600)
    }

    /// A session of the Synapse role on `database`, as a running Synapse would hold.
    private func synapseSession(_ box: Sandbox, database: String) throws -> ChildProcess {
        let session = try ChildProcess(box.cluster.connection(database: database).tool("psql", ["-X", "-c", "SELECT pg_sleep(60)"]), descriptors: [:])
        #expect(waitUntil(seconds: 10) { (try? box.cluster.superuser("SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()").first?.first) == "1" })
        return session
    }

    /// A superuser's session on `database`: the Synapse role may not end it, so a rename or drop fails.
    private func superuserSession(_ box: Sandbox, database: String) throws -> ChildProcess {
        var spec = PostgresConnection(host: box.cluster.directory + "/socket", port: box.cluster.port, user: "postgres", database: database)
            .tool("psql", ["-X", "-c", "SELECT pg_sleep(60)"])
        if getuid() == 0 { spec = ProcessSpec("runuser", ["-u", "postgres", "--", "env"] + spec.environment.map { "\($0.key)=\($0.value)" } + ["psql"] + spec.arguments) }
        let session = try ChildProcess(spec, descriptors: [:])
        #expect(waitUntil(seconds: 10) { (try? box.cluster.superuser("SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND usename = 'postgres' AND pid <> pg_backend_pid()").first?.first) == "1" })
        return session
    }

    /// Ends a session started above, its server side included (a backend in pg_sleep does not notice its client go).
    private func endSessions(_ box: Sandbox, _ session: ChildProcess) throws {
        session.signalGroup(SIGKILL)
        session.wait()
        try box.cluster.superuser("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE starts_with(datname, '\(box.database)') AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
    }

    // MARK: item 1, 6: only what this run created is dropped

    @Test func drillIntoAnExistingDatabaseIsRefusedAndDropsNothing() throws {
        let box = try Sandbox()
        _ = try backup(box)
        let before = try box.cluster.contentChecksums(database: box.database)
        let other = try box.cluster.createDatabase(prefix: "mine")
        for target in [box.database, other] {
            let drill = try box.run(["drill", "--latest", "--target-db", target])
            #expect(drill.exitCode == 1)
            #expect(drill.stdout.contains("already exists"), "\(drill.stdout)")
            #expect(try admin(box).exists(target), "drill dropped \(target)")
        }
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
    }

    @Test func cleanupLeavesAUsersDatabaseNamedLikeAScratchAlone() throws {
        let box = try Sandbox()
        let file = try backup(box)
        let copy = box.database + "_restore_copy"
        #expect(try box.run(["restore", file, "--target-db", copy]).exitCode == 0)
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stderr)")
        #expect(try admin(box).exists(copy), "cleanup dropped the user's \(copy)")
        #expect(cleanup.stdout.contains("left alone: \(copy)"), "\(cleanup.stdout)")
    }

    @Test func aScratchDatabaseOfARunKilledWhileCreatingItIsDroppedByName() throws {
        let box = try Sandbox()
        let file = try backup(box)
        let run = try PausedRun(box, ["restore", file, "--yes"], pauseAt: "create ")
        #expect(run.paused())
        let state = try #require(RestoreState.load(statePath(box)))
        #expect(state.phase == .creating && state.scratch.hasPrefix(box.database + "_restore_"))
        _ = run.kill9()
        // As if CREATE DATABASE had completed just before the kill.
        try box.cluster.superuser("CREATE DATABASE \(state.scratch) OWNER synapse")
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0 && cleanup.stdout.contains("dropped the scratch database \(state.scratch)"), "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(try !admin(box).exists(state.scratch))
    }

    /// A drill or a --target-db restore killed half way leaves a database only its own record names: list
    /// and status say so, the cleanup drops it (and only it), and the same command then succeeds.
    @Test(arguments: ["drill", "restore"])
    func aKilledCloneIsListedAndDroppedByTheCleanup(command: String) throws {
        let box = try Sandbox()
        let file = try backup(box)
        let mine = try box.cluster.createDatabase(prefix: box.database + "_drill_mine", fixture: false)
        let arguments = command == "drill" ? ["drill", file] : ["restore", file, "--target-db", box.database + "_clone"]
        let run = try PausedRun(box, arguments, pauseAt: "load ")
        #expect(run.paused(), "\(run.stderr)")
        _ = run.kill9()
        let clone = try #require(try admin(box).databases(prefix: box.database + "_").first { $0 != mine }, "no half-loaded clone to clean up")
        #expect(try box.run(["list"]).stdout.contains("interrupted clone: \(clone)"))
        #expect(try box.run(["status"]).stdout.contains(clone))
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0 && cleanup.stdout.contains("dropped \(clone)"), "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(try !admin(box).exists(clone))
        #expect(try admin(box).exists(mine), "the cleanup dropped a database no run of it created")
        #expect(try box.run(["restore", "--resume-cleanup"]).stdout.contains("nothing to clean up"))
        #expect(try box.run(arguments).exitCode == 0)
    }

    // MARK: item 3: a committed restore is never undone

    @Test func killAfterARecreateCommittedIsNotUndoneByTheCleanup() throws {
        let box = try Sandbox()
        let file = try box.legacyBackup()
        try addLateUser(box)
        let token = "admin-\(UUID().uuidString)"
        let synapse = try FakeSynapse(box, adminToken: token)
        defer { synapse.stop() }
        try editConfig(box, "  health_timeout: 5", "  health_timeout: 5\n  admin_token: \(token)")
        // The end-of-maintenance notices: the restore is done, the old code's state file still said "recreating".
        let run = try PausedRun(box, ["restore", file, "--strategy", "recreate", "--yes"], pauseAt: "server notice: maintenance over")
        #expect(run.paused(), "\(run.stderr)")
        #expect(try late(box) == "0")
        _ = run.kill9()
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stderr)")
        #expect(!cleanup.stdout.contains("reloaded"), "\(cleanup.stdout)")
        #expect(try late(box) == "0", "the cleanup put the pre-restore data back")
        #expect(synapse.healthy())
    }

    @Test func killWhileStartingSynapseAfterARecreateOnlyStartsItAgain() throws {
        let box = try Sandbox()
        let file = try box.legacyBackup()
        try addLateUser(box)
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let run = try PausedRun(box, ["restore", file, "--strategy", "recreate", "--yes"], pauseAt: "start Synapse")
        #expect(run.paused(), "\(run.stderr)")
        #expect(RestoreState.load(statePath(box))?.phase == .committed)
        _ = run.kill9()
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stderr)")
        #expect(cleanup.stdout.contains("had committed") && cleanup.stdout.contains("started Synapse"), "\(cleanup.stdout)")
        #expect(try late(box) == "0")
        #expect(synapse.healthy())
        #expect(!FileManager.default.fileExists(atPath: statePath(box)))
    }

    // MARK: items 4, 25: the automatic rollback

    /// A forced restore of a too-new schema, paused where Synapse's failed health check starts the
    /// automatic rollback.
    private func pausedAtTheAutomaticRollback(_ box: Sandbox) throws -> PausedRun {
        let run = try PausedRun(box, ["restore", try box.newerSchemaDump(), "--yes", "--force"], pauseAt: "roll back")
        #expect(run.paused(), "\(run.stderr)")
        return run
    }

    @Test func killDuringTheAutomaticRollbackIsFinishedByTheCleanup() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box, maxCompat: 88)
        defer { synapse.stop() }
        let before = try box.cluster.contentChecksums(database: box.database)
        let run = try pausedAtTheAutomaticRollback(box)
        #expect(RestoreState.load(statePath(box))?.phase == .rollingBack)
        _ = run.kill9()
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(cleanup.stdout.contains("finished the rollback"), "\(cleanup.stdout)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(synapse.healthy())
        #expect(try SafetyCopies.list(admin(box), live: box.database).map(\.kind) == ["failed_restore"])
        #expect(try box.run(["restore", "--resume-cleanup"]).stdout.contains("nothing to clean up"))
    }

    /// `mxbackup rollback` killed while Synapse is down (before and after the renames, both forms) leaves a
    /// state file: status says so, and the cleanup starts Synapse on whichever side the kill left, whole.
    @Test(arguments: [("swap", "end sessions, rename"), ("swap", "start Synapse"), ("in-place", "end sessions, rename"), ("in-place", "start Synapse")])
    func aKilledRollbackIsFinishedByTheCleanup(strategy: String, step: String) throws {
        let box = try Sandbox()
        let file = try backup(box)
        try addLateUser(box)
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let withLateUser = try box.cluster.contentChecksums(database: box.database)
        #expect(try box.run(["restore", file, "--strategy", strategy, "--yes"]).exitCode == 0)
        let restored = try box.cluster.contentChecksums(database: box.database)
        let run = try PausedRun(box, ["rollback", "--yes"], pauseAt: step)
        #expect(run.paused(), "\(run.stderr)")
        _ = run.kill9()
        #expect(!synapse.healthy())
        #expect(RestoreState.load(statePath(box))?.servicesStopped == true)
        let status = try box.run(["status"])
        #expect(status.exitCode == 7 && status.stdout.contains("rollback"), "\(status.stdout)")
        #expect(try box.run(["rollback", "--yes"]).exitCode == 3)  // refused while the record waits
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(synapse.healthy())
        let now = try box.cluster.contentChecksums(database: box.database)
        #expect(now == (step == "start Synapse" ? withLateUser : restored), "\(cleanup.stdout)")
        #expect(!FileManager.default.fileExists(atPath: statePath(box)))
        #expect(try box.run(["restore", "--resume-cleanup"]).stdout.contains("nothing to clean up"))
    }

    @Test func aRollbackThatCannotRenameSaysWhatItLeftAndTheCleanupFinishesIt() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box, maxCompat: 88)
        defer { synapse.stop() }
        let before = try box.cluster.contentChecksums(database: box.database)
        let run = try pausedAtTheAutomaticRollback(box)
        // An operator's superuser session on the (rejected) live database: the rollback cannot end it.
        let session = try superuserSession(box, database: box.database)
        run.release()
        #expect(run.child.wait() == .exited(1))
        #expect(run.stderr.contains("the automatic rollback failed") && run.stderr.contains("the swap had happened")
                && run.stderr.contains("--resume-cleanup"), "\(run.stderr)")
        #expect(RestoreState.load(statePath(box))?.phase == .rollingBack)
        try endSessions(box, session)
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(synapse.healthy())
    }

    // MARK: item 5: cleanup starts the recorded services

    @Test func cleanupWithComposeStartsTheServicesTheStateFileRecorded() throws {
        let box = try Sandbox()
        let file = try backup(box)
        let synapse = try FakeSynapse(box)  // serves /health; the stand-in docker only records
        defer { synapse.stop() }
        let running = box.root + "/compose.running"
        let log = box.root + "/docker.argv"
        try write("synapse\nsynapse-worker-1\nsynapse-worker-2\nmatrix-postgres\n", to: running, mode: 0o600)
        // A docker whose `compose ps --services` lists only running services, as the real one does.
        try box.shim("docker", """
        printf '%s\\n' "$*" >> '\(log)'
        shift; shift; shift   # compose --project-directory DIR
        cmd=$1; shift
        case $cmd in
          ps) cat '\(running)' ;;
          stop) for s in "$@"; do grep -vx "$s" '\(running)' > '\(running).new'; mv '\(running).new' '\(running)'; done ;;
          start) for s in "$@"; do echo "$s" >> '\(running)'; done ;;
        esac
        """)
        try box.writeComposeConfig(synapsePort: synapse.port)
        let run = try PausedRun(box, ["restore", file, "--yes"], pauseAt: "end sessions, rename databases")
        #expect(run.paused(), "\(run.stderr)")
        _ = run.kill9()
        #expect(try String(contentsOfFile: running, encoding: .utf8) == "matrix-postgres\n")
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0, "\(cleanup.stdout)\(cleanup.stderr)")
        let services = Set(try String(contentsOfFile: running, encoding: .utf8).split(separator: "\n").map(String.init))
        #expect(services == ["synapse", "synapse-worker-1", "synapse-worker-2", "matrix-postgres"])
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").suffix(2)
        #expect(Array(calls) == ["compose --project-directory /srv/matrix start synapse",
                                 "compose --project-directory /srv/matrix start synapse-worker-1 synapse-worker-2"])
    }

    // MARK: item 8: in-place keeps the locale

    @Test func inPlaceIntoANonCDatabaseIsRefusedNamingTheStrategiesThatWork() throws {
        let box = try Sandbox(fixture: false)
        try box.cluster.superuser("DROP DATABASE \(box.database)")
        try box.cluster.superuser("CREATE DATABASE \(box.database) OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0")
        try box.cluster.psql(database: box.database, ["-v", "scale=1", "-v", "server_name=example.org", "-f", "\(packageRoot)/fixtures/synapse_sample.sql"])
        let file = try backup(box)
        let before = try box.cluster.contentChecksums(database: box.database)
        let dry = try box.run(["restore", file, "--strategy", "in-place", "--dry-run"])
        #expect(dry.stdout.contains("[FAILED] live database locale") && !dry.stdout.contains("collation C, ctype C"), "\(dry.stdout)")
        let refused = try box.run(["restore", file, "--strategy", "in-place", "--yes"])
        #expect(refused.exitCode == 3)
        #expect(refused.stderr.contains("C.UTF-8") && refused.stderr.contains("--strategy swap") && refused.stderr.contains("--strategy recreate"), "\(refused.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(try box.run(["restore", file, "--strategy", "swap", "--yes"]).exitCode == 0)
    }

    // MARK: item 18: services.kind none under a running Synapse

    @Test func noServiceControlUnderAConnectedSynapseIsRefusedUnlessSaidExplicitly() throws {
        let box = try Sandbox()
        let file = try backup(box)
        let session = try synapseSession(box, database: box.database)
        defer { session.signalGroup(SIGKILL); session.wait() }
        let before = try box.cluster.contentChecksums(database: box.database)
        let refused = try box.run(["restore", file, "--yes"])
        #expect(refused.exitCode == 3)
        #expect(refused.stderr.contains("services.kind") && refused.stderr.contains("--services none"), "\(refused.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        let explicit = try box.run(["restore", file, "--yes", "--services", "none"])
        #expect(explicit.exitCode == 0, "\(explicit.stderr)")
    }

    // MARK: item 20: names that fit

    @Test func safetyCopiesOfALongDatabaseNameAreFoundAndRolledBack() throws {
        let box = try Sandbox()
        let long = box.database + "_a_database_name_that_is_rather_long_x"
        try box.cluster.superuser("ALTER DATABASE \(box.database) RENAME TO \(long)")
        try editConfig(box, "database: \(box.database)", "database: \(long)")
        _ = try backup(box)
        try box.cluster.psql(database: long, ["-c", "INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1)"])
        let file = try box.onlyBackup()
        let restored = try box.run(["restore", file, "--yes"])
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        let live = DatabaseAdmin(box.cluster.connection(database: long))
        let copies = try SafetyCopies.list(live, live: long)
        #expect(copies.map(\.kind) == ["pre_restore"])
        #expect(copies.allSatisfy { $0.name.utf8.count <= 63 })
        #expect(try box.run(["list"]).stdout.contains("safety copy"))
        let rollback = try box.run(["rollback", "--yes"])
        #expect(rollback.exitCode == 0, "\(rollback.stderr)")
        #expect(try box.cluster.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'", database: long) == "1")
        #expect(try SafetyCopies.list(live, live: long).map(\.kind) == ["rolled_back"])
    }

    // MARK: item 22: a signal during the swap

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalDuringTheSwapIsReportedAsTheFinishedSwapItWas(signal: Int32) throws {
        let box = try Sandbox()
        let file = try backup(box)
        try addLateUser(box)
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let run = try PausedRun(box, ["restore", file, "--yes"], pauseAt: "end sessions, rename databases")
        #expect(run.paused(), "\(run.stderr)")
        kill(run.child.pid, signal)
        usleep(200_000)
        run.release()
        #expect(run.child.wait() == .exited(0), "\(run.stderr)")
        #expect(run.stdout.contains("done"), "\(run.stdout)")
        #expect(run.stderr.contains("mxbackup rollback"), "\(run.stderr)")
        #expect(try late(box) == "0")
        #expect(AuditLog.read(box.backupDir + "/audit.jsonl").last?.outcome == "done")
        #expect(synapse.healthy())
        #expect(!FileManager.default.fileExists(atPath: statePath(box)))
    }

    // MARK: item 23: a signal while Synapse is being stopped

    @Test(arguments: ["in-place", "recreate"])
    func aSignalWhileSynapseStopsLeavesItRunningAndNothingChanged(strategy: String) throws {
        let box = try Sandbox()
        let file = try backup(box)
        try addLateUser(box)
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        // A stop command that takes a while after Synapse is down (like docker compose stopping workers).
        try editConfig(box, "echo stopped >> \(box.root)/synapse.events'", "echo stopped >> \(box.root)/synapse.events; touch \(box.root)/stopping; sleep 2'")
        let before = try box.cluster.contentChecksums(database: box.database)
        let run = try PausedRun(box, ["restore", file, "--strategy", strategy, "--yes"], pauseAt: nil)
        #expect(waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: box.root + "/stopping") }, "\(run.stderr)")
        kill(run.child.pid, SIGTERM)
        #expect(run.child.wait() == .exited(143), "\(run.stderr)")
        #expect(run.stderr.contains("Synapse was started again"), "\(run.stderr)")
        #expect(synapse.healthy())
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(!FileManager.default.fileExists(atPath: statePath(box)))
    }

    // MARK: item 24: messages say what happened

    @Test func aScratchDatabaseThatCannotBeDroppedIsNamedAndKeptInTheStateFile() throws {
        let box = try Sandbox()
        let broken = try box.brokenDump()
        let run = try PausedRun(box, ["restore", broken, "--yes"], pauseAt: "load ")
        #expect(run.paused(), "\(run.stderr)")
        let scratch = try #require(RestoreState.load(statePath(box))?.scratch)
        let session = try superuserSession(box, database: scratch)
        run.release()
        #expect(run.child.wait() == .exited(1))
        #expect(run.stderr.contains("\(scratch) could not be dropped") && !run.stderr.contains("was dropped"), "\(run.stderr)")
        #expect(RestoreState.load(statePath(box)) != nil)
        try endSessions(box, session)
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.stdout.contains("dropped the scratch database \(scratch)"), "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(try !admin(box).exists(scratch))
    }

    @Test func aSynapseThatDoesNotStartAgainIsNotReportedAsStarted() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let broken = try box.brokenDump()
        // Synapse stops, the load fails, and the start command fails once (as with the server gone).
        try editConfig(box, "  start_command: '", "  start_command: 'if [ ! -f \(box.root)/start-failed ]; then touch \(box.root)/start-failed; exit 1; fi; ")
        let result = try box.run(["restore", broken, "--strategy", "in-place", "--yes"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("Synapse did not start again") && !result.stderr.contains("Synapse was started again"), "\(result.stderr)")
        #expect(RestoreState.load(statePath(box))?.servicesStopped == true)
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0 && cleanup.stdout.contains("started Synapse"), "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(synapse.healthy())
    }

    @Test func aRecreateWhoseSafetyReloadFailsKeepsItsStateAndTheCleanupReloads() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let broken = try box.brokenDump()
        let before = try box.cluster.contentChecksums(database: box.database)
        let run = try PausedRun(box, ["restore", broken, "--strategy", "recreate", "--yes"], pauseAt: "reload the safety backup")
        #expect(run.paused(), "\(run.stderr)")
        // The live database is dropped and half loaded; now its safety backup cannot be read (as with the server gone).
        let safety = try #require(RestoreState.load(statePath(box))?.safetyBackup)
        try FileManager.default.moveItem(atPath: safety, toPath: safety + ".away")
        run.release()
        #expect(run.child.wait() == .exited(1))
        #expect(run.stderr.contains("reloading the safety backup failed") && run.stderr.contains("--resume-cleanup")
                && !run.stderr.contains("reloaded automatically"), "\(run.stderr)")
        #expect(RestoreState.load(statePath(box))?.phase == .rollingBack)
        #expect(try box.run(["list"]).stdout.contains("was interrupted while rolling back"))
        try FileManager.default.moveItem(atPath: safety + ".away", toPath: safety)
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0 && cleanup.stdout.contains("reloaded the safety backup"), "\(cleanup.stdout)\(cleanup.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
        #expect(synapse.healthy())
    }

    /// item 24 with the real thing: the server stops (immediate) while recreate loads into the dropped and
    /// recreated live database. Nothing may claim a reload that did not happen, and the state file must stay
    /// so that the cleanup reloads the safety backup once the server is back.
    @Test func theServerStoppingMidRecreateLeavesAStateTheCleanupFinishes() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)  // serves /health; its service commands are recorded
        defer { synapse.stop() }
        let server = try OwnCluster()
        defer { server.stop() }
        let db = try server.createSynapseDatabase()
        try editConfig(box, "  port: \(box.cluster.port)\n", "  port: \(server.port)\n")
        try editConfig(box, "password_file: \(box.cluster.passwordFile)", "password_file: \(server.directory)/synapse.password")
        try editConfig(box, "database: \(box.database)", "database: \(db)")
        let file = try backup(box)
        let client = PostgresClient(server.connection(database: db))
        let digest = "SELECT count(*) || md5(string_agg(u::text, ',' ORDER BY u::text)) FROM users u"
        let before = try client.scalar(digest)
        _ = try client.query("INSERT INTO users (name, creation_ts) VALUES ('@late:example.org', 1)")

        let run = try PausedRun(box, ["restore", file, "--strategy", "recreate", "--yes"], pauseAt: "load ")
        #expect(run.paused(), "\(run.stderr)")
        try server.stopImmediately()
        run.release()
        #expect(run.child.wait() == .exited(1))
        #expect(run.stderr.contains("reloading the safety backup failed") && run.stderr.contains("Synapse is stopped")
                && !run.stderr.contains("reloaded automatically") && !run.stderr.contains("Synapse is healthy"), "\(run.stderr)")
        let state = RestoreState.load(RestoreState.path(directory: box.backupDir, database: db))
        #expect(state?.phase == .rollingBack && state?.servicesStopped == true)

        try server.start()
        let cleanup = try box.run(["restore", "--resume-cleanup"])
        #expect(cleanup.exitCode == 0 && cleanup.stdout.contains("reloaded the safety backup"), "\(cleanup.stdout)\(cleanup.stderr)")
        // As it was before the restore: the late user included, everything else as backed up.
        #expect(try client.scalar("SELECT count(*) FROM users WHERE name = '@late:example.org'") == "1")
        _ = try client.query("DELETE FROM users WHERE name = '@late:example.org'")
        #expect(try client.scalar(digest) == before)
        #expect(synapse.healthy())
    }
}

/// A PostgreSQL cluster of one test's own, which it may stop (the shared one serves every other test).
private struct OwnCluster {
    let directory: String
    let port: Int

    init() throws {
        directory = try makeTemporaryDirectory("pg-own")
        port = try freePort()
        try start()
    }

    func start() throws {
        let started = try ProcessRunner.run(ProcessSpec("\(packageRoot)/scripts/pg-cluster.sh", ["start", directory, String(port)]))
        guard started.termination.succeeded else { throw MXError.failed("pg-cluster.sh start: \(started.stderr)") }
    }

    /// As a crash or `pg_ctl -m immediate` would: every session is cut.
    func stopImmediately() throws {
        let script = "b=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1); cmd=(\"$b/pg_ctl\" -D '\(directory)/data' -m immediate -w stop); if [ \"$(id -u)\" = 0 ]; then runuser -u postgres -- \"${cmd[@]}\"; else \"${cmd[@]}\"; fi"
        let stopped = try ProcessRunner.run(ProcessSpec("bash", ["-c", script]))
        guard stopped.termination.succeeded else { throw MXError.failed("pg_ctl stop: \(stopped.stderr)") }
    }

    func stop() { _ = try? ProcessRunner.run(ProcessSpec("\(packageRoot)/scripts/pg-cluster.sh", ["stop", directory])) }

    func connection(database: String) -> PostgresConnection {
        let password = (try? String(contentsOfFile: directory + "/synapse.password", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return PostgresConnection(host: "127.0.0.1", port: port, user: "synapse", database: database, password: password)
    }

    /// A database as Synapse wants it, with the fixture.
    func createSynapseDatabase() throws -> String {
        let name = "synapse_own"
        _ = try PostgresClient(connection(database: "postgres")).query("CREATE DATABASE \(name) ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
        let load = try ProcessRunner.run(connection(database: name).tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "scale=1", "-v", "server_name=example.org",
                                                                                  "-f", "\(packageRoot)/fixtures/synapse_sample.sql"]))
        guard load.termination.succeeded else { throw MXError.failed("fixture: \(load.stderr)") }
        return name
    }
}
