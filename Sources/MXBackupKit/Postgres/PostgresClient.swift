import Foundation

/// Short SQL queries through psql, the same way in direct and container mode. Bulk work (dump, load)
/// goes through pg_dump/psql pipelines instead; see `WritePipeline` and `SQLLoader`.
public struct PostgresClient: Sendable {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) { self.connection = connection }

    /// Rows of text fields (NULL reads as ""). Unit and record separators keep any text intact.
    public func query(_ sql: String, database: String? = nil) throws -> [[String]] {
        let spec = connection.tool("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                            "-F", "\u{1F}", "-R", "\u{1E}", "-c", sql], database: database)
        let output = try ProcessRunner.run(spec)
        guard output.termination.succeeded else { throw Self.explain(output.stderr, connection: connection, tool: "psql") }
        var text = output.text
        if text.hasSuffix("\n") { text.removeLast() }
        if text.isEmpty { return [] }
        return text.split(separator: "\u{1E}", omittingEmptySubsequences: false)
            .map { $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init) }
    }

    public func scalar(_ sql: String, database: String? = nil) throws -> String? {
        try query(sql, database: database).first?.first
    }

    /// Turns a client tool's stderr into one line that says what to do.
    public static func explain(_ stderr: String, connection: PostgresConnection, tool: String) -> MXError {
        let detail = ServerMessage.firstError(in: stderr) ?? stderr.split(separator: "\n").first { $0.contains("error") }
            .map(String.init) ?? stderr.split(separator: "\n").first.map(String.init) ?? "no message"
        let line = detail.replacingOccurrences(of: "\n", with: " ")
        if stderr.contains("password authentication failed") || stderr.contains("no password supplied") {
            return .refused("\(connection.display): \(line): check postgres.password / password_file")
        }
        if stderr.contains("Connection refused") || stderr.contains("could not connect") || stderr.contains("No such file or directory")
            || stderr.contains("could not translate host name") || stderr.contains("timeout expired") {
            return .refused("cannot reach PostgreSQL (\(connection.display)): \(line): is the server running? check postgres.host and postgres.port")
        }
        if stderr.contains("does not exist") && stderr.contains("database") {
            return .refused("\(connection.display): \(line): check postgres.database")
        }
        if connection.container != nil && (stderr.contains("No such container") || stderr.contains("is not running")) {
            return .refused("postgres.container \(connection.container!): \(line): check the name with 'docker ps'")
        }
        return .failed("\(tool) failed (\(connection.display)): \(line)")
    }
}
