import Foundation

/// Streams plain SQL into `psql` with errors fatal (ON_ERROR_STOP): the first failing statement stops
/// the load and becomes the error, instead of being ignored as in the legacy restore.
public enum SQLLoader {
    /// Memory for CREATE INDEX during a load; 256 MB is safe on any server that runs Synapse.
    public static let maintenanceWorkMem = "256MB"

    /// - Parameters:
    ///   - preamble: SQL sent before the dump (e.g. `SET ROLE synapse;` so objects get the right owner).
    ///   - postamble: SQL sent after it (checks that raise an error, so that a single transaction rolls back).
    ///   - singleTransaction: all or nothing (`psql --single-transaction`).
    ///   - beforeCommit: runs when the source is exhausted, before psql sees the end of its input; throwing
    ///     there aborts the load like any input error.
    ///   - observe: sees every chunk (for progress).
    public static func load(_ source: ByteSource, into database: String, connection: PostgresConnection,
                            preamble: String = "", postamble: String = "", singleTransaction: Bool = false,
                            beforeCommit: () throws -> Void = {},
                            observe: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        // Settings of this loading session only (nothing persists in the restored database): no wait for
        // each commit to reach the disk (a crashed load is thrown away anyway; the restore's final checks
        // and the swap happen on other connections), and more memory for the index builds at the end.
        let spec = connection.tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-o", "/dev/null"]
                                           + (singleTransaction ? ["--single-transaction"] : []), database: database,
                                   environment: ["PGOPTIONS": "-c synchronous_commit=off -c maintenance_work_mem=\(maintenanceWorkMem)"])
        let psql = try PipedChild(spec, input: true, output: false)
        let child = psql.process
        var inputError: Error?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        do {
            try FileDescriptor.writeAll(psql.input, Data(preamble.utf8))
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                observe(chunk)
                try FileDescriptor.writeAll(psql.input, chunk)
            }
            try beforeCommit()
            try FileDescriptor.writeAll(psql.input, Data(postamble.utf8))
        } catch {
            inputError = error
        }
        buffer.deallocate()
        // The input failed: psql is killed *before* it sees end-of-input, which would commit what it has.
        if inputError is MXError {
            child.signalGroup(SIGKILL)
            child.wait()
        }
        FileDescriptor.close(psql.input)
        let termination = child.wait()
        let message = psql.stderr.finish()
        if let inputError = inputError as? MXError { throw inputError }
        guard termination.succeeded else {
            let line = message.split(separator: "\n").first { $0.contains("ERROR") || $0.contains("FATAL") }.map(String.init)
                ?? message.split(separator: "\n").last.map(String.init) ?? termination.description
            throw MXError.failed("loading into \(database) stopped at the first SQL error: \(line)")
        }
    }
}
