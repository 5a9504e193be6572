import Foundation
import MXBackupKit
import Testing

/// Every child gets only the variables it needs: with every secret mxbackup knows in its environment, a
/// backup and an in-place restore still work, and no service command, docker call, gpg or client tool
/// sees a secret it has no use for. The database password reaches only libpq tools (and `docker exec`
/// around them, which passes it in with `-e`), as PGPASSWORD.
@Suite struct ChildEnvironmentTests {
    private static let gpgPassphrase = "canary-gpg-passphrase-4f1c"
    private static let botToken = "canary-bot-token-9a2e"
    private static let ambientPGPassword = "canary-ambient-pgpassword-77d0"

    /// mxbackup's environment: the secrets, and PATH led by the sandbox's wrappers.
    private func secrets(_ box: Sandbox) -> [String: String] {
        ["MXBACKUP_GPG_PASSPHRASE": Self.gpgPassphrase, "MXBACKUP_TELEGRAM_BOT_TOKEN": Self.botToken,
         "MXBACKUP_POSTGRES_PASSWORD": box.cluster.password, "PGPASSWORD": Self.ambientPGPassword,
         "PATH": box.binDir + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
    }

    /// A wrapper in the sandbox's bin directory that saves its environment, then runs the real program.
    private func recordingWrapper(_ box: Sandbox, _ name: String, real: String, into directory: String) throws -> String {
        try box.shim(name, "{ echo \"# \(name)\"; env; } > '\(directory)/\(name)-$$.env'\nexec \(real) \"$@\"")
    }

    /// name of each saved environment → its lines (the first says which program it was and its arguments).
    private func savedEnvironments(_ directory: String) throws -> [String: [String]] {
        var saved: [String: [String]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            saved[name] = try String(contentsOfFile: directory + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        return saved
    }

    /// No secret anywhere, and the database password only as PGPASSWORD of the children in `libpq`.
    private func expectNoLeaks(_ saved: [String: [String]], password: String, libpq: ([String]) -> Bool,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, lines) in saved {
            let text = lines.joined(separator: "\n")
            for secret in [Self.gpgPassphrase, Self.botToken, Self.ambientPGPassword] {
                #expect(!text.contains(secret), "\(name) got a secret: \(lines.first ?? "")", sourceLocation: sourceLocation)
            }
            #expect(!lines.contains { $0.hasPrefix("MXBACKUP_") }, "\(name): \(lines.filter { $0.hasPrefix("MXBACKUP_") })", sourceLocation: sourceLocation)
            let withPassword = lines.filter { $0.contains(password) }
            if libpq(lines) {
                #expect(withPassword.allSatisfy { $0 == "PGPASSWORD=\(password)" }, "\(name)", sourceLocation: sourceLocation)
            } else {
                #expect(withPassword.isEmpty, "\(name) (\(lines.first ?? "")) got the database password", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func directToolsServiceCommandsAndGpgGetNoSecrets() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let saved = try makeTemporaryDirectory("env")
        try recordingWrapper(box, "psql", real: "/usr/bin/psql", into: saved)
        try recordingWrapper(box, "pg_dump", real: "/usr/bin/pg_dump", into: saved)
        let gpg = try recordingWrapper(box, "gpg-wrapper", real: "gpg", into: saved)
        // The fake Synapse keeps running; the service commands only record what they were given.
        try box.writeConfig(extra: """
        synapse:
          url: http://127.0.0.1:\(synapse.port)
          health_timeout: 5
        services:
          kind: command
          stop_command: '{ echo "# stop_command"; env; } > \(saved)/stop_command.env'
          start_command: '{ echo "# start_command"; env; } > \(saved)/start_command.env'
        gpg:
          program: \(gpg)
        """)
        let environment = secrets(box)
        let backup = try box.run(["backup"], environment: environment)
        #expect(backup.exitCode == 0, "\(backup.stderr)")
        let file = try box.onlyBackup()
        #expect(file.hasSuffix(".gpg"))  // symmetric, with the passphrase from the environment
        let restore = try box.run(["restore", file, "--strategy", "in-place", "--yes"], environment: environment)
        #expect(restore.exitCode == 0, "\(restore.stderr)")

        let environments = try savedEnvironments(saved)
        for program in ["psql", "pg_dump", "gpg-wrapper", "stop_command", "start_command"] {
            #expect(environments.keys.contains { $0.hasPrefix(program) }, "no \(program) ran: \(environments.keys.sorted())")
        }
        expectNoLeaks(environments, password: box.cluster.password) { lines in
            lines.first.map { $0.hasPrefix("# psql") || $0.hasPrefix("# pg_dump") } ?? false
        }
    }

    @Test func dockerExecAndComposeGetNoSecrets() throws {
        let box = try Sandbox()
        let synapse = try FakeSynapse(box)
        defer { synapse.stop() }
        let saved = try makeTemporaryDirectory("env")
        let docker = try box.dockerStandIn(log: box.root + "/docker.argv", environmentDirectory: saved)
        let gpg = try recordingWrapper(box, "gpg-wrapper", real: "gpg", into: saved)
        try box.writeConfig(postgres: ["container: matrix-postgres", "docker: \(docker)"], extra: """
        synapse:
          url: http://127.0.0.1:\(synapse.port)
          health_timeout: 5
        services:
          kind: compose
        gpg:
          program: \(gpg)
        """)
        let environment = secrets(box)
        let backup = try box.run(["backup"], environment: environment)
        #expect(backup.exitCode == 0, "\(backup.stderr)")
        let restore = try box.run(["restore", try box.onlyBackup(), "--strategy", "in-place", "--yes"], environment: environment)
        #expect(restore.exitCode == 0, "\(restore.stderr)")

        let environments = try savedEnvironments(saved)
        for call in ["# docker exec", "# docker compose"] {
            #expect(environments.values.contains { $0.first?.hasPrefix(call) == true }, "no \(call): \(environments.keys.sorted())")
        }
        #expect(environments.keys.contains { $0.hasPrefix("container-") } && environments.keys.contains { $0.hasPrefix("gpg-wrapper") })
        // docker exec's client and the command inside get the connection's settings; compose and gpg get nothing secret.
        expectNoLeaks(environments, password: box.cluster.password) { lines in
            lines.first?.hasPrefix("# docker exec") == true
        }
        let inContainer = environments.filter { $0.key.hasPrefix("container-") }.values.flatMap { $0.dropFirst() }
        #expect(inContainer.allSatisfy { $0.hasPrefix("PG") || $0.hasPrefix("PATH=") || $0.hasPrefix("HOME=") }, "\(Set(inContainer))")
    }
}
