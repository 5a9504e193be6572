import Foundation

/// Loads a plain pg_dump stream over several psql sessions at once, as `pg_restore -j` does from a file,
/// but from a stream and without a temporary file:
///
/// 1. the pre-data (types, tables, functions) in one session, which ends (commits) before any row is sent;
/// 2. the table data over `jobs` sessions: each COPY block is cut into chunks of whole rows, each chunk a
///    COPY of its own, taken by whichever session is free, so that even one big table loads in parallel;
/// 3. the post-data (indexes, constraints, triggers) in one session, once every row is in. Index builds
///    over several sessions measured no faster on 2 cores (PostgreSQL builds each index with parallel
///    workers) and constraints would need pg_restore's dependency graph.
///
/// Only COPY blocks and `setval` calls leave the main line: the first other statement after the data
/// starts the post-data, so any dump (one written with --inserts, say) still loads correctly, only less in
/// parallel. Each later session starts with the role preamble, the dump's `\restrict` line and its session
/// settings, replayed. Memory: about `2 * jobs + 1` chunks.
final class ParallelLoad {
    static let chunkBytes = 2 << 20

    private enum Phase { case preData, data, postData }

    private let database: String
    private let connection: PostgresConnection
    private let jobs: Int
    private let preamble: [UInt8]
    private var phase = Phase.preData
    /// The pre-data or post-data session, and what waits to be written to it.
    private var serial: PsqlSession?
    private var serialBuffer: [UInt8] = []
    private var data: SessionPool?
    /// `\restrict KEY` and pg_dump's SET lines: the state every later session must start in.
    private var settings: [UInt8] = []
    /// `setval` calls met among the data; the post-data session runs them.
    private var sequenceValues: [UInt8] = []
    /// The COPY line of the block being cut, with its newline; nil between blocks.
    private var copyHeader: [UInt8]?
    private var chunk: [UInt8] = []
    private var script = PsqlScript()

    init(database: String, connection: PostgresConnection, jobs: Int, preamble: [UInt8]) {
        self.database = database
        self.connection = connection
        self.jobs = jobs
        self.preamble = preamble
    }

    /// - Parameter name: the file, for a refusal of its SQL.
    func run(_ source: ByteSource, named name: String, postamble: [UInt8], beforeCommit: () throws -> Void,
             observe: (UnsafeRawBufferPointer) -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var lines = LineAssembler()
        do {
            serial = try PsqlSession(database: database, connection: connection)
            serialBuffer = preamble
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                observe(bytes)
                try lines.feed(bytes) { try line($0, named: name) }
            }
            try lines.finish { try line($0, named: name) }
            if phase == .data { try startPostData() }
            try beforeCommit()
            serialBuffer += postamble
            try flushSerial()
        } catch {
            throw stopAll(after: error)
        }
        try serial?.finish()
    }

    /// Each line as psql reads it (`PsqlScript`): a COPY block only where psql sees one, a setting or
    /// `setval` to replay only when the line is whole statements; a backslash command refuses the file.
    private func line(_ text: UnsafeRawBufferPointer, named name: String) throws {
        let kind: PsqlScript.Line
        do { kind = try script.line(text) } catch { throw PsqlScript.refused(name, error) }
        switch phase {
        case .preData:
            guard case .copyHeader = kind else {
                if kind == .restrictKey || (kind == .sql(.whole) && Self.isSessionSetting(text)) {
                    settings.append(contentsOf: text)
                    settings.append(0x0A)
                }
                try writeSerial(text)
                return
            }
            try flushSerial()
            let preData = serial
            serial = nil
            try preData?.finish()
            data = try SessionPool(jobs: jobs, database: database, connection: connection, start: preamble + settings)
            phase = .data
            try dataLine(text, kind)
        case .data:
            try dataLine(text, kind)
        case .postData:
            try writeSerial(text)
        }
    }

    private func dataLine(_ text: UnsafeRawBufferPointer, _ kind: PsqlScript.Line) throws {
        switch kind {
        case .copyHeader:
            let header = Array(text) + [0x0A]
            copyHeader = header
            startChunk(header)
        case .copyRow:
            chunk.append(contentsOf: text)
            chunk.append(0x0A)
            if chunk.count >= Self.chunkBytes, let header = copyHeader {
                try submitChunk()
                startChunk(header)
            }
        case .copyEnd:
            if let header = copyHeader, chunk.count > header.count { try submitChunk() }  // an empty table needs no COPY
            copyHeader = nil
        case .sql(.blank):
            return
        case .sql(.whole) where text.starts(with: Self.setval):
            sequenceValues.append(contentsOf: text)
            sequenceValues.append(0x0A)
        default:
            try startPostData()
            try writeSerial(text)
        }
    }

    private func startChunk(_ header: [UInt8]) {
        chunk = data?.emptyChunk(capacity: Self.chunkBytes + (64 << 10)) ?? []
        chunk += header
    }

    private func submitChunk() throws {
        chunk += Self.endOfCopy
        try data?.submit(chunk)
        chunk = []
    }

    /// Every row is in (the data sessions have committed) before the indexes and constraints are built.
    private func startPostData() throws {
        let loading = data
        data = nil
        try loading?.finish()
        serial = try PsqlSession(database: database, connection: connection)
        serialBuffer = preamble + settings + sequenceValues
        phase = .postData
    }

    private func writeSerial(_ text: UnsafeRawBufferPointer) throws {
        serialBuffer.append(contentsOf: text)
        serialBuffer.append(0x0A)
        if serialBuffer.count >= 1 << 20 { try flushSerial() }
    }

    private func flushSerial() throws {
        guard let serial, !serialBuffer.isEmpty else { return }
        try serial.write(serialBuffer)
        serialBuffer.removeAll(keepingCapacity: true)
    }

    /// After a failure: every session still open is stopped before it sees the end of its input. A
    /// session that ended by itself explains a broken pipe better than the pipe does: its SQL error wins.
    private func stopAll(after error: Error) -> Error {
        data?.abort()
        data = nil
        guard let serial else { return error }
        self.serial = nil
        do {
            try serial.finish(inputError: error)
        } catch let cause {
            return cause
        }
        return error
    }

    private static let setval = Array("SELECT pg_catalog.setval(".utf8)
    private static let endOfCopy = Array("\\.\n".utf8)
    /// What pg_dump sets at the top of a dump and before its tables (one line each).
    private static let settingPrefixes = [Array("SELECT pg_catalog.set_config('search_path', ".utf8)]
        + ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "transaction_timeout",
           "client_encoding", "standard_conforming_strings", "check_function_bodies", "xmloption",
           "client_min_messages", "row_security", "default_tablespace", "default_table_access_method", "default_with_oids"]
        .map { Array("SET \($0) = ".utf8) }

    private static func isSessionSetting(_ line: UnsafeRawBufferPointer) -> Bool {
        settingPrefixes.contains { line.starts(with: $0) }
    }
}
