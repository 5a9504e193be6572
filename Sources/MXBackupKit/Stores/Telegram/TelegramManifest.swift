import Foundation

/// The document that makes a Telegram chat a store. One is sent after each backup's parts and pinned,
/// so `getChat` → `pinned_message` finds the newest from anywhere; it lists every backup kept offsite,
/// so a fresh server with only the token, the chat id and the GPG key can find and fetch them all.
public struct TelegramManifest: Codable, Sendable {
    public struct Part: Codable, Sendable, Equatable {
        public var index: Int
        public var messageId: Int
        public var fileId: String
        public var offset: Int64
        public var size: Int64
        public var sha256: String

        public init(index: Int, messageId: Int, fileId: String, offset: Int64, size: Int64, sha256: String) {
            self.index = index
            self.messageId = messageId
            self.fileId = fileId
            self.offset = offset
            self.size = size
            self.sha256 = sha256
        }
    }

    /// One backup kept offsite: where its own manifest document is.
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var created: String
        public var size: Int64
        public var sha256: String
        public var manifestMessageId: Int
        public var manifestFileId: String
        /// Every message of this backup (parts and manifest), for deletion.
        public var messageIds: [Int]
        public var sentAt: Int
    }

    public var format = 1
    public var backup: Manifest
    public var parts: [Part]
    /// The backups kept offsite, this one included, newest first.
    public var index: [Entry]
    public var previousManifestMessageId: Int?

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }()

    public func encoded() throws -> Data { try Self.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> TelegramManifest {
        do { return try decoder.decode(TelegramManifest.self, from: data) } catch {
            throw StoreError.permanent("the Telegram manifest is not an mxbackup manifest: \(error)")
        }
    }
}

extension TelegramManifest {
    /// Why `parts` do not cover a file of `fileSize` bytes exactly once, in order (nil when they do):
    /// a manifest is pinned only when this is nil. With `prefix`, the parts may stop short of the end
    /// (an upload in progress).
    public static func coverageProblem(of parts: [Part], fileSize: Int64, prefix: Bool = false) -> String? {
        var end: Int64 = 0
        for (position, part) in parts.enumerated() {
            if part.index != position { return "part \(position + 1) is recorded as part \(part.index + 1)" }
            if part.offset > end { return "bytes \(end)..<\(part.offset) are in no part" }
            if part.offset < end { return "bytes \(part.offset)..<\(min(end, part.offset + part.size)) are in two parts" }
            if part.size <= 0 && fileSize > 0 { return "part \(position + 1) is empty" }
            end += part.size
            if end > fileSize { return "the parts end at byte \(end), beyond the file's \(fileSize) bytes" }
        }
        if !prefix && end < fileSize { return "bytes \(end)..<\(fileSize) are in no part" }
        return nil
    }
}

/// Progress of an upload, kept locally so that a retried or restarted upload sends only the missing parts.
struct TelegramUploadState: Codable {
    var sha256: String
    /// Bytes per part of this upload: a resumed upload keeps it, whatever `telegram.part_size` says now,
    /// so that its parts fit together. Absent in states written before it was recorded.
    var partSize: Int?
    /// Where the parts went (the bot's id, which is not secret, and the chat): parts sent elsewhere
    /// cannot belong to this chat's manifest. Absent in older states.
    var bot: String?
    var chatId: String?
    var parts: [TelegramManifest.Part]
}
