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

/// Progress of an upload, kept locally so that a retried or restarted upload sends only the missing parts.
struct TelegramUploadState: Codable {
    var sha256: String
    var parts: [TelegramManifest.Part]
}
