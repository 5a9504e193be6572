import Foundation

/// Optional courtesy messages to every local user before and after a restore, through Synapse's admin
/// API (`/_synapse/admin/v1/send_server_notice`; server notices must be enabled in homeserver.yaml).
/// A failed notice is a warning: it never stops or fails a restore.
public struct ServerNotices: Sendable {
    public var client: SynapseClient
    public var adminToken: String
    public var before: String
    public var after: String

    public init(client: SynapseClient, adminToken: String, before: String, after: String) {
        self.client = client
        self.adminToken = adminToken
        self.before = before
        self.after = after
    }

    /// Local, active, human users of the live database.
    public static func recipients(_ client: PostgresClient) -> [String] {
        (try? client.query("SELECT name FROM users WHERE deactivated = 0 AND is_guest = 0 AND appservice_id IS NULL ORDER BY name"))?
            .compactMap(\.first) ?? []
    }

    /// Returns how many notices failed.
    @discardableResult
    public func send(_ text: String, to users: [String], console: Console) -> Int {
        var failed = 0
        for user in users {
            let answer = client.post("/_synapse/admin/v1/send_server_notice",
                                     json: ["user_id": user, "content": ["msgtype": "m.text", "body": text]], token: adminToken)
            if answer.status != 200 { failed += 1 }
        }
        if failed > 0 { console.warn("\(failed) of \(users.count) server notices were not delivered (is server_notices enabled, is the admin token valid?)") }
        return failed
    }
}
