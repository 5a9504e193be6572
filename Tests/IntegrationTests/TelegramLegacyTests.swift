import Foundation
import MXBackupKit
import Testing

/// Backups the legacy offsite script sent whole to Telegram (`sendDocument` with a caption, nothing
/// pinned, no manifest), named by the message's link as the Telegram app copies it, or by its id.
@Suite struct TelegramLegacyTests {
    /// What the legacy script did: one sendDocument of the whole file with a caption.
    private func sendLikeTheLegacyScript(_ bot: FakeBotAPI, _ path: String, name: String? = nil) throws -> Int {
        let api = TelegramBotAPI(baseURL: bot.url, token: bot.token, chatID: bot.chatID)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let name = name ?? (path as NSString).lastPathComponent
        return try api.sendDocument(name: name, data: data, caption: "Matrix Synapse DB backup \(name)").id
    }

    private func link(_ bot: FakeBotAPI, _ id: Int) -> String { "https://t.me/c/\(bot.chatID.dropFirst(4))/\(id)" }

    private func fresh(_ bot: FakeBotAPI) throws -> Sandbox {
        let box = try Sandbox(fixture: false)
        try box.writeConfig(extra: bot.config(extra: "  retries: 2\n  retry_delay_ms: 50"))
        return box
    }

    @Test func aLegacyDocumentIsFetchedVerifiedAndRestoredByItsLink() throws {
        let source = try Sandbox()
        let file = try source.legacyBackup()
        let bot = try FakeBotAPI()
        let id = try sendLikeTheLegacyScript(bot, file)
        let box = try fresh(bot)

        let verified = try box.run(["verify", "--from", "telegram", link(bot, id)])
        #expect(verified.exitCode == 0 && verified.stdout.contains("OK: telegram:synapse_db_20240101_030000.sql.gz"), "\(verified.stdout)\(verified.stderr)")
        let fetched = try box.run(["fetch", "--from", "telegram", String(id)])
        #expect(fetched.exitCode == 0, "\(fetched.stderr)")
        let local = box.backupDir + "/synapse_db_20240101_030000.sql.gz"
        #expect(try Data(contentsOf: URL(fileURLWithPath: local)) == Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(fileMode(local) == 0o600)
        let target = box.database + "_legacy"
        let restored = try box.run(["restore", "--from", "telegram", link(bot, id), "--target-db", target])
        #expect(restored.exitCode == 0, "\(restored.stderr)")
        #expect(try box.cluster.scalar("SELECT count(*) FROM users", database: target) == source.cluster.scalar("SELECT count(*) FROM users", database: source.database))
        // The forwards that read the message are deleted: the chat holds only the original.
        #expect(try bot.documents().map(\.messageID) == [id])
        #expect(try bot.calls("forwardMessage") >= 3 && bot.calls("deleteMessage") == bot.calls("forwardMessage"))
        for result in [verified, fetched, restored] {
            #expect(!result.stdout.contains(bot.token) && !result.stderr.contains(bot.token))
        }
    }

    @Test func whatIsNotALegacyBackupIsRefusedBeforeAnythingIsRead() throws {
        let bot = try FakeBotAPI()
        let box = try fresh(bot)
        let notes = box.root + "/notes.txt"
        try write("not a backup", to: notes, mode: 0o600)
        let notesId = try sendLikeTheLegacyScript(bot, notes)
        let foreign = try box.run(["restore", "--from", "telegram", String(notesId), "--target-db", box.database + "_x"])
        #expect(foreign.exitCode == 3 && foreign.stderr.contains("notes.txt is not a backup"), "\(foreign.stderr)")

        let sneakyId = try sendLikeTheLegacyScript(bot, notes, name: "../synapse_db_20240101_030000.sql.gz")
        let sneaky = try box.run(["fetch", "--from", "telegram", String(sneakyId)])
        #expect(sneaky.exitCode == 3 && sneaky.stderr.contains("not a plain file name"), "\(sneaky.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/synapse_db_20240101_030000.sql.gz"))

        let missing = try box.run(["verify", "--from", "telegram", link(bot, 999)])
        #expect(missing.exitCode == 3 && missing.stderr.contains("Telegram message 999 in chat \(bot.chatID): not found")
                && missing.stderr.contains("message to forward not found"), "\(missing.stderr)")

        // A truncated legacy file: refused by its content, like a local one, and not kept by fetch.
        let source = try Sandbox()
        let file = try source.legacyBackup()
        let whole = try Data(contentsOf: URL(fileURLWithPath: file))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: file))
        let truncatedId = try sendLikeTheLegacyScript(bot, file)
        let fetched = try box.run(["fetch", "--from", "telegram", String(truncatedId)])
        #expect(fetched.exitCode == 3 && fetched.stderr.contains("not fetched"), "\(fetched.stderr)")
        #expect(!box.backupFiles().contains { $0.hasPrefix("synapse_db_") })
        #expect(try box.cluster.scalar("SELECT count(*) FROM pg_database WHERE datname = '\(box.database)_x'", database: "postgres") == "0")
    }

    /// Bots may download 20 MB: a bigger document is refused with its size, the limit and the ways out.
    @Test func aDocumentOverTheDownloadLimitIsRefusedWithTheWaysOut() throws {
        let bot = try FakeBotAPI()
        let box = try fresh(bot)
        let big = box.root + "/synapse_db_20240101_030000.sql.gz"
        let size = 21 * 1024 * 1024
        try Data(count: size).write(to: URL(fileURLWithPath: big))
        let id = try sendLikeTheLegacyScript(bot, big)
        let refused = try box.run(["restore", "--from", "telegram", link(bot, id), "--target-db", box.database + "_big"])
        #expect(refused.exitCode == 3, "\(refused.stderr)")
        for words in ["\(size) bytes", "20971520 bytes", "telegram.api_url", "restore FILE"] {
            #expect(refused.stderr.contains(words), "\(words): \(refused.stderr)")
        }
        #expect(!refused.stderr.contains(bot.token))
    }

    /// `verify --from telegram latest` names the newest like restore and fetch do.
    @Test func verifyFromTelegramTakesLatest() throws {
        let box = try Sandbox()
        let bot = try FakeBotAPI()
        try box.writeConfig(extra: bot.config(extra: "  retries: 2\n  retry_delay_ms: 50"))
        #expect(try box.run(["backup"]).exitCode == 0)
        #expect(try box.run(["push"]).exitCode == 0)
        let name = (try box.onlyBackup() as NSString).lastPathComponent
        let verified = try box.run(["verify", "--from", "telegram", "latest"])
        #expect(verified.exitCode == 0 && verified.stdout.contains("OK: telegram:\(name)"), "\(verified.stdout)\(verified.stderr)")
    }
}
