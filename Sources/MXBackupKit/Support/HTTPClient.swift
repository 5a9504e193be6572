import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Synchronous HTTP for the few calls mxbackup makes (Synapse, the Telegram Bot API). Transport errors
/// are reported without the URL, which may hold a secret (the bot token is part of Bot API URLs).
///
/// `timeout` bounds inactivity, not the whole transfer: a slow upload that keeps moving is never cut
/// off, and a request given up on is cancelled (its connection closed) before `send` returns, so it
/// cannot go on in the background and land later.
public struct HTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct TransportError: Error, Sendable {
        public var description: String
    }

    /// Seconds without a byte sent or received after which the request is given up.
    public var timeout: Double
    /// Asked about once a second while a request runs: true gives it up at once (a signal arrived).
    public var isCancelled: @Sendable () -> Bool

    public init(timeout: Double = 30, isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.timeout = timeout
        self.isCancelled = isCancelled
    }

    public func send(_ method: String, _ url: URL, headers: [String: String] = [:], body: Data? = nil) throws -> Response {
        var request = URLRequest(url: url)
        request.httpMethod = method
        // URLSession's own timer is only the backstop: on Linux it is restarted by the same events the
        // watchdog below sees (measured), and it takes whole seconds.
        request.timeoutInterval = timeout.rounded(.up) + 5
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let transfer = Transfer()
        let session = URLSession(configuration: .ephemeral, delegate: transfer, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        task.resume()
        while transfer.done.wait(timeout: .now() + min(1, timeout / 4)) == .timedOut {
            let reason: String
            if isCancelled() {
                reason = "cancelled"
            } else if transfer.idleSeconds >= timeout {
                reason = transfer.requestSent
                    ? "no answer for \(Format.duration(timeout)) after the whole request was sent: gave up (the server may still act on it)"
                    : "no byte moved for \(Format.duration(timeout)): gave up and cancelled the request"
            } else {
                continue
            }
            task.cancel()
            // Cancelling closes the connection, so what the server had not received yet never arrives;
            // the cancelled task reports at once (measured: a few milliseconds).
            _ = transfer.done.wait(timeout: .now() + 10)
            throw TransportError(description: reason)
        }
        return try transfer.result()
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: return "timed out"
        case .cannotConnectToHost, .cannotFindHost: return "cannot connect"
        case .networkConnectionLost: return "connection lost"
        case .notConnectedToInternet: return "no network"
        default: return "transfer failed (URL error \(error.code.rawValue))"
        }
    }
}

/// One request's progress, from URLSession's delegate callbacks: when a byte last moved, and the answer.
private final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var lastActivity = DispatchTime.now()
    private var sent = false
    private var status = 0
    private var body = Data()
    private var error: Error?

    private func touch(_ change: () -> Void = {}) {
        lock.withLock {
            lastActivity = .now()
            change()
        }
    }

    var idleSeconds: Double { lock.withLock { Double(DispatchTime.now().uptimeNanoseconds - lastActivity.uptimeNanoseconds) / 1e9 } }

    /// The whole body was handed over: giving up now cannot stop the server from acting on it.
    var requestSent: Bool { lock.withLock { sent } }

    func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64,
                    totalBytesSent: Int64, totalBytesExpectedToSend: Int64) {
        touch { sent = totalBytesExpectedToSend > 0 && totalBytesSent >= totalBytesExpectedToSend }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        touch { sent = true; status = (response as? HTTPURLResponse)?.statusCode ?? 0 }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        touch { body += data }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.withLock { self.error = error }
        done.signal()
    }

    func result() throws -> HTTPClient.Response {
        try lock.withLock {
            if let error = error as? URLError { throw HTTPClient.TransportError(description: HTTPClient.describe(error)) }
            if let error { throw HTTPClient.TransportError(description: "transfer failed (\(type(of: error)))") }
            return HTTPClient.Response(status: status, body: body)
        }
    }
}
