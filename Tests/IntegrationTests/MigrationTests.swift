import Foundation
import MXBackupKit
import Testing

/// Moving over from the Selfhost-Matrix scripts, end to end, as a user would: backups made with the scripts'
/// exact commands from a checkout (a CRLF `.env` with quoted values, their compose layout, `docker exec` into
/// `matrix-postgres`), one legacy backup sent whole to Telegram with `sendDocument`; then the documented step
/// (`init --from`, `adopt --all`) and, with nothing but the printed cron line's `--config`, backup, prune and
/// restores of a legacy file, a new one, `--tables users` on Synapse's foreign keys, and the Telegram
/// document by the message link the app copies.
@Suite struct MigrationTests {
    /// A checkout of the scripts' deployment, with its stand-in `docker` and the tools the scripts call.
    private struct Checkout {
        let box: Sandbox
        let dir: String
        let keyring: Keyring
        var backups: String { dir + "/backups" }
        var config: String { dir + "/mxbackup.yaml" }

        private var environment: [String: String] {
            ["PATH": box.binDir + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
             "GNUPGHOME": keyring.home, "HOME": box.root, "MXBACKUP_CONFIG": ""]
        }

        /// A shell command run in the checkout, as the scripts run theirs.
        @discardableResult
        func shell(_ script: String) throws -> String {
            let output = try ProcessRunner.run(ProcessSpec("bash", ["-o", "pipefail", "-c", "cd '\(dir)' && " + script], environment: environment))
            guard output.termination.succeeded else { throw MXError.failed("\(script): \(output.stderr)") }
            return output.text
        }

        /// mxbackup from another working directory, as cron runs it.
        func mxbackup(_ arguments: [String]) throws -> Sandbox.Result {
            let elsewhere = try makeTemporaryDirectory("mxbackup-cwd")
            let command = "cd '\(elsewhere)' && exec '\(Sandbox.binary)' " + arguments.map { "'\($0)'" }.joined(separator: " ")
            let output = try ProcessRunner.run(ProcessSpec("bash", ["-c", command], environment: environment))
            return Sandbox.Result(termination: output.termination, stdout: output.text, stderr: output.stderr)
        }

        /// scripts/backup-postgres.sh's commands, for a backup named as if made `age` ago (its mtime too).
        func legacyBackup(age: TimeInterval, encrypted: Bool) throws -> String {
            let made = Date().addingTimeInterval(-age)
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd_HHmmss"
            let file = "backups/synapse_db_\(formatter.string(from: made)).sql.gz"
            try shell("""
                mkdir -p backups && docker exec "matrix-postgres" pg_dump -U "synapse" -d "\(box.database)" --no-owner --no-privileges | gzip > "\(file)"
                """)
            let final = encrypted ? file + ".gpg" : file
            if encrypted { try shell("gpg --batch --yes --recipient \"Matrix Backup\" --encrypt \"\(file)\" && rm -f \"\(file)\"") }
            try shell("touch -d @\(Int(made.timeIntervalSince1970)) '\(final)'")
            return dir + "/" + final
        }
    }

    private func live(_ box: Sandbox) throws -> [String: String] {
        try box.cluster.contentChecksums(database: box.database).filter { $0.key != "e2e_one_time_keys_json" }
    }

    @Test func movingOverFromTheScriptsInOneStep() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let bot = try FakeBotAPI()
        let checkout = Checkout(box: box, dir: box.root + "/Selfhost-Matrix", keyring: try Keyring.generate(userID: "Matrix Backup <backup@example.org>"))
        let dir = checkout.dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try write(InitFromTests.compose(synapsePort: synapse.port), to: dir + "/docker-compose.yml", mode: 0o644)
        let env = [
            "# Selfhost-Matrix settings",
            "export DOMAIN=example.org",
            "POSTGRES_USER=\"synapse\"",
            "POSTGRES_PASSWORD='\(box.cluster.password)'  # made by setup.sh",
            "POSTGRES_DB=\"\(box.database)\"",
            "SYNAPSE_SERVER_NAME=${DOMAIN}",
            "BACKUP_RETENTION_DAYS=7\t# days",
            "GPG_RECIPIENT=\"Matrix Backup\"",
            "TELEGRAM_BOT_TOKEN=\"\(bot.token)\"",
            "TELEGRAM_CHAT_ID=\(bot.chatID)",
            "RCLONE_REMOTE=",
        ].joined(separator: "\r\n") + "\r\n"
        try write(env, to: dir + "/.env", mode: 0o600)
        let dockerLog = box.root + "/docker.argv"
        try box.dockerStandIn(log: dockerLog, postgresSocket: (box.cluster.directory + "/socket", box.cluster.port))

        // The scripts' nightlies: one past BACKUP_RETENTION_DAYS, one recent and encrypted, sent to Telegram whole.
        let expired = try checkout.legacyBackup(age: 10 * 86_400, encrypted: false)
        let legacy = try checkout.legacyBackup(age: 2 * 86_400, encrypted: true)
        let atLegacy = try live(box)
        let sent = try checkout.shell("curl -sf -F chat_id=\(bot.chatID) -F caption='Matrix backup' -F document=@'\(legacy)' \(bot.url)/bot\(bot.token)/sendDocument")
        let message = try #require((try JSONSerialization.jsonObject(with: Data(sent.utf8)) as? [String: Any])?["result"] as? [String: Any])
        let link = "https://t.me/c/\(bot.chatID.dropFirst(4))/\(try #require(message["message_id"] as? Int))"

        // The documented step.
        let initialised = try checkout.mxbackup(["init", "--from", dir, "--output", checkout.config])
        #expect(initialised.exitCode == 0, "\(initialised.stderr)")
        #expect(initialised.stdout.contains(" backup --config \(checkout.config) --quiet; ") && initialised.stdout.contains("-mtime +N -delete"), "\(initialised.stdout)")
        // The only edit: the Bot API is the local stand-in, not api.telegram.org.
        let written = try String(contentsOfFile: checkout.config, encoding: .utf8)
        try write(written.replacingOccurrences(of: "telegram:\n", with: "telegram:\n  api_url: \(bot.url)\n  message_interval_ms: 10\n"), to: checkout.config, mode: 0o600)
        let config = ["--config", checkout.config]
        let shown = try checkout.mxbackup(["config"] + config)
        for line in ["server_name: 'example.org'  # from \(dir)/.env", "recipients: ['Matrix Backup']  # from \(dir)/.env",
                     "keep_days: 7  # from \(dir)/.env", "container: 'matrix-postgres'", "url: 'http://127.0.0.1:\(synapse.port)'"] {
            #expect(shown.stdout.contains(line), "\(line)\n\(shown.stdout)\(shown.stderr)")
        }
        for output in [initialised, shown] {
            #expect(!(output.stdout + output.stderr).contains(box.cluster.password) && !(output.stdout + output.stderr).contains(bot.token))
        }
        let adopted = try checkout.mxbackup(["adopt", "--all"] + config)
        #expect(adopted.exitCode == 0, "\(adopted.stdout)\(adopted.stderr)")
        #expect(FileManager.default.fileExists(atPath: legacy + ".manifest.json") || adopted.stdout.contains((legacy as NSString).lastPathComponent), "\(adopted.stdout)")

        // Backup: through the container, encrypted to the .env's recipient, sent offsite.
        _ = try PostgresClient(box.cluster.connection(database: box.database)).query("UPDATE profiles SET displayname = 'after the legacy backup'")
        let backedUp = try checkout.mxbackup(["backup", "--quiet"] + config)
        #expect(backedUp.exitCode == 0, "\(backedUp.stderr)")
        let atNew = try live(box)
        let own = try #require(try FileManager.default.contentsOfDirectory(atPath: checkout.backups).first { $0.hasSuffix(".sql.zst.gpg") }, "\(backedUp.stderr)")
        let newFile = checkout.backups + "/" + own
        #expect(try String(contentsOfFile: dockerLog, encoding: .utf8).contains("matrix-postgres pg_dump"))
        let documents = try bot.documents()
        #expect(documents.contains { $0.name.hasPrefix(own) }, "\(documents)")

        // Prune: the legacy files count, and the expired one goes as find -mtime +7 -delete would have removed it.
        let pruned = try checkout.mxbackup(["prune", "--quiet"] + config)
        #expect(pruned.exitCode == 0, "\(pruned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: expired))
        #expect(FileManager.default.fileExists(atPath: legacy) && FileManager.default.fileExists(atPath: newFile))
        let listed = try JSONSerialization.jsonObject(with: Data(try checkout.mxbackup(["list", "--json"] + config).stdout.utf8)) as? [String: Any]
        let encryption = (listed?["backups"] as? [[String: Any]] ?? []).map { $0["encryption"] as? String }
        #expect(encryption == ["gpg", "gpg"], "\(String(describing: listed))")

        // Restores: the legacy file, the new one, then Method 3 of the scripts' guide on Synapse's foreign keys.
        try write("", to: dockerLog, mode: 0o600)
        let restoredLegacy = try checkout.mxbackup(["restore", legacy, "--yes"] + config)
        #expect(restoredLegacy.exitCode == 0, "\(restoredLegacy.stdout)\(restoredLegacy.stderr)")
        #expect(try live(box) == atLegacy)
        let compose = try String(contentsOfFile: dockerLog, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("compose") }
        #expect(compose.first?.contains("stop") == true && compose.first?.contains("synapse-worker-federation-sender") == true
                && compose.contains { $0.contains("start") && $0.contains("synapse") }, "\(compose)")
        #expect(!compose.contains { $0.contains("synapse-admin") })

        let restoredNew = try checkout.mxbackup(["restore", newFile, "--yes"] + config)
        #expect(restoredNew.exitCode == 0, "\(restoredNew.stderr)")
        #expect(try live(box) == atNew)

        let usersBefore = try box.cluster.contentChecksums(database: box.database)
        let refused = try checkout.mxbackup(["restore", legacy, "--tables", "users", "--yes"] + config)
        #expect(refused.exitCode == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == usersBefore)
        let list = try #require(refused.stderr.components(separatedBy: "--tables ").last?.split(separator: " ").first.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ";.,")) }, "\(refused.stderr)")
        #expect(Set(list.split(separator: ",")) == ["users", "per_user_experimental_features", "thread_subscriptions", "users_to_send_full_presence_to"], "\(refused.stderr)")
        let tables = try checkout.mxbackup(["restore", legacy, "--tables", list, "--yes"] + config)
        #expect(tables.exitCode == 0, "\(tables.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database)["users"] == atLegacy["users"])

        // The scripts' Telegram copy, by the link the app copies.
        let fromTelegram = try checkout.mxbackup(["restore", "--from", "telegram", link, "--yes"] + config)
        #expect(fromTelegram.exitCode == 0, "\(fromTelegram.stdout)\(fromTelegram.stderr)")
        #expect(try live(box) == atLegacy)
        for output in [adopted, backedUp, pruned, restoredLegacy, refused, fromTelegram] {
            #expect(!(output.stdout + output.stderr).contains(box.cluster.password) && !(output.stdout + output.stderr).contains(bot.token))
        }
    }
}
