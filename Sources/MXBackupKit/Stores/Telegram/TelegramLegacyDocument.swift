import Foundation

/// A backup sent whole as one document, as the legacy offsite script did (`sendDocument` with a caption,
/// nothing pinned, no manifest), found by the message the operator names. It is read like a legacy
/// file: its name must be a backup's, and restore, verify and fetch check its content as they would a
/// local legacy file (there is no checksum to compare).
public enum TelegramLegacyDocument {
    public static func source(_ link: TelegramMessageLink, api: TelegramBotAPI, retry: RetryPolicy) throws -> BackupSource {
        let place = "Telegram message \(link.messageId)" + (link.chat.map { " in chat \($0)" } ?? "")
        let message = try retry.run("reading \(place)") { () throws -> TelegramBotAPI.Message in
            do {
                return try api.message(byID: link.messageId, in: link.chat)
            } catch StoreError.permanent(let reason) where reason.contains("not found") {
                throw MXError.refused("\(place): not found (\(reason)): copy the message's link in the Telegram app again; the bot must be a member of that chat")
            }
        }
        guard let fileId = message.fileId, let name = message.fileName else {
            throw MXError.refused("\(place) has no document: give the link of the message that carries the backup file")
        }
        try checkName(name, link: link, place: place)
        let size = message.fileSize ?? 0
        // api.telegram.org refuses to hand a bot more than 20 MB; say so before asking (getFile).
        if api.isOfficialServer, size > TelegramBotAPI.downloadLimit { throw tooBig(name, size: size, place: place) }
        return BackupSource(name: "telegram:\(name)", fileName: name, manifest: nil) {
            // Whole, in memory: the Bot API took at most 50 MB from the legacy script.
            let data = try retry.run("download of \(name)") { () throws -> Data in
                do {
                    return try api.download(fileId: fileId)
                } catch StoreError.permanent(let reason) where reason.contains("file is too big") {
                    throw tooBig(name, size: size, place: place)  // a server that enforces the limit itself
                }
            }
            guard message.fileSize == nil || Int64(data.count) == size else {
                throw MXError.refused("\(place): \(name): downloaded \(data.count) bytes, Telegram reports \(size): try again")
            }
            return (DataSource(data), Int64(data.count))
        }
    }

    /// Only a backup's name is read as a backup: a part or a manifest of mxbackup's own uploads, or
    /// any other document, is refused with what to give instead.
    static func checkName(_ name: String, link: TelegramMessageLink, place: String) throws {
        if name.hasSuffix(".telegram-manifest.json") {
            throw MXError.refused("\(place) is an mxbackup manifest (\(name)): pass --manifest-message \(link.messageId) and the backup's name, or latest")
        }
        if let range = name.range(of: #"\.part\d{3}$"#, options: .regularExpression) {
            throw MXError.refused("\(place) is one part of the mxbackup backup \(name[..<range.lowerBound]): give that name (or latest) instead")
        }
        // The name becomes a file name (fetch): a path in it must not lead elsewhere.
        guard !name.contains("/"), !name.hasPrefix(".") else {
            throw MXError.refused("\(place): the document's name '\(name)' is not a plain file name: download it in the Telegram app and run restore FILE")
        }
        guard BackupName.suffix(of: name) != nil else {
            throw MXError.refused("\(place): \(name) is not a backup (names end in \(BackupName.suffixes.joined(separator: ", "))): give the link of the message that carries the backup file")
        }
    }

    static func tooBig(_ name: String, size: Int64, place: String) -> MXError {
        MXError.refused("\(place): \(name) is \(size) bytes (\(Format.bytes(size))), over the \(TelegramBotAPI.downloadLimit) bytes (\(Format.bytes(TelegramBotAPI.downloadLimit))) a bot may download from Telegram's Bot API: set telegram.api_url to a local Bot API server (no limit), or download it in the Telegram app and run restore FILE")
    }
}
