import Foundation

/// Streams plain SQL into the database with errors fatal, over one psql session or, for a load into a
/// database nobody uses yet, over several (`ParallelLoad`).
public enum SQLLoader {
    /// Memory for CREATE INDEX during a load; 256 MB is safe on any server that runs Synapse.
    public static let maintenanceWorkMem = "256MB"

    /// Every line is read as psql will first (`PsqlScript`): a dump that would run a backslash command is
    /// refused at that line, before psql sees it.
    /// - Parameters:
    ///   - name: the file, for a refusal of its SQL.
    ///   - jobs: sessions loading table data at once; more than one needs a load that is not a single transaction.
    ///   - preamble: SQL sent first in every session (e.g. `SET ROLE synapse;` so objects get the right owner).
    ///   - postamble: SQL sent after the dump (checks that raise an error, so that a single transaction rolls back).
    ///   - singleTransaction: all or nothing: our own BEGIN first, and COMMIT only after `beforeCommit` passed and
    ///     the postamble's checks were sent (psql stops at the first error, so a failed check never reaches it).
    ///     Whatever ends the load before that (a kill of mxbackup, of psql, of docker exec) rolls it back.
    ///   - beforeCommit: runs when the source is exhausted, before psql sees the end of its input; throwing
    ///     there aborts the load like any input error.
    ///   - observe: sees every chunk (for progress).
    public static func load(_ source: ByteSource, named name: String, into database: String, connection: PostgresConnection, jobs: Int = 1,
                            preamble: String = "", postamble: String = "", singleTransaction: Bool = false,
                            beforeCommit: () throws -> Void = {},
                            observe: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        precondition(jobs == 1 || !singleTransaction, "one transaction cannot span several sessions")
        if jobs > 1 {
            try ParallelLoad(database: database, connection: connection, jobs: jobs, preamble: Array(preamble.utf8))
                .run(source, named: name, postamble: Array(postamble.utf8), beforeCommit: beforeCommit, observe: observe)
            return
        }
        let source = PsqlCheckedSource(source, name: name)
        let session = try PsqlSession(database: database, connection: connection, transaction: singleTransaction)
        var inputError: Error?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        do {
            try session.write(Array(preamble.utf8))
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                observe(chunk)
                try session.write(chunk)
            }
            try beforeCommit()
            try session.write(Array(postamble.utf8))
            if singleTransaction { try session.commit() }
        } catch {
            inputError = error
        }
        buffer.deallocate()
        try session.finish(inputError: inputError)
    }

    /// Runs independent statements over `jobs` sessions at once, errors fatal; each statement goes to
    /// whichever session is free, in the order given (longest first balances best).
    public static func runConcurrently(_ statements: [String], in database: String, connection: PostgresConnection, jobs: Int) throws {
        let pool = try SessionPool(jobs: max(1, min(jobs, statements.count)), database: database, connection: connection, start: [])
        do {
            for statement in statements { try pool.submit(Array(statement.utf8)) }
        } catch {
            pool.abort()
            throw error
        }
        try pool.finish()
    }
}
