import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The few HTTP calls mxbackup makes to Synapse (health, canary login, server notices), synchronous
/// with a short timeout. Tokens and passwords travel only in headers and bodies, never in URLs or messages.
public struct SynapseClient: Sendable {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var error: String?
        public var summary: String { error ?? "HTTP \(status) \(body.prefix(80))" }
    }

    public var baseURL: String

    public init(baseURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func get(_ path: String) -> Answer { request("GET", path, body: nil, token: nil) }

    public func post(_ path: String, json: [String: Any], token: String? = nil) -> Answer {
        request("POST", path, body: try? JSONSerialization.data(withJSONObject: json), token: token)
    }

    private func request(_ method: String, _ path: String, body: Data?, token: String?) -> Answer {
        guard let url = URL(string: baseURL + path) else { return Answer(status: 0, body: "", error: "bad synapse.url \(baseURL)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 5
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let result = Box(Answer(status: 0, body: "", error: "timeout"))
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            result.value = Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0,
                                  body: data.map { String(decoding: $0, as: UTF8.self) } ?? "",
                                  error: error.map { _ in "no answer from \(baseURL)" })
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 6)
        return result.value
    }
}
