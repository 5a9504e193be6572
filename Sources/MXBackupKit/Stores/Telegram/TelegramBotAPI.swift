import Foundation

/// The Bot API calls the Telegram store needs. Every failure becomes a `StoreError` whose message
/// never contains the token (it is part of every Bot API URL, so URLs are never printed).
public struct TelegramBotAPI: Sendable {
    public struct Message: Sendable {
        public var id: Int
        public var fileId: String?
        public var date: Int
        /// The document's name and size as Telegram reports them.
        public var fileName: String? = nil
        public var fileSize: Int64? = nil
    }

    /// What api.telegram.org lets a bot download (`getFile`); a local Bot API server has no such limit.
    public static let downloadLimit: Int64 = 20 * 1024 * 1024

    /// Whether `baseURL` is Telegram's own server, where `downloadLimit` applies.
    public var isOfficialServer: Bool { URL(string: baseURL)?.host == "api.telegram.org" }

    public let baseURL: String
    let token: String
    public let chatID: String
    private let http: HTTPClient

    /// - Parameter timeout: seconds without a byte sent or received before a call is given up and
    ///   cancelled (`telegram.idle_timeout_s`, at least 1); a slow upload that keeps moving is never cut off.
    public init(baseURL: String, token: String, chatID: String, timeout: Double = 120) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.chatID = chatID
        http = HTTPClient(timeout: max(1, timeout), isCancelled: { Interrupts.shared.signal != nil })
    }

    /// The bot's id: the token's part before the colon, public (it is the bot's user id).
    public var botID: String { String(token.prefix { $0 != ":" }) }

    /// Calls a method with form fields and returns its `result`.
    func call(_ method: String, fields: [String: String]) throws -> Any {
        var form = MultipartForm()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { form.field(name, value) }
        return try call(method, form: form)
    }

    func call(_ method: String, form: MultipartForm) throws -> Any {
        let url = URL(string: "\(baseURL)/bot\(token)/\(method)")!
        let body = form.finished()
        let response: HTTPClient.Response
        do {
            response = try http.send("POST", url, headers: ["Content-Type": "multipart/form-data; boundary=\(form.boundary)"], body: body)
        } catch {
            throw StoreError.transient("Telegram \(method): \((error as? HTTPClient.TransportError)?.description ?? "transfer failed")")
        }
        return try Self.result(of: response, method: method)
    }

    static func result(of response: HTTPClient.Response, method: String) throws -> Any {
        let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        if let json, json["ok"] as? Bool == true, let result = json["result"] { return result }
        let code = json?["error_code"] as? Int ?? response.status
        let description = json?["description"] as? String ?? "HTTP \(response.status)"
        switch code {
        case 429:
            let seconds = (json?["parameters"] as? [String: Any])?["retry_after"] as? Double ?? 5
            throw StoreError.rateLimited(seconds: seconds, message: "Telegram \(method): rate limited, retry after \(Int(seconds))s")
        case 401:
            throw StoreError.permanent("bot token rejected (401 Unauthorized): check telegram.bot_token")
        case 413:
            throw StoreError.permanent("Telegram \(method): the upload is too large for the Bot API server (HTTP 413): lower telegram.part_size")
        case 403:
            throw StoreError.permanent("Telegram \(method): the bot is not a member of the chat or lacks the right (\(description)): add it as an administrator")
        case 400 where description.contains("chat not found"):
            throw StoreError.permanent("Telegram chat not found: check telegram.chat_id and that the bot was added to the chat")
        case 500...:
            throw StoreError.transient("Telegram \(method): server error \(code)")
        default:
            throw StoreError.permanent("Telegram \(method): \(description)")
        }
    }

    private static func message(_ value: Any) throws -> Message {
        guard let object = value as? [String: Any], let id = object["message_id"] as? Int else {
            throw StoreError.permanent("Telegram: unexpected answer (no message_id)")
        }
        let document = object["document"] as? [String: Any]
        return Message(id: id, fileId: document?["file_id"] as? String, date: object["date"] as? Int ?? 0,
                       fileName: document?["file_name"] as? String, fileSize: (document?["file_size"] as? NSNumber)?.int64Value)
    }

    public func sendDocument(name: String, data: Data, caption: String) throws -> Message {
        try sendDocument(name: name, size: data.count) { $0 += data; return caption }
    }

    /// - Parameter append: adds the document's `size` bytes to the request body and returns the caption;
    ///   the caption field follows the file in the form, so it may describe bytes hashed on the way.
    public func sendDocument(name: String, size: Int, append: (inout Data) throws -> String) throws -> Message {
        var form = MultipartForm(capacity: size)
        form.field("chat_id", chatID)
        form.field("disable_content_type_detection", "true")
        let caption = try form.file("document", name: name, append)
        form.field("caption", caption)
        return try Self.message(call("sendDocument", form: form))
    }

    public func sendMessage(_ html: String, chat: String? = nil) throws {
        _ = try call("sendMessage", fields: ["chat_id": chat ?? chatID, "text": html, "parse_mode": "HTML", "disable_web_page_preview": "true"])
    }

    public func pin(_ messageID: Int) throws {
        _ = try call("pinChatMessage", fields: ["chat_id": chatID, "message_id": String(messageID), "disable_notification": "true"])
    }

    /// The chat's pinned message, if any.
    public func pinnedMessage() throws -> Message? {
        let chat = try call("getChat", fields: ["chat_id": chatID]) as? [String: Any]
        return try (chat?["pinned_message"]).map(Self.message)
    }

    /// A message by id (in `chat`, default the configured one): bots cannot read history, but forwarding
    /// a message into the configured chat returns it with its document (`copyMessage` would return only
    /// an id); the forward is deleted at once.
    public func message(byID id: Int, in chat: String? = nil) throws -> Message {
        let copy = try Self.message(call("forwardMessage", fields: ["chat_id": chatID, "from_chat_id": chat ?? chatID, "message_id": String(id), "disable_notification": "true"]))
        _ = try? deleteMessage(copy.id)
        return copy
    }

    public func deleteMessage(_ id: Int) throws -> Bool {
        do {
            _ = try call("deleteMessage", fields: ["chat_id": chatID, "message_id": String(id)])
            return true
        } catch StoreError.permanent(let message) where message.contains("can't be deleted") || message.contains("not found") {
            return false
        }
    }

    /// Downloads a file by id (`getFile`, then `/file/bot<token>/<file_path>`); at most 20 MB for bots.
    public func download(fileId: String) throws -> Data {
        let file = try call("getFile", fields: ["file_id": fileId]) as? [String: Any]
        guard let path = file?["file_path"] as? String else { throw StoreError.permanent("Telegram getFile: no file_path in the answer") }
        let url = URL(string: "\(baseURL)/file/bot\(token)/\(path)")!
        let response: HTTPClient.Response
        do { response = try http.send("GET", url) } catch {
            throw StoreError.transient("Telegram download: \((error as? HTTPClient.TransportError)?.description ?? "transfer failed")")
        }
        guard response.status == 200 else {
            throw response.status >= 500 ? StoreError.transient("Telegram download: HTTP \(response.status)")
                                         : StoreError.permanent("Telegram download: HTTP \(response.status)")
        }
        return response.body
    }
}

/// A multipart/form-data body, built in one buffer (a file part is appended straight into it).
struct MultipartForm {
    let boundary = "mxbackup-\(UUID().uuidString)"
    private var body: Data

    init(capacity: Int = 0) { body = Data(capacity: capacity + 4096) }

    mutating func field(_ name: String, _ value: String) {
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func file<T>(_ field: String, name: String, _ append: (inout Data) throws -> T) rethrows -> T {
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(name)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        let result = try append(&body)
        body += Data("\r\n".utf8)
        return result
    }

    func finished() -> Data { body + Data("--\(boundary)--\r\n".utf8) }
}
