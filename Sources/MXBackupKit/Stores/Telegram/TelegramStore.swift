import Foundation

/// A Telegram chat as a store. A backup's bytes (already compressed and encrypted) go up in parts small
/// enough for a bot to download again (`part_size`, 19 MiB: bots may upload 50 MB but download only
/// 20 MB), then a manifest document listing the parts and every backup kept offsite, pinned.
public struct TelegramStore: BackupStore {
    public let api: TelegramBotAPI
    public let partSize: Int
    /// Where upload progress and the local copy of the offsite index are kept.
    public let stateDirectory: String
    public let retention: RetentionPolicy
    /// Pause between messages: Telegram allows about one message per second per chat.
    public let messageInterval: Double
    /// When the pinned message is gone: a manifest message id given by the operator.
    public let manifestMessageId: Int?
    /// Part downloads happen while a restore reads the stream, after `open` returned: they are retried
    /// with the same policy `RetryingStore` applies to whole operations.
    public let retry: RetryPolicy

    public init(api: TelegramBotAPI, partSize: Int, stateDirectory: String, retention: RetentionPolicy,
                retry: RetryPolicy, messageInterval: Double = 1.0, manifestMessageId: Int? = nil) {
        self.retry = retry
        self.api = api
        self.partSize = partSize
        self.stateDirectory = stateDirectory
        self.retention = retention
        self.messageInterval = messageInterval
        self.manifestMessageId = manifestMessageId
    }

    public var description: String { "telegram chat \(api.chatID)" }

    public static func indexPath(_ directory: String) -> String { (directory as NSString).appendingPathComponent("telegram-index.json") }

    private func uploadStatePath(_ name: String) -> String {
        (stateDirectory as NSString).appendingPathComponent(".telegram-upload-\(name).json")
    }

    // MARK: put

    public func put(path: String, manifest: Manifest) throws {
        let name = manifest.file.name
        let current = try newestManifest()
        if let entry = current?.index.first(where: { $0.name == name }), entry.sha256 == manifest.file.sha256 { return }

        try BackupDirectory.prepare(stateDirectory, console: retry.console)  // upload progress is kept there
        var state = resumableState(name, sha256: manifest.file.sha256, size: manifest.file.size)
        let partSize = Int64(state.partSize ?? self.partSize)
        let count = max(1, Int((manifest.file.size + partSize - 1) / partSize))
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.permanent("\(path): cannot open: \(Format.errno(errno))") }
        defer { close(fd) }
        for index in state.parts.count..<count {
            try Interrupts.shared.checkpoint()
            FaultPoint.reached("push: part \(index + 1)")
            let offset = Int64(index) * partSize
            let length = Int(min(partSize, manifest.file.size - offset))
            // The part goes from the file straight into the request body (held in memory once); its hash
            // is taken on the way and the caption that carries it follows the file in the form.
            let hasher = SHA256Hasher()
            var sha = ""
            let message = try api.sendDocument(name: "\(name).part\(String(format: "%03d", index + 1))", size: length) { body in
                let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { chunk.deallocate() }
                var done = 0
                while done < length {
                    let n = pread(fd, chunk.baseAddress, min(chunk.count, length - done), off_t(offset) + off_t(done))
                    guard n > 0 else { throw StoreError.permanent("\(path): short read at \(offset + Int64(done))") }
                    let bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<n])
                    hasher.update(bytes)
                    body.append(contentsOf: bytes)
                    done += n
                }
                sha = hasher.finalize()
                return "mxbackup \(name) part \(index + 1)/\(count), \(length) bytes, sha256 \(sha)"
            }
            guard let fileId = message.fileId else { throw StoreError.permanent("Telegram sendDocument: no file id in the answer") }
            state.parts.append(.init(index: index, messageId: message.id, fileId: fileId, offset: offset, size: Int64(length), sha256: sha))
            try saveState(state, name)
            Thread.sleep(forTimeInterval: messageInterval)
        }
        FaultPoint.reached("push: send the manifest")
        try publish(manifest, parts: state.parts, previous: current)
        unlink(uploadStatePath(name))
    }

    /// Sends and pins the manifest only now that every part is confirmed; applies retention to the index.
    private func publish(_ manifest: Manifest, parts: [TelegramManifest.Part], previous: TelegramManifest?) throws {
        let name = manifest.file.name
        if let problem = TelegramManifest.coverageProblem(of: parts, fileSize: manifest.file.size) {
            throw StoreError.permanent("\(name): the parts sent do not cover the backup exactly (\(problem)): no manifest was pinned; delete \(uploadStatePath(name)) and push again")
        }
        var kept = (previous?.index ?? []).filter { $0.name != name }
        let placeholder = TelegramManifest.Entry(name: name, created: manifest.createdAt, size: manifest.file.size, sha256: manifest.file.sha256,
                                                 manifestMessageId: 0, manifestFileId: "", messageIds: parts.map(\.messageId),
                                                 sentAt: Int(Date().timeIntervalSince1970))
        kept.insert(placeholder, at: 0)
        var dropped: [TelegramManifest.Entry] = []
        if !retention.isEmpty {
            let reasons = retention.reasons(for: kept.map { Format.parseISO8601($0.created) ?? .distantPast }, now: Date())
            dropped = kept.indices.filter { reasons[$0].isEmpty && $0 != 0 }.map { kept[$0] }
            kept = kept.indices.filter { !reasons[$0].isEmpty || $0 == 0 }.map { kept[$0] }
        }
        var document = TelegramManifest(backup: manifest, parts: parts, index: kept, previousManifestMessageId: previousMessageId(previous))
        let sent = try api.sendDocument(name: "\(BackupName.stem(of: name)).telegram-manifest.json", data: try document.encoded(),
                                        caption: "mxbackup manifest \(name): \(parts.count) parts, \(kept.count) backups kept offsite")
        guard let fileId = sent.fileId else { throw StoreError.permanent("Telegram sendDocument: no file id in the answer") }
        // The entry for this backup now knows where its manifest is (the copy inside the document
        // itself cannot: it did not exist yet; readers use the pinned message for the newest).
        document.index[0].manifestMessageId = sent.id
        document.index[0].manifestFileId = fileId
        document.index[0].messageIds.append(sent.id)
        FaultPoint.reached("push: pin the manifest")
        try api.pin(sent.id)
        try FileSink.writeAtomically(try document.encoded(), to: Self.indexPath(stateDirectory))
        for entry in dropped {
            if let note = deleteMessages(entry).note { retry.console.warn("retention: \(entry.name) left the offsite index, but \(note)") }
        }
    }

    private func previousMessageId(_ previous: TelegramManifest?) -> Int? {
        previous?.index.first?.manifestMessageId
    }

    /// The recorded progress of this upload, as far as it can be continued: the same file, bot and chat,
    /// and only the leading parts that fit together at the recorded part size (the rest is sent again).
    /// A changed `telegram.part_size` does not apply to an upload under way: the parts already confirmed
    /// were accepted at the recorded size, so the others will be too, nothing is sent twice (on a slow
    /// link that is hours), and every part of a backup keeps one size, as its captions say.
    private func resumableState(_ name: String, sha256: String, size: Int64) -> TelegramUploadState {
        let fresh = TelegramUploadState(sha256: sha256, partSize: partSize, bot: api.botID, chatId: api.chatID, parts: [])
        let path = uploadStatePath(name)
        guard let data = FileManager.default.contents(atPath: path),
              var state = try? TelegramManifest.decoder.decode(TelegramUploadState.self, from: data), state.sha256 == sha256 else {
            return fresh
        }
        guard (state.bot ?? api.botID) == api.botID, (state.chatId ?? api.chatID) == api.chatID else {
            retry.console.warn("\(name): the upload recorded in \(path) went to another bot or chat: sending every part to \(description)")
            return fresh
        }
        // A state written before the part size was recorded: its first part has that size.
        let recorded = state.partSize ?? state.parts.first.map { Int($0.size) } ?? partSize
        let fitting = state.parts.enumerated().prefix { position, part in
            part.index == position && part.offset == Int64(position) * Int64(recorded)
                && (part.size == Int64(recorded) || (part.size > 0 && part.offset + part.size == size))
        }.count
        if fitting < state.parts.count {
            retry.console.warn("\(name): the parts recorded in \(path) do not fit together after part \(fitting): sending from part \(fitting + 1) again; the \(state.parts.count - fitting) message(s) recorded after it stay in the chat, in no manifest")
            state.parts.removeSubrange(fitting...)
        }
        guard !state.parts.isEmpty else { return fresh }
        if recorded != partSize {
            retry.console.warn("\(name): resuming an upload begun with parts of \(recorded) bytes: telegram.part_size (\(partSize)) applies from the next backup")
        }
        state.partSize = recorded
        state.bot = api.botID
        state.chatId = api.chatID
        return state
    }

    private func saveState(_ state: TelegramUploadState, _ name: String) throws {
        try FileSink.writeAtomically(try TelegramManifest.encoder.encode(state), to: uploadStatePath(name))
    }

    // MARK: reading

    /// The newest manifest: the pinned message, or the one the operator named.
    public func newestManifest() throws -> TelegramManifest? {
        let message: TelegramBotAPI.Message?
        if let manifestMessageId {
            message = try api.message(byID: manifestMessageId)
        } else {
            message = try api.pinnedMessage()
        }
        guard let message else { return nil }
        guard let fileId = message.fileId else {
            throw StoreError.permanent("the pinned message is not an mxbackup manifest: pass --manifest-message ID of the newest manifest")
        }
        var document = try TelegramManifest.decode(try api.download(fileId: fileId))
        if !document.index.isEmpty, document.index[0].manifestFileId.isEmpty {
            document.index[0].manifestMessageId = message.id
            document.index[0].manifestFileId = fileId
            document.index[0].messageIds.append(message.id)
        }
        return document
    }

    public func list() throws -> [StoredBackup] {
        guard let newest = try newestManifest() else { return [] }
        return try newest.index.map { entry in
            let document = entry.manifestFileId == newest.index.first?.manifestFileId ? newest
                : try TelegramManifest.decode(try api.download(fileId: entry.manifestFileId))
            return StoredBackup(name: entry.name, manifest: document.backup)
        }
    }

    private func manifest(of name: String) throws -> TelegramManifest {
        guard let newest = try newestManifest() else { throw StoreError.permanent("no mxbackup manifest is pinned in the chat") }
        guard let entry = newest.index.first(where: { $0.name == name || (name == "latest" && $0 == newest.index.first) }) else {
            throw StoreError.permanent("no backup \(name) offsite (kept: \(newest.index.map(\.name).joined(separator: ", ")))")
        }
        return entry.manifestFileId == newest.index.first?.manifestFileId ? newest
            : try TelegramManifest.decode(try api.download(fileId: entry.manifestFileId))
    }

    public func open(_ name: String) throws -> ByteSource {
        let document = try manifest(of: name)
        let parts = TelegramPartSource(api: api, parts: document.parts, name: document.backup.file.name, retry: retry)
        return ChecksummedSource(parts, sha256: document.backup.file.sha256, size: document.backup.file.size, name: document.backup.file.name)
    }

    public func delete(_ name: String) throws -> (deleted: Bool, note: String?) {
        guard let entry = try newestManifest()?.index.first(where: { $0.name == name }) else { return (false, "not offsite") }
        return deleteMessages(entry)
    }

    /// Bots may delete their messages for 48 hours only; older ones stay until deleted in the app.
    private func deleteMessages(_ entry: TelegramManifest.Entry) -> (deleted: Bool, note: String?) {
        let results = entry.messageIds.map { (try? api.deleteMessage($0)) ?? false }
        return results.allSatisfy { $0 } ? (true, nil)
            : (false, "\(results.filter { !$0 }.count) of \(results.count) messages of \(entry.name) could not be deleted (the Bot API deletes only messages younger than 48 hours): delete them in the Telegram app")
    }
}

/// Downloads parts one at a time, checks each part's SHA-256, and yields the bytes in order: at most
/// one part (19 MiB) in memory, nothing on disk.
final class TelegramPartSource: ByteSource {
    private let api: TelegramBotAPI
    private let parts: [TelegramManifest.Part]
    private let name: String
    private var next = 0
    private var current = Data()
    private var offset = 0

    private let retry: RetryPolicy

    init(api: TelegramBotAPI, parts: [TelegramManifest.Part], name: String, retry: RetryPolicy) {
        self.retry = retry
        self.api = api
        self.parts = parts.sorted { $0.index < $1.index }
        self.name = name
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == current.count {
            guard next < parts.count else { return 0 }
            let part = parts[next]
            let data = try fetch(part)
            current = data
            offset = 0
            next += 1
        }
        let n = min(buffer.count, current.count - offset)
        current.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<offset + n)
        offset += n
        return n
    }

    /// One part, retried like any store operation, refused when its hash is wrong.
    private func fetch(_ part: TelegramManifest.Part) throws -> Data {
        let data = try retry.run("download of \(name) part \(part.index + 1)") { try api.download(fileId: part.fileId) }
        let sha = SHA256Hasher.hex(of: data)
        guard data.count == part.size, sha == part.sha256 else {
            throw MXError.failed("\(name): part \(part.index + 1) does not match its SHA-256 (got \(sha)): the offsite copy is damaged")
        }
        return data
    }
}
