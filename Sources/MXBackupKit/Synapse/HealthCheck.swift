import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Waits until Synapse answers `GET /health` with `OK` and `GET /_matrix/client/versions` with 200.
public struct HealthCheck: Sendable {
    public var baseURL: String
    public var timeout: Double

    public init(baseURL: String, timeout: Double) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeout = timeout
    }

    /// Nil when healthy within the timeout, else the last thing seen.
    public func waitUntilHealthy() -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "no answer yet"
        while true {
            let health = get("/health")
            if health.status == 200 && health.body.trimmingCharacters(in: .whitespacesAndNewlines) == "OK" {
                let versions = get("/_matrix/client/versions")
                if versions.status == 200 { return nil }
                last = "/_matrix/client/versions: \(versions.summary)"
            } else {
                last = "/health: \(health.summary)"
            }
            if Date() >= deadline { return last }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    private struct Answer {
        var status: Int
        var body: String
        var error: String?
        var summary: String { error ?? "HTTP \(status) \(body.prefix(80))" }
    }

    private func get(_ path: String) -> Answer {
        guard let url = URL(string: baseURL + path) else { return Answer(status: 0, body: "", error: "bad synapse.url \(baseURL)") }
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        let result = Box(Answer(status: 0, body: "", error: "timeout"))
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            result.value = Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0,
                                  body: data.map { String(decoding: $0, as: UTF8.self) } ?? "",
                                  error: error.map { $0.localizedDescription })
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 6)
        return result.value
    }
}
