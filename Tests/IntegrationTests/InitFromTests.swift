import Foundation
import MXBackupKit
import Testing

/// `mxbackup init --from DIR` on a Selfhost-Matrix checkout writes the configuration of that deployment.
@Suite struct InitFromTests {
    /// The layout of a Selfhost-Matrix checkout's docker-compose.yml (trimmed to what matters here), with
    /// Synapse's port 8008 published on loopback at `synapsePort`.
    static func compose(synapsePort: Int = 8008) -> String { """
    services:
      postgres:
        image: postgres:16-alpine
        container_name: matrix-postgres
        restart: unless-stopped
        environment:
          POSTGRES_USER: ${POSTGRES_USER}
          POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
          POSTGRES_DB: ${POSTGRES_DB}
      redis:
        image: redis:7-alpine
      synapse-worker-generic:
        image: matrixdotorg/synapse:latest
      synapse:
        image: matrixdotorg/synapse:latest
        container_name: matrix-synapse
        ports:
          - "127.0.0.1:\(synapsePort):8008"
      synapse-admin:
        image: awesometechnologies/synapse-admin:latest
        ports:
          - "127.0.0.1:8888:80"
      synapse-worker-media:
        image: matrixdotorg/synapse:latest
      synapse-worker-federation-sender:
        image: matrixdotorg/synapse:latest
      nginx:
        image: nginx:alpine

    """
    }

    /// A checkout in DIR with the compose file and a .env for this sandbox's database.
    private func checkout(_ box: Sandbox, env: String? = nil) throws -> String {
        let dir = box.root + "/Selfhost-Matrix"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try write(Self.compose(), to: dir + "/docker-compose.yml", mode: 0o644)
        try write(env ?? """
            POSTGRES_USER=synapse
            POSTGRES_PASSWORD=\(box.cluster.password)
            POSTGRES_DB=\(box.database)
            BACKUP_RETENTION_DAYS=7
            TELEGRAM_BOT_TOKEN=123456:secret-token-value
            TELEGRAM_CHAT_ID=-1001234
            DOMAIN=example.org

            """, to: dir + "/.env", mode: 0o600)
        return dir
    }

    /// Runs mxbackup from another working directory, with the stand-in docker first on PATH.
    private func run(_ box: Sandbox, _ arguments: [String]) throws -> Sandbox.Result {
        let elsewhere = try makeTemporaryDirectory("mxbackup-cwd")
        let command = "cd '\(elsewhere)' && exec '\(Sandbox.binary)' " + arguments.map { "'\($0)'" }.joined(separator: " ")
        let path = box.binDir + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let output = try ProcessRunner.run(ProcessSpec("bash", ["-c", command], environment: ["PATH": path, "MXBACKUP_CONFIG": ""]))
        return Sandbox.Result(termination: output.termination, stdout: output.text, stderr: output.stderr)
    }

    @Test func initFromACheckoutWritesAConfigurationThatBacksUpThroughTheContainer() throws {
        let box = try Sandbox()
        let dir = try checkout(box)
        let log = box.root + "/docker.argv"
        try box.dockerStandIn(log: log)
        let config = dir + "/mxbackup.yaml"
        let written = try run(box, ["init", "--from", dir, "--output", config])
        #expect(written.exitCode == 0, "\(written.stderr)")
        #expect(fileMode(config) == 0o600)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(!text.contains(box.cluster.password) && !text.contains("secret-token-value"))
        #expect(written.stdout.contains("0 3 * * * ") && written.stdout.contains(" backup --config \(config) --quiet; ")
                && written.stdout.contains(" prune --config \(config) --quiet"), "\(written.stdout)")
        #expect(written.stdout.contains("remove the old cron's 'find backups -name \"synapse_db_*\" -mtime +N -delete' line: it would also delete mxbackup's files"))

        let shown = try run(box, ["config", "--config", config])
        #expect(shown.exitCode == 0, "\(shown.stderr)")
        for line in ["container: 'matrix-postgres'  # from \(config)", "dir: '\(dir)/backups'  # from \(config)",
                     "kind: 'compose'  # from \(config)", "compose_dir: '\(dir)'  # from \(config)",
                     "compose_services: ['synapse', 'synapse-worker-generic', 'synapse-worker-media', 'synapse-worker-federation-sender']  # from \(config)",
                     "url: 'http://127.0.0.1:8008'  # from \(config)", "database: '\(box.database)'  # from \(dir)/.env", "keep_days: 7  # from \(dir)/.env",
                     "offsite: ['telegram']  # from \(config)", "env_file: '\(dir)/.env'  # from \(config)",
                     "# note: \(dir)/.env:7: DOMAIN is not used by mxbackup"] {
            #expect(shown.stdout.contains(line), "\(line)\n\(shown.stdout)")
        }

        // The database is reached through the container, by doctor and backup alike (inside it, libpq's
        // own socket; here the stand-in runs the tools against the test cluster).
        let connection = ["--host", "127.0.0.1", "--port", String(box.cluster.port)]
        let doctor = try run(box, ["doctor", "--config", config, "--json"] + connection)
        let checks = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [[String: Any]], "\(doctor.stderr)")
        #expect(checks.first { $0["name"] as? String == "database reachable" }?["status"] as? String == "ok", "\(doctor.stdout)")
        try write("", to: log, mode: 0o600)
        let backup = try run(box, ["backup", "--config", config] + connection)
        // The push to Telegram fails here (no Bot API): the backup itself is written.
        #expect(FileManager.default.fileExists(atPath: dir + "/backups"), "\(backup.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/backups").filter { $0.hasSuffix(".sql.zst") }
        #expect(files.count == 1, "\(backup.stderr)")
        let calls = try String(contentsOfFile: log, encoding: .utf8)
        #expect(calls.contains("matrix-postgres pg_dump --format=plain"), "\(calls)")
    }

    @Test func initFromRefusesWhatItCannotUseAndNeverOverwrites() throws {
        let box = try Sandbox(fixture: false)
        let empty = try makeTemporaryDirectory("mxbackup-empty")
        var result = try run(box, ["init", "--from", empty, "--output", empty + "/m.yaml"])
        #expect(result.exitCode == 2 && result.stderr.contains("\(empty): no docker-compose.yml") && result.stderr.contains("point --from at"), "\(result.stderr)")

        let dir = try checkout(box)
        let compose = dir + "/docker-compose.yml"
        try write("services:\n  postgres: [unclosed\n", to: compose, mode: 0o644)
        result = try run(box, ["init", "--from", dir, "--output", dir + "/m.yaml"])
        #expect(result.exitCode == 2 && result.stderr.contains("\(compose): not valid YAML"), "\(result.stderr)")

        try write("services:\n  synapse:\n    image: matrixdotorg/synapse\n", to: compose, mode: 0o644)
        result = try run(box, ["init", "--from", dir, "--output", dir + "/m.yaml"])
        #expect(result.exitCode == 2 && result.stderr.contains("\(compose): no postgres service"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")

        try write(Self.compose(), to: compose, mode: 0o644)
        try write("keep", to: dir + "/m.yaml", mode: 0o600)
        result = try run(box, ["init", "--from", dir, "--output", dir + "/m.yaml"])
        #expect(result.exitCode == 3 && result.stderr.contains("\(dir)/m.yaml already exists: pass --force"), "\(result.stderr)")
        #expect(try String(contentsOfFile: dir + "/m.yaml", encoding: .utf8) == "keep")
        #expect(try run(box, ["init", "--from", dir, "--output", dir + "/m.yaml", "--force"]).exitCode == 0)

        // A .env mxbackup would refuse is said before anything is written.
        try write("GPG_RECIPIENT=CHANGE_ME\n", to: dir + "/.env", mode: 0o600)
        result = try run(box, ["init", "--from", dir, "--output", dir + "/other.yaml"])
        #expect(result.exitCode == 2 && result.stderr.contains("\(dir)/.env:1: GPG_RECIPIENT"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/other.yaml"))
    }

    /// The crontab line survives paths with blanks, and a recipient whose key is not here yet is said.
    @Test func theCrontabLineIsQuotedAndAMissingKeyIsAWarning() throws {
        let box = try Sandbox()
        let dir = try checkout(box, env: "POSTGRES_DB=\(box.database)\nBACKUP_RETENTION_DAYS=7\nGPG_RECIPIENT=0123456789ABCDEF0123456789ABCDEF01234567\n")
        let config = dir + "/my config.yaml"
        let result = try run(box, ["init", "--from", dir, "--output", config])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains(" backup --config '\(config)' --quiet; ") && result.stdout.contains(" prune --config '\(config)' --quiet"), "\(result.stdout)")
        #expect(result.stderr.contains("\(dir)/.env: GPG_RECIPIENT: gpg.recipients: no public key") && result.stderr.contains("every backup is refused"), "\(result.stderr)")
    }
}
