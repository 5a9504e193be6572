import Foundation

/// Splits a plain dump stream for a parallel restore: everything up to the end of the table data passes
/// through (one loading session), while the post-data statements (primary keys, unique constraints,
/// indexes, foreign keys, triggers: small text, but most of a restore's CPU) are kept aside to be run over
/// several sessions afterwards, as `pg_restore -j` does from a file.
public final class PostDataSplitter: ByteSource {
    private let upstream: ByteSource
    private var lines = LineAssembler()
    private var pending = Data()
    private var ended = false
    private var inCopy = false
    private var sawData = false
    private var inPostData = false
    private var statement = ""
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

    /// The dump's session settings (SET …, set_config …), replayed in every post-data session.
    public private(set) var settings: [String] = []
    /// Post-data statements in dump order.
    public private(set) var postData: [String] = []

    public init(_ upstream: ByteSource) { self.upstream = upstream }

    deinit { input.deallocate() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pending.isEmpty && !ended {
            let n = try upstream.read(into: input)
            if n == 0 { ended = true; break }
            lines.feed(UnsafeRawBufferPointer(rebasing: input[0..<n])) { line($0) }
        }
        let n = min(buffer.count, pending.count)
        pending.copyBytes(to: buffer.bindMemory(to: UInt8.self), count: n)
        pending.removeFirst(n)
        return n
    }

    private static let postDataStarts = ["CREATE INDEX ", "CREATE UNIQUE INDEX ", "ALTER TABLE ONLY ", "CREATE TRIGGER ", "CREATE CONSTRAINT TRIGGER "]

    private func line(_ bytes: UnsafeRawBufferPointer) {
        if inCopy {
            if bytes.count == 2 && bytes[0] == 0x5C && bytes[1] == 0x2E { inCopy = false }
            pass(bytes)
            return
        }
        if inPostData {
            let text = String(decoding: bytes, as: UTF8.self)
            if statement.isEmpty && (text.isEmpty || text.hasPrefix("--") || text.hasPrefix("\\")) { return }
            statement += statement.isEmpty ? text : "\n" + text
            if text.hasSuffix(";") {
                postData.append(statement)
                statement = ""
            }
            return
        }
        if CopyHeader.table(in: bytes) != nil {
            inCopy = true
            sawData = true
        } else if bytes.starts(with: Self.setPrefix) || bytes.starts(with: Self.setConfigPrefix) {
            if !sawData { settings.append(String(decoding: bytes, as: UTF8.self)) }
        } else if sawData, let first = bytes.first, first == 0x43 || first == 0x41 {  // C, A
            let text = String(decoding: bytes, as: UTF8.self)
            if Self.postDataStarts.contains(where: text.hasPrefix) {
                inPostData = true
                line(bytes)
                return
            }
        }
        pass(bytes)
    }

    private static let setPrefix = Array("SET ".utf8)
    private static let setConfigPrefix = Array("SELECT pg_catalog.set_config(".utf8)

    private func pass(_ bytes: UnsafeRawBufferPointer) {
        pending.append(contentsOf: bytes)
        pending.append(0x0A)
    }
}

/// Runs post-data statements over several sessions: each table's own constraints and indexes in one
/// session (in dump order: the primary key before the indexes that may rely on it), tables spread
/// over the sessions; then foreign keys and triggers, which lock several tables, in one session.
public enum PostDataRunner {
    public static func run(_ statements: [String], settings: [String], into database: String,
                           connection: PostgresConnection, sessions: Int, preamble: String) throws {
        guard !statements.isEmpty else { return }
        var perTable: [String: [String]] = [:]
        var order: [String] = []
        var last: [String] = []
        for statement in statements {
            if let table = table(of: statement) {
                if perTable[table] == nil { order.append(table) }
                perTable[table, default: []].append(statement)
            } else {
                last.append(statement)
            }
        }
        // Biggest groups first, each to the session with the least text so far.
        var buckets = Array(repeating: [String](), count: max(1, sessions))
        var weights = Array(repeating: 0, count: buckets.count)
        for table in order.sorted(by: { perTable[$0]!.count > perTable[$1]!.count }) {
            let index = weights.indices.min { weights[$0] < weights[$1] }!
            buckets[index] += perTable[table]!
            weights[index] += perTable[table]!.count
        }
        let header = preamble + settings.joined(separator: "\n") + "\n"
        let errors = Box<[MXError]>([])
        let workers = buckets.filter { !$0.isEmpty }.enumerated().map { index, bucket in
            let sql = Data((header + bucket.joined(separator: "\n") + "\n").utf8)
            return Worker("post-data-\(index)") {
                do {
                    try SQLLoader.load(DataSource(sql), into: database, connection: connection)
                } catch {
                    errors.value.append((error as? MXError) ?? MXError.failed("\(error)"))
                }
            }
        }
        workers.forEach { $0.join() }
        if let first = errors.value.first { throw first }
        if !last.isEmpty {
            try SQLLoader.load(DataSource(Data((header + last.joined(separator: "\n") + "\n").utf8)), into: database, connection: connection)
        }
    }

    /// The table a constraint or index belongs to, unless it is a foreign key or anything else that
    /// touches other tables too (those run last, alone).
    static func table(of statement: String) -> String? {
        let words = statement.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        if statement.hasPrefix("ALTER TABLE ONLY "), words.count > 3, !statement.contains("FOREIGN KEY") {
            return words[3]
        }
        if statement.hasPrefix("CREATE INDEX ") || statement.hasPrefix("CREATE UNIQUE INDEX "),
           let on = words.firstIndex(of: "ON"), on + 1 < words.count {
            return words[on + 1] == "ONLY" && on + 2 < words.count ? words[on + 2] : words[on + 1]
        }
        return nil
    }
}

/// Bytes in memory as a source (small SQL texts).
public final class DataSource: ByteSource {
    private let data: Data
    private var offset = 0

    public init(_ data: Data) { self.data = data }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, data.count - offset)
        guard n > 0 else { return 0 }
        data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<offset + n)
        offset += n
        return n
    }
}
