import Foundation

/// One `psql` fed on its stdin with errors fatal (ON_ERROR_STOP): the first failing statement ends the
/// session and becomes the error, instead of being ignored as in the legacy restore. Every load is made
/// of these: one for a plain load, several for a parallel one.
///
/// A transaction session is all or nothing whatever happens to us: it starts with our own `BEGIN`, and
/// only `commit()` sends `COMMIT`. psql's `--single-transaction` is not used because psql commits at
/// end-of-input, and end-of-input is exactly what psql sees when mxbackup is killed (psql, in its own
/// process group, outlives us) or when a `docker exec` client dies (the real docker does not pass the
/// kill to the psql inside): a half-sent load, even a row cut inside its last column, would commit.
/// Without our COMMIT, the server rolls the transaction back when psql disconnects.
final class PsqlSession: @unchecked Sendable {  // its input is written by one thread at a time
    let database: String
    private let psql: PipedChild
    private let transaction: Bool
    private var finished = false

    /// Settings of the loading session only (nothing persists in the restored database): more memory for
    /// index builds and, outside a transaction session, no wait for each commit to reach the disk (a crashed
    /// load into a new database is thrown away anyway; the restore's final checks and the swap happen on other
    /// connections). A transaction session replaces live data: its one COMMIT must be durable when psql reports
    /// it. libpq's PGOPTIONS, when set, comes last and so wins (the benchmark measures each setting that way).
    init(database: String, connection: PostgresConnection, transaction: Bool = false) throws {
        self.database = database
        self.transaction = transaction
        let options = [(transaction ? "" : "-c synchronous_commit=off ") + "-c maintenance_work_mem=\(SQLLoader.maintenanceWorkMem)",
                       ProcessInfo.processInfo.environment["PGOPTIONS"]].compactMap { $0 }.joined(separator: " ")
        let spec = connection.tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-o", "/dev/null"],
                                   database: database, environment: ["PGOPTIONS": options])
        psql = try PipedChild(spec, input: true, output: false)
        if transaction {
            do {
                try write(Array("BEGIN;\n".utf8))
            } catch {
                try finish(inputError: error)  // psql's own error (it could not connect), if it has one
                throw error
            }
        }
    }

    /// The last statement of a transaction session, sent once its input is complete and checked.
    func commit() throws {
        precondition(transaction, "commit() ends a transaction session")
        try write(Array("COMMIT;\n".utf8))
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try FileDescriptor.writeAll(psql.input, bytes)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Ends psql (and anything it started) at once; `finish` then reports it.
    func kill() {
        psql.process.signalGroup(SIGKILL)
    }

    /// Ends the input and waits for psql. When the *input* failed (`inputError` is an MXError: a corrupt
    /// backup, a failed check, another session's failure), psql is killed before it sees end-of-input,
    /// which would commit what it has outside a transaction session. Throws the input's error, or psql's
    /// first SQL error.
    func finish(inputError: Error? = nil) throws {
        guard !finished else { return }
        finished = true
        if inputError is MXError {
            kill()
            psql.process.wait()
        }
        FileDescriptor.close(psql.input)
        let termination = psql.process.wait()
        let message = psql.stderr.finish()
        if let inputError = inputError as? MXError { throw inputError }
        guard termination.succeeded else {
            if let line = ServerMessage.firstError(in: message) {
                throw MXError.failed("loading into \(database) stopped at the first SQL error: \(line)")
            }
            // Killed, or its docker exec client was: no SQL error to show.
            throw MXError.failed("loading into \(database) stopped: \(psql.process.spec.name) ended (\(termination.description))"
                                 + (message.isEmpty ? "" : ": " + (message.split(separator: "\n").last.map(String.init) ?? "")))
        }
        if let inputError { throw inputError }
    }
}
