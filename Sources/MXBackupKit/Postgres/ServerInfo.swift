import Foundation

/// Facts about the server gathered before work starts, and the client-tool version check.
public struct ServerInfo: Sendable {
    public var versionNumber: Int      // server_version_num, e.g. 150018
    public var version: String         // "15.18 (Debian …)"
    public var databaseSize: Int64

    public var major: Int { versionNumber / 10000 }

    public static func fetch(_ client: PostgresClient) throws -> ServerInfo {
        let row = try client.query("SELECT current_setting('server_version_num'), current_setting('server_version'), pg_database_size(current_database())").first ?? []
        guard row.count == 3, let number = Int(row[0]), let size = Int64(row[2]) else {
            throw MXError.failed("could not read the server version from \(client.connection.display)")
        }
        return ServerInfo(versionNumber: number, version: row[1], databaseSize: size)
    }

    /// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → (15, "15.18").
    public static func toolVersion(_ tool: String, connection: PostgresConnection) throws -> (major: Int, version: String) {
        let output = try ProcessRunner.run(connection.tool(tool, ["--version"]))
        let words = output.text.split(whereSeparator: \.isWhitespace)
        guard output.termination.succeeded, let index = words.firstIndex(of: "(PostgreSQL)"), index + 1 < words.count,
              let major = Int(words[index + 1].split(separator: ".")[0].filter(\.isNumber)) else {
            throw MXError.refused("\(tool) --version failed (\(connection.container.map { "in container \($0)" } ?? "on this machine")): \(output.stderr.isEmpty ? output.text : output.stderr)")
        }
        return (major, String(words[index + 1]))
    }

    /// pg_dump refuses to dump a newer server; say so before starting, with the fix.
    public func requireDumpTool(_ tool: String, major toolMajor: Int, version: String) throws {
        guard toolMajor >= major else {
            throw MXError.refused("\(tool) \(version) cannot dump a PostgreSQL \(major) server: install postgresql-client-\(major), set postgres.bin_dir to its bin directory, or set postgres.container to run the container's own tools")
        }
    }
}
