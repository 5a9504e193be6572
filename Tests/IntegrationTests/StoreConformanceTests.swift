import Foundation
import MXBackupKit
import Testing

/// Every store must pass the same suite (restic's backend tests, for our stores): put, list, open
/// (checked), idempotent put, delete. Run against the local directory and Telegram (its stand-in).
@Suite struct StoreConformanceTests {
    enum Kind: String, CaseIterable, Sendable { case local, telegram }

    /// A file with random bytes and a manifest describing it (a store does not look inside backups).
    static func fakeBackup(in directory: String, size: Int, date: String = "20260101_000000") throws -> (path: String, manifest: Manifest) {
        var bytes = [UInt8](repeating: 0, count: size)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let name = "synapse_db_\(date).sql.zst"
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let hex = try SHA256Hasher.hex(of: path)
        let json = """
        {"manifest_format":1,"mxbackup_version":"test","created_at":"\(String(date.prefix(4)))-\(date.dropFirst(4).prefix(2))-\(date.dropFirst(6).prefix(2))T00:00:00Z",
         "host":"h","database":"synapse","server_version":"15","pg_dump_version":"15","row_counts":{"users":0,"rooms":0,"events":0,"local_media_repository":0},
         "table_rows":{},"database_size":0,"dump_format":"plain","dump_size":\(size),"excluded_table_data":[],"compression":"zstd","compression_level":3,
         "encryption":{"mode":"none","recipients":[]},"file":{"name":"\(name)","size":\(size),"sha256":"\(hex)"}}
        """
        try json.write(toFile: Manifest.path(forBackup: path), atomically: true, encoding: .utf8)
        return (path, try Manifest.read(Manifest.path(forBackup: path)))
    }

    private func makeStore(_ kind: Kind, root: String, bot: FakeBotAPI?) throws -> BackupStore {
        let policy = RetryPolicy(attempts: 3, initialDelay: 0.1, console: Console(mode: .quiet))
        switch kind {
        case .local:
            return RetryingStore(LocalStore(directory: root + "/store"), policy: policy)
        case .telegram:
            let api = TelegramBotAPI(baseURL: bot!.url, token: bot!.token, chatID: bot!.chatID)
            return RetryingStore(TelegramStore(api: api, partSize: 100_000, stateDirectory: root, retention: RetentionPolicy(),
                                               retry: policy, messageInterval: 0), policy: policy)
        }
    }

    private func readAll(_ source: ByteSource) throws -> Data {
        var data = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { return data }
            data.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    @Test(arguments: Kind.allCases)
    func putListOpenDelete(_ kind: Kind) throws {
        let root = try makeTemporaryDirectory("store-\(kind)")
        let bot = kind == .telegram ? try FakeBotAPI() : nil
        let store = try makeStore(kind, root: root, bot: bot)
        #expect(try store.list().isEmpty)

        let first = try Self.fakeBackup(in: root, size: 250_000, date: "20260101_000000")  // three parts on Telegram
        let second = try Self.fakeBackup(in: root, size: 1000, date: "20260102_000000")
        try store.put(path: first.path, manifest: first.manifest)
        try store.put(path: second.path, manifest: second.manifest)
        #expect(try store.list().map(\.name) == [second.manifest.file.name, first.manifest.file.name])
        #expect(try store.list().first?.manifest == second.manifest)

        // What comes back is byte-identical.
        #expect(try readAll(store.open(first.manifest.file.name)) == (try Data(contentsOf: URL(fileURLWithPath: first.path))))

        // put is idempotent: a backup stored completely is not sent again.
        let sentBefore = try bot?.calls("sendDocument")
        try store.put(path: first.path, manifest: first.manifest)
        #expect(try bot?.calls("sendDocument") == sentBefore)
        #expect(try store.list().count == 2)

        // A name that is not there is a clear error.
        #expect(throws: MXError.self) { _ = try store.open("synapse_db_19990101_000000.sql.zst") }

        let deleted = try store.delete(second.manifest.file.name)
        #expect(deleted.deleted)
    }

    @Test(arguments: Kind.allCases)
    func damagedBytesAreRefusedWhenRead(_ kind: Kind) throws {
        let root = try makeTemporaryDirectory("store-\(kind)")
        let bot = kind == .telegram ? try FakeBotAPI() : nil
        let store = try makeStore(kind, root: root, bot: bot)
        let backup = try Self.fakeBackup(in: root, size: 150_000)
        try store.put(path: backup.path, manifest: backup.manifest)
        switch kind {
        case .local:
            let stored = root + "/store/" + backup.manifest.file.name
            var data = try Data(contentsOf: URL(fileURLWithPath: stored))
            data[70_000] ^= 0xFF
            try data.write(to: URL(fileURLWithPath: stored))
        case .telegram:
            try bot!.control(["corrupt": try bot!.documents()[1].fileID])  // the second part
        }
        let error = try #require(throws: MXError.self) { _ = try readAll(store.open(backup.manifest.file.name)) }
        #expect(error.message.contains("do not match") || error.message.contains("does not match"), "\(error.message)")
    }
}
