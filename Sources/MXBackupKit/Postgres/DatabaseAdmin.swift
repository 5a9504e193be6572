import Foundation

/// Whole-database operations, run from the maintenance database as the configured role:
/// create, drop, rename (the swap), terminate sessions, and the privilege checks they need.
public struct DatabaseAdmin: Sendable {
    public let connection: PostgresConnection
    public static let maintenanceDatabase = "postgres"

    public init(_ connection: PostgresConnection) { self.connection = connection }

    private var client: PostgresClient { PostgresClient(connection) }

    @discardableResult
    func run(_ sql: String) throws -> [[String]] {
        try client.query(sql, database: Self.maintenanceDatabase)
    }

    public func exists(_ database: String) throws -> Bool {
        try run("SELECT 1 FROM pg_database WHERE datname = \(SQL.literal(database))").first != nil
    }

    /// Nothing anyone made: no relation, function or type in any user schema, no schema but public, no
    /// large object. That is the official postgres image's POSTGRES_DB before Synapse first ran on it.
    public func isEmpty(_ database: String) throws -> Bool {
        let user = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
        return try client.scalar("""
            SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE \(user))
                 + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE \(user))
                 + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE \(user))
                 + (SELECT count(*) FROM pg_namespace n WHERE \(user) AND n.nspname <> 'public')
                 + (SELECT count(*) FROM pg_largeobject_metadata)
            """, database: database) == "0"
    }

    public func databases(prefix: String) throws -> [String] {
        try run("SELECT datname FROM pg_database WHERE starts_with(datname, \(SQL.literal(prefix))) ORDER BY 1").map { $0[0] }
    }

    /// Synapse's requirements: UTF8, collation and ctype exactly C, from template0.
    public func create(_ database: String, owner: String) throws {
        try run("CREATE DATABASE \(SQL.identifier(database)) OWNER \(SQL.identifier(owner)) ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    }

    public func drop(_ database: String) throws {
        try terminateSessions(database)
        try run("DROP DATABASE IF EXISTS \(SQL.identifier(database))")
    }

    /// Ends every other client session on the database; retried because a pooled client may reconnect.
    /// Autovacuum workers (no user) are left alone: PostgreSQL itself stops them for a rename or drop.
    /// (`backend_type` is hidden from a normal role for other users' sessions, hence the user test.) Sessions of
    /// a superuser cannot be ended by a normal role and are named in the error instead.
    public func terminateSessions(_ database: String) throws {
        let others = "FROM pg_stat_activity a WHERE a.datname = \(SQL.literal(database)) AND a.pid <> pg_backend_pid() AND a.usesysid IS NOT NULL AND coalesce(a.backend_type, 'client backend') = 'client backend'"
        let mayEnd = "((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR NOT coalesce((SELECT rolsuper FROM pg_roles r WHERE r.oid = a.usesysid), false))"
        for _ in 0..<40 {
            let ended = try run("SELECT count(pg_terminate_backend(a.pid)) \(others) AND \(mayEnd)").first?.first ?? "0"
            let remaining = try run("SELECT count(*) \(others)").first?.first ?? "0"
            if remaining == "0" { return }
            if ended == "0" {
                let who = try run("SELECT string_agg(DISTINCT a.usename || coalesce(' (' || nullif(a.application_name, '') || ')', ''), ', ') \(others)").first?.first ?? "?"
                throw MXError.failed("sessions on \(database) that \(connection.user) may not end: \(who): close them, or run mxbackup as a superuser")
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        throw MXError.failed("sessions on \(database) keep coming back: is every Synapse process (workers too) stopped?")
    }

    /// Renames in one transaction: either every rename happens or none.
    public func rename(_ pairs: [(from: String, to: String)]) throws {
        try run(pairs.map { "ALTER DATABASE \(SQL.identifier($0.from)) RENAME TO \(SQL.identifier($0.to));" }.joined(separator: " "))
    }

    public struct Privileges: Sendable {
        public var superuser: Bool
        public var createDB: Bool
        public var roleExists: Bool
    }

    public func privileges(owner: String) throws -> Privileges {
        let row = try run("""
            SELECT r.rolsuper, r.rolcreatedb, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = \(SQL.literal(owner)))
              FROM pg_roles r WHERE r.rolname = current_user
            """).first ?? []
        return Privileges(superuser: row.first == "t", createDB: row.count > 1 && row[1] == "t", roleExists: row.count > 2 && row[2] == "t")
    }

    /// Free bytes on the file system of the server's data directory, or why it cannot be known.
    public func freeSpace() -> (bytes: Int64?, note: String) {
        guard connection.serverIsLocal else { return (nil, "the server is remote: its disk cannot be seen from here") }
        guard let directory = try? run("SELECT setting FROM pg_settings WHERE name = 'data_directory'").first?.first, !directory.isEmpty else {
            return (nil, "\(connection.user) may not read data_directory (needs pg_read_all_settings)")
        }
        guard let output = try? ProcessRunner.run(connection.command("df", ["-Pk", directory])), output.termination.succeeded,
              let line = output.text.split(separator: "\n").dropFirst().first,
              let kib = Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first ?? "") else {
            return (nil, "df could not read \(directory)")
        }
        return (kib * 1024, directory)
    }

    public struct Locale: Sendable { public var encoding: String; public var collate: String; public var ctype: String }

    public func locale(of database: String) throws -> Locale? {
        guard let row = try run("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = \(SQL.literal(database))").first,
              row.count == 3 else { return nil }
        return Locale(encoding: row[0], collate: row[1], ctype: row[2])
    }
}
