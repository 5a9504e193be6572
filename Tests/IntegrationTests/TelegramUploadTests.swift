import Foundation
import MXBackupKit
import Testing

/// Uploads to Telegram over bad links and after interruptions, through the real binary and the Bot API
/// stand-in: the part on its way is timed out on inactivity only, given up parts are cancelled, and a
/// manifest is pinned only when its parts cover the backup exactly.
@Suite struct TelegramUploadTests {
    /// A sandbox with one backup of a few megabytes (random text barely compresses).
    private func sandboxWithBackup(rows: Int) throws -> (Sandbox, String) {
        let box = try Sandbox()
        try box.cluster.psql(database: box.database, ["-c", "CREATE TABLE filler AS SELECT i, md5(random()::text) || md5(random()::text) AS a FROM generate_series(1, \(rows)) i"])
        #expect(try box.run(["backup"]).exitCode == 0)
        return (box, try box.onlyBackup())
    }

    private func configure(_ box: Sandbox, _ bot: FakeBotAPI, partSize: Int, _ lines: String...) throws {
        try box.writeConfig(extra: bot.config(partSize: partSize, extra: (["  retries: 3"] + lines.map { "  " + $0 }).joined(separator: "\n")))
    }

    private func size(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
    }

    private func partMessages(_ bot: FakeBotAPI) throws -> [String] {
        try bot.documents().map(\.name).filter { $0.contains(".part") }
    }

    /// What a user relies on: a fresh machine fetches exactly the bytes that were pushed, and verify agrees.
    private func expectFetchable(_ bot: FakeBotAPI, _ file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fresh = try Sandbox(fixture: false)
        try fresh.writeConfig(extra: bot.config())
        let fetched = try fresh.run(["fetch", "--from", "telegram", "latest"])
        #expect(fetched.exitCode == 0, "\(fetched.stderr)", sourceLocation: sourceLocation)
        guard fetched.exitCode == 0 else { return }
        #expect(try Data(contentsOf: URL(fileURLWithPath: fresh.onlyBackup())) == Data(contentsOf: URL(fileURLWithPath: file)),
                sourceLocation: sourceLocation)
        let verified = try fresh.run(["verify", "--from", "telegram"])
        #expect(verified.exitCode == 0 && verified.stdout.hasPrefix("OK: telegram:"), "\(verified.stdout)\(verified.stderr)",
                sourceLocation: sourceLocation)
    }

    @Test func aSlowUploadThatKeepsMovingIsNeverCutOff() throws {
        let (box, file) = try sandboxWithBackup(rows: 200_000)
        let bytes = try size(file)
        let partSize = 6 * 1024 * 1024
        try #require(bytes > partSize)
        let bot = try FakeBotAPI()
        try configure(box, bot, partSize: partSize, "idle_timeout_s: 4")
        // The first part crosses a slow link: 500 KB/s, so it takes about 12 s (three times the idle
        // timeout, and longer than the old whole-request limit of timeout + 5 s), never idle for long.
        try bot.control(["throttle": ["method": "sendDocument", "bytes_per_second": 500_000, "times": 1]])
        let started = Date()
        let pushed = try box.run(["push", file])
        let seconds = Date().timeIntervalSince(started)
        #expect(pushed.exitCode == 0, "\(pushed.stderr)")
        #expect(seconds > 10, "the throttle did not apply: \(seconds)s")
        #expect(!pushed.stderr.contains("retrying"), "\(pushed.stderr)")
        // Each part went up once: no part given up half way and sent again.
        #expect(try partMessages(bot).count == (bytes + partSize - 1) / partSize)
        #expect(try bot.abandoned().isEmpty)
        try expectFetchable(bot, file)
    }

    @Test func aStalledUploadIsGivenUpAndCancelledAndNeverLandsLater() throws {
        let (box, file) = try sandboxWithBackup(rows: 100_000)
        let bytes = try size(file)
        let partSize = 3 * 1024 * 1024
        try #require(bytes > partSize)
        let bot = try FakeBotAPI()
        // The retry waits 3 s, so mxbackup is still running when the server reads on after its stall:
        // an upload left running would then complete and land as a second copy of part 1.
        try configure(box, bot, partSize: partSize, "idle_timeout_s: 2", "retry_delay_ms: 3000")
        try bot.control(["stall": ["method": "sendDocument", "after_bytes": 256 * 1024, "seconds": 6, "times": 1]])
        let started = Date()
        let pushed = try box.run(["push", file])
        let seconds = Date().timeIntervalSince(started)
        #expect(pushed.exitCode == 0, "\(pushed.stderr)")
        #expect(pushed.stderr.contains("no byte moved for 2.0s: gave up and cancelled the request"), "\(pushed.stderr)")
        #expect(seconds < 20, "\(seconds)s")
        // The stalled request ends on the server without its body: it did nothing.
        #expect(waitUntil(seconds: 15) { (try? bot.abandoned()) == ["sendDocument"] }, "\(String(describing: try? bot.abandoned()))")
        let parts = try partMessages(bot)
        #expect(parts.count == (bytes + partSize - 1) / partSize, "\(parts)")
        #expect(Set(parts).count == parts.count, "a part landed twice: \(parts)")
        try expectFetchable(bot, file)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalDuringAnUploadCancelsItAtOnce(signal: Int32) throws {
        let (box, file) = try sandboxWithBackup(rows: 100_000)
        let bot = try FakeBotAPI()
        try configure(box, bot, partSize: 3 * 1024 * 1024, "idle_timeout_s: 60")
        try bot.control(["stall": ["method": "sendDocument", "after_bytes": 256 * 1024, "seconds": 8, "times": 1]])
        let stderrPath = box.root + "/stderr"
        let stderrFD = open(stderrPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(stderrFD) }
        let child = try ChildProcess(box.spec(["push", file]), descriptors: [2: stderrFD])
        #expect(waitUntil(seconds: 30) { ((try? bot.calls("sendDocument")) ?? 0) > 0 })
        usleep(500_000)
        let signalled = Date()
        kill(child.pid, signal)
        #expect(child.wait() == .exited(128 + signal))
        // Well within the 10 s grace after which a stuck run is killed: the upload was cancelled.
        #expect(Date().timeIntervalSince(signalled) < 5)
        let stderr = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(stderr.contains("interrupted by signal \(signal)"), "\(stderr)")
        #expect(waitUntil(seconds: 15) { (try? bot.abandoned()) == ["sendDocument"] })
        #expect(try partMessages(bot).isEmpty)
        #expect(try bot.state()["pinned"] is NSNull)
    }

    @Test func aResumedUploadKeepsThePartSizeItBeganWith() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let file = try box.onlyBackup()
        let bot = try FakeBotAPI()
        try configure(box, bot, partSize: 4096, "retry_delay_ms: 50")
        try bot.control(["fail": ["method": "sendDocument", "status": 502, "times": 3, "after": 2]])
        #expect(try box.run(["push", file]).exitCode == 1)
        let total = (try size(file) + 4095) / 4096
        #expect(try partMessages(bot).count == 2)

        try configure(box, bot, partSize: 8192, "retry_delay_ms: 50")
        let resumed = try box.run(["push", file])
        #expect(resumed.exitCode == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming an upload begun with parts of 4096 bytes: telegram.part_size (8192) applies from the next backup"),
                "\(resumed.stderr)")
        // Nothing confirmed was sent again, and the rest went at the size the upload began with.
        #expect(try partMessages(bot).count == total)
        try expectFetchable(bot, file)
    }

    @Test func partsRecordedForAnotherBotAreNotReused() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let file = try box.onlyBackup()
        let first = try FakeBotAPI()
        try configure(box, first, partSize: 4096, "retry_delay_ms: 50")
        try first.control(["fail": ["method": "sendDocument", "status": 502, "times": 3, "after": 2]])
        #expect(try box.run(["push", file]).exitCode == 1)
        // The operator moves to another bot before pushing again: its file ids mean nothing to the first.
        let second = try FakeBotAPI()
        try configure(box, second, partSize: 4096, "retry_delay_ms: 50")
        let pushed = try box.run(["push", file])
        #expect(pushed.exitCode == 0, "\(pushed.stderr)")
        #expect(pushed.stderr.contains("went to another bot or chat: sending every part"), "\(pushed.stderr)")
        #expect(try partMessages(second).count == (try size(file) + 4095) / 4096)
        try expectFetchable(second, file)
    }

    @Test func recordedPartsThatDoNotFitTogetherAreSentAgainNeverPinnedWithAGap() throws {
        let box = try Sandbox()
        #expect(try box.run(["backup"]).exitCode == 0)
        let file = try box.onlyBackup()
        let name = (file as NSString).lastPathComponent
        let bot = try FakeBotAPI()
        try configure(box, bot, partSize: 4096, "retry_delay_ms: 50")
        try bot.control(["fail": ["method": "sendDocument", "status": 502, "times": 3, "after": 3]])
        #expect(try box.run(["push", file]).exitCode == 1)
        // The record of the upload loses its second part (a damaged or hand-edited file).
        let statePath = box.backupDir + "/.telegram-upload-\(name).json"
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statePath))) as? [String: Any])
        var parts = try #require(state["parts"] as? [[String: Any]])
        #expect(parts.count == 3)
        parts.remove(at: 1)
        state["parts"] = parts
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))

        let resumed = try box.run(["push", file])
        #expect(resumed.exitCode == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("do not fit together after part 1: sending from part 2 again"), "\(resumed.stderr)")
        try expectFetchable(bot, file)
        #expect(!FileManager.default.fileExists(atPath: statePath))
    }

    @Test func onlyPartsThatCoverTheFileExactlyOnceMayBePinned() {
        func part(_ index: Int, _ offset: Int64, _ size: Int64) -> TelegramManifest.Part {
            .init(index: index, messageId: index + 10, fileId: "f\(index)", offset: offset, size: size, sha256: "")
        }
        #expect(TelegramManifest.coverageProblem(of: [part(0, 0, 10), part(1, 10, 10), part(2, 20, 5)], fileSize: 25) == nil)
        #expect(TelegramManifest.coverageProblem(of: [part(0, 0, 10), part(1, 10, 10)], fileSize: 25, prefix: true) == nil)
        #expect(TelegramManifest.coverageProblem(of: [part(0, 0, 10), part(1, 10, 10)], fileSize: 25) == "bytes 20..<25 are in no part")
        #expect(TelegramManifest.coverageProblem(of: [part(0, 0, 10), part(1, 20, 5)], fileSize: 25) == "bytes 10..<20 are in no part")
        #expect(TelegramManifest.coverageProblem(of: [part(0, 0, 10), part(1, 5, 20)], fileSize: 25) == "bytes 5..<10 are in two parts")
        #expect(TelegramManifest.coverageProblem(of: [part(0, 0, 10), part(2, 10, 15)], fileSize: 25) == "part 2 is recorded as part 3")
        #expect(TelegramManifest.coverageProblem(of: [part(0, 0, 10), part(1, 10, 20)], fileSize: 25) == "the parts end at byte 30, beyond the file's 25 bytes")
        #expect(TelegramManifest.coverageProblem(of: [], fileSize: 25) == "bytes 0..<25 are in no part")
    }
}
