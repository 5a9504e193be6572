import Foundation

/// Waits until Synapse answers `GET /health` with `OK` and `GET /_matrix/client/versions` with 200,
/// and, when configured, a canary user can log in (proof that the restored accounts work).
public struct HealthCheck: Sendable {
    public struct Canary: Sendable {
        public var user: String
        public var password: String

        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    public var client: SynapseClient
    public var timeout: Double
    public var canary: Canary?

    public init(baseURL: String, timeout: Double, canary: Canary? = nil) {
        client = SynapseClient(baseURL: baseURL)
        self.timeout = timeout
        self.canary = canary
    }

    /// Nil when healthy within the timeout, else the last thing seen.
    public func waitUntilHealthy() -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "no answer yet"
        while true {
            let health = client.get("/health")
            if health.status == 200 && health.body.trimmingCharacters(in: .whitespacesAndNewlines) == "OK" {
                let versions = client.get("/_matrix/client/versions")
                if versions.status == 200 {
                    guard let canary else { return nil }
                    let login = client.post("/_matrix/client/v3/login", json: [
                        "type": "m.login.password", "identifier": ["type": "m.id.user", "user": canary.user], "password": canary.password,
                    ])
                    // A definite refusal will not change by waiting.
                    if login.status == 200 { return nil }
                    if login.status == 401 || login.status == 403 { return "canary login of \(canary.user) refused (HTTP \(login.status))" }
                    last = "canary login: HTTP \(login.status)"
                } else {
                    last = "/_matrix/client/versions: \(versions.summary)"
                }
            } else {
                last = "/health: \(health.summary)"
            }
            if Date() >= deadline { return last }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }
}
