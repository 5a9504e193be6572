import Foundation

/// The database's half of the operation lock: a PostgreSQL advisory lock on the database's name, held by a
/// session of its own (a `psql` on the maintenance database, never on the live one, whose sessions a swap
/// ends) for the whole operation. It covers runs with different backup directories and on other hosts, and
/// frees itself when the holder dies however it dies: psql reads end-of-input from our closed pipe, ends,
/// and the server releases the session's locks (through `docker exec -i` too).
final class AdvisoryLock {
    /// First half of the two-int key ("mxbk"), so that other applications' advisory locks do not collide.
    static let namespace: Int32 = 0x6D78_626B

    private var psql: PipedChild?

    /// The key's SQL arguments for `database`.
    static func key(_ database: String) -> String { "\(namespace), hashtext(\(SQL.literal(database)))" }

    /// - Parameter holder: shown to whoever is refused (the session's application_name).
    init(connection: PostgresConnection, holder: String) throws {
        let spec = connection.tool("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], database: DatabaseAdmin.maintenanceDatabase)
        let child = try PipedChild(spec, input: true, output: true)
        psql = child
        let sql = "SET application_name = \(SQL.literal(holder));\nSELECT pg_try_advisory_lock(\(Self.key(connection.database)));\n"
        var answer = ""
        do {
            try FileDescriptor.writeAll(child.input, Data(sql.utf8))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
            defer { buffer.deallocate() }
            while !answer.hasSuffix("\n") {
                let n = try FileDescriptor.read(child.output, into: buffer)
                if n == 0 { break }
                answer += String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
            }
        } catch {
            answer = ""
        }
        switch answer.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "t":
            return
        case "f":
            release()
            let holder = Self.holder(connection: connection) ?? "a session that has just ended; try again"
            throw MXError.refused("another run holds the database lock for \(connection.database) on its server (\(holder)): wait for it to finish")
        default:
            let stderr = finish()
            throw PostgresClient.explain(stderr, connection: connection, tool: "psql (database lock)")
        }
    }

    /// Who holds the lock for the connection's database, from the server's lock table (nil when free or unknown).
    static func holder(connection: PostgresConnection) -> String? {
        let sql = """
            SELECT coalesce(nullif(a.application_name, ''), 'pid ' || a.pid), coalesce(host(a.client_addr), 'local socket'), a.backend_start
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = \(namespace)
               AND l.objid = (hashtext(\(SQL.literal(connection.database)))::bigint & 4294967295)::oid
            """
        guard let row = try? PostgresClient(connection).query(sql, database: DatabaseAdmin.maintenanceDatabase).first, row.count == 3 else { return nil }
        return "session '\(row[0])' from \(row[1]) since \(row[2])"
    }

    /// Ends the session, which frees the lock. Idempotent.
    func release() {
        _ = finish()
    }

    /// Closes psql's input, waits for it, and returns its stderr.
    private func finish() -> String {
        guard let child = psql else { return "" }
        psql = nil
        FileDescriptor.close(child.input)
        child.process.wait()
        FileDescriptor.close(child.output)
        return child.stderr.finish()
    }

    deinit { release() }
}
