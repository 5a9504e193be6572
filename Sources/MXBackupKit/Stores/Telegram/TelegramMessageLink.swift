import Foundation

/// A Telegram message named by the operator: a link copied in the app (`https://t.me/c/<chat>/<id>` for a
/// private chat, whose Bot API id is `-100<chat>`; `https://t.me/<username>/<id>` for a public one; a
/// topic's `…/<topic>/<id>` too) or a bare message id in the configured chat. Bots cannot read a chat's
/// history, so this is how a message the legacy scripts sent is found again.
public struct TelegramMessageLink: Sendable, Equatable {
    /// The Bot API chat id (`-100…` or `@username`), or nil for the configured chat.
    public var chat: String?
    public var messageId: Int

    public init(chat: String?, messageId: Int) {
        self.chat = chat
        self.messageId = messageId
    }

    /// The link or id in `text`, or nil when it is neither (then it is a stored backup's name).
    public init?(_ text: String) {
        if let id = Int(text), id > 0 {
            self.init(chat: nil, messageId: id)
            return
        }
        var rest = Substring(text)
        for scheme in ["https://", "http://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        for host in ["www.t.me/", "t.me/", "telegram.me/"] where rest.hasPrefix(host) { rest = rest.dropFirst(host.count) }
        guard rest.count < text.count else { return nil }
        rest = rest.prefix { $0 != "?" && $0 != "#" }
        let path = rest.split(separator: "/").map(String.init)
        if path.first == "c", (3...4).contains(path.count), let chat = Int(path[1]), chat > 0,
           let id = Int(path[path.count - 1]), id > 0 {
            self.init(chat: "-100\(chat)", messageId: id)
        } else if (2...3).contains(path.count), path[0].wholeMatch(of: #/[A-Za-z][A-Za-z0-9_]{3,31}/#) != nil,
                  let id = Int(path[path.count - 1]), id > 0 {
            self.init(chat: "@\(path[0])", messageId: id)
        } else {
            return nil
        }
    }
}
