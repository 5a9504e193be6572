import Foundation
import MXBackupKit
import Testing

/// `postgres.container` runs every client tool through `docker exec -i`. A stand-in docker records its
/// arguments and runs the command here, as the real one would inside the container (`dockerStandIn`).
@Suite struct DockerTests {
    @Test func backupRunsThroughDockerExecWithoutSecretsInArgv() throws {
        let box = try Sandbox()
        let log = box.root + "/docker.argv"
        try box.dockerStandIn(log: log)
        try box.writeConfig(postgres: ["container: matrix-postgres", "docker: \(box.binDir)/docker"])
        let result = try box.run(["backup"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.contains { $0.hasPrefix("exec -i ") && $0.contains(" -e PGPASSWORD ") && $0.contains("matrix-postgres pg_dump --format=plain") })
        #expect(calls.contains { $0.contains("matrix-postgres psql ") })
        #expect(calls.contains { $0.contains("matrix-postgres pg_dump --version") })
        #expect(!calls.joined().contains(TestCluster.shared.password))
        #expect(try box.manifest(of: box.onlyBackup()).rowCounts.events == 400)
    }
}
