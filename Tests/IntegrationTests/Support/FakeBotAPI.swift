import Foundation
import MXBackupKit

/// fixtures/fake_bot_api.py, the tests' stand-in for the Telegram Bot API, on a loopback port.
final class FakeBotAPI: @unchecked Sendable {
    let port: Int
    let token: String
    let chatID = "-1001234567"
    private let process: ChildProcess

    init() throws {
        port = try freePort()
        token = "\(Int.random(in: 100_000...999_999)):AA\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        process = try ChildProcess(ProcessSpec("python3", ["\(packageRoot)/fixtures/fake_bot_api.py", "--port", String(port),
                                                           "--token", token, "--chat-id", chatID]), descriptors: [:])
        guard waitUntil(seconds: 10, { (try? self.state()) != nil }) else { throw MXError.failed("the fake Bot API did not start") }
    }

    deinit {
        process.signalGroup(SIGKILL)
        process.wait()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func control(_ json: [String: Any]) throws {
        _ = try HTTPClient(timeout: 5).send("POST", URL(string: url + "/_control")!, headers: ["Content-Type": "application/json"],
                                            body: try JSONSerialization.data(withJSONObject: json))
    }

    /// Messages, pinned id and the log of method calls.
    func state() throws -> [String: Any] {
        let response = try HTTPClient(timeout: 2).send("GET", URL(string: url + "/_control")!)
        guard let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any], let result = object["result"] as? [String: Any] else {
            throw MXError.failed("bad control answer")
        }
        return result
    }

    func calls(_ method: String) throws -> Int { (try state()["calls"] as? [String] ?? []).filter { $0 == method }.count }

    /// Methods of the requests whose body never arrived whole (the client gave up and closed the connection).
    func abandoned() throws -> [String] { try state()["abandoned"] as? [String] ?? [] }

    /// Texts of the plain messages sent (notifications).
    func texts() throws -> [String] {
        (try state()["messages"] as? [String: [String: Any]] ?? [:]).values.compactMap { $0["text"] as? String }
    }

    /// File ids of the documents sent, in order.
    func documents() throws -> [(messageID: Int, fileID: String, name: String)] {
        let messages = try state()["messages"] as? [String: [String: Any]] ?? [:]
        return messages.values.compactMap { m -> (Int, String, String)? in
            guard let d = m["document"] as? [String: Any], let id = m["message_id"] as? Int else { return nil }
            return (id, d["file_id"] as! String, d["file_name"] as! String)
        }.sorted { $0.0 < $1.0 }
    }

    /// The telegram section of an mxbackup config for this server.
    func config(partSize: Int = 19 * 1024 * 1024, extra: String = "") -> String {
        """
        telegram:
          bot_token: "\(token)"
          chat_id: "\(chatID)"
          api_url: \(url)
          part_size: \(partSize)
          message_interval_ms: 10
        \(extra)
        """
    }
}
