import Foundation

/// A short status message to the Telegram chat after each job. Sending it never makes a job fail:
/// a notification that cannot be delivered is a warning.
public struct Notifier: Sendable {
    let api: TelegramBotAPI?
    let failureChat: String?
    let console: Console

    public init(api: TelegramBotAPI?, failureChat: String?, console: Console) {
        self.api = api
        self.failureChat = failureChat
        self.console = console
    }

    public func send(ok: Bool, job: String, _ details: String) {
        guard let api else { return }
        let host = ProcessInfo.processInfo.hostName
        let text = "\(ok ? "✅" : "❌") <b>mxbackup \(Self.escape(job))</b> on \(Self.escape(host)): \(Self.escape(details))"
        do {
            try api.sendMessage(text, chat: ok ? nil : failureChat)
        } catch {
            console.warn("notification not sent: \((error as? StoreError)?.message ?? "\(error)")")
        }
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
