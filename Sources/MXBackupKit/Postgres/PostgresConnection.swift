import Foundation

/// How to reach the database, and how to run PostgreSQL's client tools against it.
///
/// Two ways, and every database action goes through `tool(_:_:)` so both work everywhere:
/// - direct: the tools on this machine (or in `binDir`), connection settings in the child's environment;
/// - container: `docker exec -i -e PG… CONTAINER tool …`, for compose setups whose database port is not
///   published; the container's tools also match the server's version. `-e NAME` without a value makes
///   docker copy the variable from its own environment, so the password is never in argv there either.
public struct PostgresConnection: Sendable, Equatable {
    public var host: String?
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var passfile: String?
    public var container: String?
    public var docker: String
    public var binDir: String?

    public init(host: String? = nil, port: Int = 5432, user: String, database: String, password: String? = nil,
                passfile: String? = nil, container: String? = nil, docker: String = "docker", binDir: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.passfile = passfile
        self.container = container
        self.docker = docker
        self.binDir = binDir
    }

    /// For messages: where we connect, never with the password.
    public var display: String {
        let server = container.map { "container \($0)" } ?? (host.map { "\($0):\(port)" } ?? "local socket:\(port)")
        return "database \(database) as \(user) on \(server)"
    }

    /// A client tool run against this connection (optionally another database on the same server). It
    /// gets the connection's settings and libpq's harmless ones explicitly, nothing else of ours.
    /// - Parameter environment: more variables for the tool (passed into the container too).
    public func tool(_ name: String, _ arguments: [String], database: String? = nil, environment: [String: String] = [:]) -> ProcessSpec {
        var env = ChildEnvironment.libpq.select(from: ProcessInfo.processInfo.environment)
            .merging(environment) { _, given in given }
            .merging([
                "PGPORT": String(port),
                "PGUSER": user,
                "PGDATABASE": database ?? self.database,
                "PGAPPNAME": "mxbackup",
                "PGCONNECT_TIMEOUT": "10",
            ]) { _, connection in connection }
        if let host { env["PGHOST"] = host }
        if let password = password ?? passwordFromPassfile() { env["PGPASSWORD"] = password }
        return command(binDir.map { ($0 as NSString).appendingPathComponent(name) } ?? name, arguments, environment: env)
    }

    /// Any program run where the client tools run (here, or inside the container), with only `environment`
    /// on top of the base every child gets.
    public func command(_ program: String, _ arguments: [String], environment: [String: String] = [:]) -> ProcessSpec {
        guard let container else {
            return ProcessSpec(program, arguments, environment: environment)
        }
        let passEnv = environment.keys.sorted().flatMap { ["-e", $0] }
        return ProcessSpec(docker, ["exec", "-i"] + passEnv + [container, program] + arguments,
                           environment: environment, inherits: .docker)
    }

    /// Whether the server's files are on this machine (or in the container), so that `df` can see them.
    public var serverIsLocal: Bool {
        container != nil || host == nil || host!.hasPrefix("/") || ["localhost", "127.0.0.1", "::1"].contains(host!)
    }

    /// libpq's ~/.pgpass lookup, done here so that it also works through `docker exec`.
    func passwordFromPassfile() -> String? {
        let path = passfile ?? (NSHomeDirectory() as NSString).appendingPathComponent(".pgpass")
        guard Secrets.looseness(path) == nil,  // libpq ignores a loose passfile too
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let wanted = [host ?? "localhost", String(port), database, user]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = Self.splitPassfileLine(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    static func splitPassfileLine(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for ch in line {
            if escaped { current.append(ch); escaped = false }
            else if ch == "\\" { escaped = true }
            else if ch == ":" && fields.count < 4 { fields.append(current); current = "" }
            else { current.append(ch) }
        }
        fields.append(current)
        return fields
    }
}
