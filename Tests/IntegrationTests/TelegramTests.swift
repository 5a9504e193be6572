import Foundation
import MXBackupKit
import Testing

/// Telegram as an offsite store, through the real binary and the Bot API stand-in.
@Suite struct TelegramTests {
    private func configure(_ box: Sandbox, _ bot: FakeBotAPI, partSize: Int = 19 * 1024 * 1024, extra: String = "") throws {
        try box.writeConfig(backup: ["offsite: [telegram]"],
                            extra: bot.config(partSize: partSize, extra: "  retries: 3\n  retry_delay_ms: 50\n" + extra))
    }

    private func expectNoToken(_ bot: FakeBotAPI, _ results: [Sandbox.Result], sourceLocation: SourceLocation = #_sourceLocation) {
        for result in results {
            #expect(!result.stdout.contains(bot.token) && !result.stderr.contains(bot.token), "token leaked", sourceLocation: sourceLocation)
        }
    }

    @Test func aBackupOverTwentyMegabytesComesBackThroughAFreshConfiguration() throws {
        let box = try Sandbox()
        // ~50 MB of incompressible-ish text: the zstd backup is larger than a bot may download at once.
        try box.cluster.psql(database: box.database, ["-c", "CREATE TABLE filler AS SELECT i, md5(random()::text) || md5(random()::text) AS a FROM generate_series(1, 700000) i"])
        let bot = try FakeBotAPI()
        try configure(box, bot)
        let backup = try box.run(["backup"])
        #expect(backup.exitCode == 0, "\(backup.stderr)")
        let file = try box.onlyBackup()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber).intValue
        #expect(size > 20 * 1024 * 1024)
        let parts = try bot.documents().filter { $0.name.contains(".part") }
        #expect(parts.count == (size + 19 * 1024 * 1024 - 1) / (19 * 1024 * 1024))
        #expect(try bot.state()["pinned"] as? Int == (try bot.documents().last?.messageID))
        #expect(try bot.calls("sendMessage") >= 2)  // notifications: backup and push

        // A fresh server: only the configuration (token, chat) and nothing local.
        let fresh = try Sandbox(fixture: false)
        try configure(fresh, bot)
        let listed = try fresh.run(["list", "--from", "telegram"])
        #expect(listed.exitCode == 0 && listed.stdout.contains((file as NSString).lastPathComponent), "\(listed.stdout)\(listed.stderr)")
        try bot.control(["drop": ["method": "download", "times": 1]])  // a download cut off half way is retried
        let fetched = try fresh.run(["fetch", "--from", "telegram", "latest"])
        #expect(fetched.exitCode == 0, "\(fetched.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: fresh.onlyBackup())) == Data(contentsOf: URL(fileURLWithPath: file)))
        let restored = try fresh.run(["restore", "--from", "telegram", "latest", "--target-db", fresh.database + "_tg"])
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        #expect(try box.cluster.scalar("SELECT count(*) FROM filler", database: fresh.database + "_tg") == "700000")
        expectNoToken(bot, [backup, listed, fetched, restored])

        // Why parts: a whole file over 20 MB goes up (a self-hosted server allows bigger parts) but a bot
        // cannot download it from Telegram's servers, which the stand-in enforces like Telegram.
        let whole = try Sandbox(fixture: false)
        let otherChat = try FakeBotAPI()
        try whole.writeConfig(extra: otherChat.config(partSize: 64 * 1024 * 1024, extra: "  retries: 1"))
        let pushed = try whole.run(["push", file])
        #expect(pushed.exitCode == 0, "\(pushed.stderr)")
        let tooBig = try whole.run(["fetch", "--from", "telegram", "latest"])
        #expect(tooBig.exitCode == 1 && tooBig.stderr.contains("file is too big"), "\(tooBig.stderr)")
    }

    @Test func anInterruptedUploadResumesWithoutSendingPartsAgain() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let file = try box.onlyBackup()
        let bot = try FakeBotAPI()
        try configure(box, bot, partSize: 4096)
        let total = Int(try box.manifest(of: file).file.size + 4095) / 4096
        // After two parts the server fails every attempt (502): the push gives up.
        try bot.control(["fail": ["method": "sendDocument", "status": 502, "times": 3, "after": 2]])
        let first = try box.run(["push", file])
        #expect(first.exitCode == 1 && first.stderr.contains("failed 3 times"), "\(first.stderr)")
        #expect(try bot.state()["pinned"] is NSNull)  // no manifest before every part is confirmed
        let sentFirst = try bot.calls("sendDocument")
        let confirmed = try bot.documents().count
        #expect(confirmed >= 1 && confirmed < total)
        let second = try box.run(["push", file])
        #expect(second.exitCode == 0, "\(second.stderr)")
        // Only the missing parts and the manifest went up the second time.
        #expect(try bot.documents().count == total + 1)
        #expect(try bot.calls("sendDocument") - sentFirst == total - confirmed + 1)
        let fresh = try Sandbox(fixture: false)
        try configure(fresh, bot)
        #expect(try fresh.run(["fetch", "--from", "telegram"]).exitCode == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fresh.onlyBackup())) == Data(contentsOf: URL(fileURLWithPath: file)))
    }

    @Test func rateLimitsAreWaitedOutAndErrorsSayWhatToDo() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let file = try box.onlyBackup()
        let bot = try FakeBotAPI()
        try configure(box, bot)
        var results: [Sandbox.Result] = []
        let cases: [(String, [String: Any]?, String)] = [
            ("bot_token: \"123:wrong\"", nil, "bot token rejected"),
            ("chat_id: \"-999\"", nil, "chat not found"),
            ("", ["fail": ["method": "sendDocument", "status": 413, "times": 1]], "too large"),
        ]
        for (override, control, expected) in cases {
            let other = try Sandbox(fixture: false)
            var config = bot.config(extra: "  retries: 2\n  retry_delay_ms: 50")
            if !override.isEmpty {
                let key = override.split(separator: ":")[0]
                config = config.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).hasPrefix(key + ":") ? "  " + override : String($0) }.joined(separator: "\n")
            }
            try other.writeConfig(extra: config)
            if let control { try bot.control(control) }
            let result = try other.run(["push", file])
            #expect(result.exitCode == 1 && result.stderr.contains(expected), "\(expected): \(result.stderr)")
            results.append(result)
        }
        try bot.control(["fail": ["method": "sendDocument", "status": 429, "retry_after": 1, "times": 1]])
        let limited = try box.run(["push", file])
        #expect(limited.exitCode == 0, "\(limited.stderr)")
        #expect(limited.stderr.contains("rate limited, retry after 1s"), "\(limited.stderr)")
        results.append(limited)
        expectNoToken(bot, results)
    }

    @Test func aRateLimitedNotificationWaitsRetryAfterAndArrives() throws {
        let box = try Sandbox()
        let bot = try FakeBotAPI()
        try box.writeConfig(extra: bot.config())
        // Like Telegram's flood control, the stand-in answers 429 again to any sendMessage before 2 s passed.
        try bot.control(["fail": ["method": "sendMessage", "status": 429, "retry_after": 2, "times": 1]])
        let backup = try box.run(["backup"])
        #expect(backup.exitCode == 0, "\(backup.stderr)")
        #expect(backup.stderr.contains("rate limited, retry after 2s; retrying in 2.0s"), "\(backup.stderr)")
        #expect(!backup.stderr.contains("notification not sent"), "\(backup.stderr)")
        let texts = try bot.texts()
        #expect(texts.contains { $0.contains("mxbackup backup") }, "\(texts)")

        // A flood wait longer than a notification is worth: dropped with a warning at once, the job still fine.
        try bot.control(["fail": ["method": "sendMessage", "status": 429, "retry_after": 600, "times": 1]])
        let started = Date()
        let second = try box.run(["backup"])
        #expect(second.exitCode == 0, "\(second.stderr)")
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(second.stderr.contains("notification not sent") && second.stderr.contains("retry after 600s"), "\(second.stderr)")
        #expect(try bot.texts().filter { $0.contains("mxbackup backup") }.count == 1)
    }

    @Test func corruptedPartsAreRefusedAndTheLiveDatabaseIsUntouched() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let bot = try FakeBotAPI()
        try configure(box, bot, partSize: 8192)
        #expect(try box.run(["push", try box.onlyBackup()]).exitCode == 0)
        #expect(try box.run(["verify", "--from", "telegram"]).stdout.hasPrefix("OK: telegram:"))
        try bot.control(["corrupt": try bot.documents()[1].fileID])
        let verify = try box.run(["verify", "--from", "telegram", "--all"])
        #expect(verify.exitCode == 1 && verify.stdout.contains("FAILED: telegram:") && verify.stdout.contains("does not match"), "\(verify.stdout)")
        let before = try box.cluster.contentChecksums(database: box.database)
        let result = try box.run(["restore", "--from", "telegram", "latest", "--yes"])
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains("part 2 does not match its SHA-256"), "\(result.stderr)")
        #expect(try box.cluster.contentChecksums(database: box.database) == before)
    }

    @Test func retentionAndTheFortyEightHourRule() throws {
        let box = try Sandbox()
        let bot = try FakeBotAPI()
        try configure(box, bot, extra: "retention:\n  keep_last: 1")
        #expect(try box.run(["backup"]).exitCode == 0)
        try bot.control(["age_hours": 49])  // the first backup's messages can no longer be deleted by a bot
        sleep(1)
        let second = try box.run(["backup"])
        #expect(second.exitCode == 0, "\(second.stderr)")
        #expect(second.stderr.contains("48 hours"), "\(second.stderr)")
        let listed = try box.run(["list", "--from", "telegram", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == 1)
    }

    @Test func withoutThePinnedMessageTheManifestMessageIdFindsTheBackups() throws {
        let box = try Sandbox()
        let bot = try FakeBotAPI()
        try configure(box, bot)
        #expect(try box.run(["backup"]).exitCode == 0)
        let manifestMessage = try #require(try bot.state()["pinned"] as? Int)
        // Someone pins another message.
        let api = TelegramBotAPI(baseURL: bot.url, token: bot.token, chatID: bot.chatID)
        try api.sendMessage("hello")
        let other = try #require((try bot.state()["messages"] as? [String: [String: Any]])?.values.compactMap { $0["message_id"] as? Int }.max())
        try api.pin(other)
        let lost = try box.run(["list", "--from", "telegram"])
        #expect(lost.exitCode != 0 && lost.stderr.contains("--manifest-message"), "\(lost.stderr)")
        let found = try box.run(["list", "--from", "telegram", "--manifest-message", String(manifestMessage)])
        #expect(found.exitCode == 0 && found.stdout.contains("1 backups"), "\(found.stdout)\(found.stderr)")
    }
}
