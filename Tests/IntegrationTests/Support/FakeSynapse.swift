import Foundation
import MXBackupKit

/// The `command` service implementation driving a real process: fixtures/fake_synapse.py, which serves
/// /health and, like Synapse, refuses to start on a database whose compat schema is too new.
struct FakeSynapse {
    let port: Int
    let pidFile: String
    let box: Sandbox

    init(_ box: Sandbox, maxCompat: Int = 88, moreConfig: String = "", canaryPassword: String? = nil, adminToken: String? = nil) throws {
        self.box = box
        port = try freePort()
        pidFile = box.root + "/synapse.pid"
        let secrets = (canaryPassword.map { "FAKE_CANARY_PASSWORD=\($0) " } ?? "") + (adminToken.map { "FAKE_ADMIN_TOKEN=\($0) " } ?? "")
        let env = secrets + "PGHOST=127.0.0.1 PGPORT=\(box.cluster.port) PGUSER=synapse PGPASSWORD=\(box.cluster.password) PGDATABASE=\(box.database)"
        let start = "\(env) python3 \(packageRoot)/fixtures/fake_synapse.py --port \(port) --max-compat \(maxCompat) --pidfile \(pidFile) --notices \(box.root)/notices.jsonl >>\(box.root)/synapse.log 2>&1 &"
        let stop = "if [ -f \(pidFile) ]; then kill $(cat \(pidFile)); while [ -f \(pidFile) ]; do sleep 0.05; done; fi; echo stopped >> \(box.root)/synapse.events"
        try box.writeConfig(extra: """
        synapse:
          url: http://127.0.0.1:\(port)
          health_timeout: 5
        services:
          kind: command
          stop_command: '\(stop)'
          start_command: '\(start) echo started >> \(box.root)/synapse.events'
        \(moreConfig)
        """)
        let started = try ProcessRunner.run(ProcessSpec("sh", ["-c", start]))
        guard started.termination.succeeded, healthy() else { throw MXError.failed("fake synapse did not start: \(log)") }
    }

    /// (user, text) of every server notice received.
    var notices: [(user: String, text: String)] {
        ((try? String(contentsOfFile: box.root + "/notices.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            guard let object = try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] else { return nil }
            return (object["user_id"] ?? "", object["body"] ?? "")
        }
    }

    var log: String { (try? String(contentsOfFile: box.root + "/synapse.log", encoding: .utf8)) ?? "" }

    /// Polls /health for a few seconds.
    func healthy() -> Bool {
        HealthCheck(baseURL: "http://127.0.0.1:\(port)", timeout: 5).waitUntilHealthy() == nil
    }

    /// "stopped"/"started" lines written by the service commands, in order.
    var events: [String] {
        ((try? String(contentsOfFile: box.root + "/synapse.events", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() {
        if let pid = try? String(contentsOfFile: pidFile, encoding: .utf8), let n = pid_t(pid) { kill(n, SIGTERM) }
    }
}
