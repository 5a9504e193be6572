import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Synchronous HTTP for the few calls mxbackup makes (Synapse, the Telegram Bot API). Transport errors
/// are reported without the URL, which may hold a secret (the bot token is part of Bot API URLs).
public struct HTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct TransportError: Error, Sendable {
        public var description: String
    }

    public var timeout: Double

    public init(timeout: Double = 30) { self.timeout = timeout }

    public func send(_ method: String, _ url: URL, headers: [String: String] = [:], body: Data? = nil) throws -> Response {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let result = Box<Result<Response, TransportError>>(.failure(TransportError(description: "no answer within \(Int(timeout))s")))
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error = error as? URLError {
                result.value = .failure(TransportError(description: Self.describe(error)))
            } else if let error {
                result.value = .failure(TransportError(description: "transfer failed (\(type(of: error)))"))
            } else {
                result.value = .success(Response(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data ?? Data()))
            }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + timeout + 5)
        return try result.value.get()
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
