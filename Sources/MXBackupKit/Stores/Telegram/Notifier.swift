import Foundation

/// A short status message to the Telegram chat after each job. Sending it never makes a job fail:
/// a notification that cannot be delivered is a warning. A rate limit (429) is waited out when its
/// `retry_after` is at most a minute, at most twice, so a job's end is delayed by two minutes at worst.
public struct Notifier: Sendable {
    let api: TelegramBotAPI?
    let failureChat: String?
    let console: Console
    let retry: RetryPolicy

    public init(api: TelegramBotAPI?, failureChat: String?, console: Console) {
        self.api = api
        self.failureChat = failureChat
        self.console = console
        retry = RetryPolicy(attempts: 3, initialDelay: 1, console: console, label: "notification", longestWait: 60)
    }

    public func send(ok: Bool, job: String, _ details: String) {
        guard let api else { return }
        let host = ProcessInfo.processInfo.hostName
        let text = "\(ok ? "✅" : "❌") <b>mxbackup \(Self.escape(job))</b> on \(Self.escape(host)): \(Self.escape(details))"
        do {
            try retry.run("sendMessage") { try api.sendMessage(text, chat: ok ? nil : failureChat) }
        } catch {
            console.warn("notification not sent: \((error as? MXError)?.message ?? "\(error)")")
        }
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
