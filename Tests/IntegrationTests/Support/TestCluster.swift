import Foundation
import MXBackupKit

/// The repository root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// One real PostgreSQL cluster for the whole test run: initdb'd in a temporary directory (as the
/// postgres user when we are root), listening on a free loopback port, stopped at exit.
final class TestCluster: Sendable {
    static let shared: TestCluster = {
        do {
            let cluster = try TestCluster(directory: makeTemporaryDirectory("pg"))
            atexit {
                _ = try? ProcessRunner.run(ProcessSpec("\(packageRoot)/scripts/pg-cluster.sh", ["stop", TestCluster.shared.directory]))
            }
            return cluster
        } catch { fatalError("cannot start the test PostgreSQL cluster: \(error)") }
    }()

    let directory: String
    let port: Int
    let password: String
    let passwordFile: String

    /// A cluster of its own in `directory` (the server-fault tests stop theirs; `shared` is stopped at exit).
    init(directory: String) throws {
        self.directory = directory
        port = try freePort()
        let started = try ProcessRunner.run(ProcessSpec("\(packageRoot)/scripts/pg-cluster.sh", ["start", directory, String(port)]))
        guard started.termination.succeeded else {
            throw MXError.failed("pg-cluster.sh start: \(started.stderr) \(started.text)")
        }
        passwordFile = directory + "/synapse.password"
        password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Connection as the Synapse role over TCP (password authentication).
    func connection(database: String) -> PostgresConnection {
        PostgresConnection(host: "127.0.0.1", port: port, user: "synapse", database: database, password: password)
    }

    /// SQL as the superuser over the cluster's private socket.
    @discardableResult
    func superuser(_ sql: String, database: String = "postgres") throws -> [[String]] {
        let connection = PostgresConnection(host: directory + "/socket", port: port, user: "postgres", database: database)
        var spec = connection.tool("psql", [])
        if getuid() == 0 { spec = ProcessSpec("runuser", ["-u", "postgres", "--", "env"] + spec.environment.map { "\($0.key)=\($0.value)" } + ["psql"]) }
        spec.arguments += ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-F", "\u{1F}", "-R", "\u{1E}", "-c", sql]
        let output = try ProcessRunner.run(spec)
        guard output.termination.succeeded else { throw MXError.failed("superuser SQL failed: \(output.stderr)") }
        let text = output.text.trimmingCharacters(in: .newlines)
        return text.isEmpty ? [] : text.split(separator: "\u{1E}").map { $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init) }
    }

    /// A new database owned by synapse (UTF8, C, C, template0, as Synapse requires), filled with the
    /// Synapse-shaped fixture when asked.
    func createDatabase(prefix: String = "t", fixture: Bool = true, scale: Int = 1, serverName: String = "example.org") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try superuser("CREATE DATABASE \(name) OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
        if fixture {
            try psql(database: name, ["-v", "scale=\(scale)", "-v", "server_name=\(serverName)", "-f", "\(packageRoot)/fixtures/synapse_sample.sql"])
        }
        return name
    }

    /// psql as synapse with errors fatal; `input` is fed on stdin.
    @discardableResult
    func psql(database: String, _ arguments: [String], input: Data? = nil) throws -> String {
        let spec = connection(database: database).tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1"] + arguments)
        let output = try ProcessRunner.run(spec, input: input)
        guard output.termination.succeeded else { throw MXError.failed("psql \(arguments) failed: \(output.stderr)") }
        return output.text
    }

    func scalar(_ sql: String, database: String) throws -> String {
        try PostgresClient(connection(database: database)).scalar(sql) ?? ""
    }

    /// A checksum of every user table's content, by table: equal maps mean equal data.
    func contentChecksums(database: String) throws -> [String: String] {
        let tables = try PostgresClient(connection(database: database)).query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").map { $0[0] }
        var sums: [String: String] = [:]
        // The structure too: a restore must bring back every index and constraint.
        sums["(indexes)"] = try scalar("SELECT coalesce(string_agg(indexdef, E'\\n' ORDER BY indexdef), '') FROM pg_indexes WHERE schemaname = 'public'", database: database)
        sums["(constraints)"] = try scalar("SELECT coalesce(string_agg(conrelid::regclass || ' ' || pg_get_constraintdef(oid), E'\\n' ORDER BY conrelid::regclass::text, pg_get_constraintdef(oid)), '') FROM pg_constraint WHERE connamespace = 'public'::regnamespace", database: database)
        for table in tables {
            sums[table] = try scalar("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM public.\(table) t", database: database)
        }
        return sums
    }
}

/// Everything a test run creates lives under one directory, removed at exit together with the
/// gpg-agents that the tests' keyrings started.
let testRunDirectory: String = {
    var template = Array("/tmp/mxbackup-tests-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { fatalError("mkdtemp failed") }
    chmod(path, 0o755)  // the postgres user must reach the cluster inside
    atexit {
        _ = try? ProcessRunner.run(ProcessSpec("pkill", ["-f", "gpg-agent --homedir \(testRunDirectory)"]))
        _ = try? FileManager.default.removeItem(atPath: testRunDirectory)
    }
    return String(cString: path)
}()

func makeTemporaryDirectory(_ prefix: String) throws -> String {
    var template = Array("\(testRunDirectory)/\(prefix)-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw MXError.failed("mkdtemp failed") }
    return String(cString: path)
}

/// A loopback port nobody listens on right now, below the kernel's ephemeral range (32768 and up): a port
/// from that range can be taken by any client's outgoing connection before the test's server binds it.
func freePort() throws -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: 20000..<32000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
    throw MXError.failed("cannot find a free port in 20000-31999")
}
