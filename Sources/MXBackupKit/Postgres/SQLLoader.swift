import Foundation

/// Streams plain SQL into `psql` with errors fatal (ON_ERROR_STOP): the first failing statement stops
/// the load and becomes the error, instead of being ignored as in the legacy restore.
public enum SQLLoader {
    /// - Parameters:
    ///   - preamble: SQL sent before the dump (e.g. `SET ROLE synapse;` so objects get the right owner).
    ///   - postamble: SQL sent after it (checks that raise an error, so that a single transaction rolls back).
    ///   - singleTransaction: all or nothing (`psql --single-transaction`).
    ///   - observe: sees every chunk (for progress).
    public static func load(_ source: ByteSource, into database: String, connection: PostgresConnection,
                            preamble: String = "", postamble: String = "", singleTransaction: Bool = false,
                            observe: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        let spec = connection.tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-o", "/dev/null"]
                                           + (singleTransaction ? ["--single-transaction"] : []), database: database)
        let stdin = try FileDescriptor.pipe()
        let stderr = try StderrCollector(name: "psql")
        let child: ChildProcess
        do {
            child = try ChildProcess(spec, descriptors: [0: stdin.read, 2: stderr.writeEnd])
        } catch {
            [stdin.read, stdin.write].forEach(FileDescriptor.close)
            stderr.closeWriteEnd()
            _ = stderr.finish()
            throw error
        }
        FileDescriptor.close(stdin.read)
        stderr.closeWriteEnd()
        var inputError: Error?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        do {
            try FileDescriptor.writeAll(stdin.write, Data(preamble.utf8))
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                observe(chunk)
                try FileDescriptor.writeAll(stdin.write, chunk)
            }
            try FileDescriptor.writeAll(stdin.write, Data(postamble.utf8))
        } catch {
            inputError = error
        }
        buffer.deallocate()
        FileDescriptor.close(stdin.write)
        if inputError is MXError { child.signalGroup(SIGTERM) }  // the backup failed: psql must not commit a partial load
        let termination = child.wait()
        let message = stderr.finish()
        if let inputError = inputError as? MXError { throw inputError }
        guard termination.succeeded else {
            let line = message.split(separator: "\n").first { $0.contains("ERROR") || $0.contains("FATAL") }.map(String.init)
                ?? message.split(separator: "\n").last.map(String.init) ?? termination.description
            throw MXError.failed("loading into \(database) stopped at the first SQL error: \(line)")
        }
    }
}
