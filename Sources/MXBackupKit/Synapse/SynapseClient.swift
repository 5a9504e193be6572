import Foundation

/// The few HTTP calls mxbackup makes to Synapse (health, canary login, server notices). Tokens and
/// passwords travel only in headers and bodies, never in URLs or messages.
public struct SynapseClient: Sendable {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var error: String?
        public var summary: String { error ?? "HTTP \(status) \(body.prefix(80))" }
    }

    public var baseURL: String
    private let http = HTTPClient(timeout: 5)

    public init(baseURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func get(_ path: String) -> Answer { request("GET", path, body: nil, token: nil) }

    public func post(_ path: String, json: [String: Any], token: String? = nil) -> Answer {
        request("POST", path, body: try? JSONSerialization.data(withJSONObject: json), token: token)
    }

    private func request(_ method: String, _ path: String, body: Data?, token: String?) -> Answer {
        guard let url = URL(string: baseURL + path) else { return Answer(status: 0, body: "", error: "bad synapse.url \(baseURL)") }
        var headers: [String: String] = [:]
        if body != nil { headers["Content-Type"] = "application/json" }
        if let token { headers["Authorization"] = "Bearer \(token)" }
        do {
            let response = try http.send(method, url, headers: headers, body: body)
            return Answer(status: response.status, body: response.text, error: nil)
        } catch {
            return Answer(status: 0, body: "", error: "no answer from \(baseURL): \((error as? HTTPClient.TransportError)?.description ?? "\(error)")")
        }
    }
}
