import Foundation

/// Watches a plain-format pg_dump stream go by and records what the manifest needs: rows per table,
/// max(events.stream_ordering), Synapse's schema versions, the server name, and whether pg_dump wrote
/// its completion line. Taken from the dump itself, these facts describe exactly the snapshot the
/// backup holds, even while Synapse keeps writing. It reads the SQL as psql will (`PsqlScript`) and throws
/// at the first line psql would run as anything but SQL.
public final class DumpScanner {
    public private(set) var tableRows: [String: Int64] = [:]
    public private(set) var maxStreamOrdering: Int64?
    public private(set) var schemaVersion: Int?
    public private(set) var schemaCompatVersion: Int?
    public private(set) var firstUserID: String?
    /// The versions pg_dump writes in its header comments, for a manifest made from a file (adopt).
    public private(set) var dumpedFrom: String?
    public private(set) var dumpedBy: String?
    public private(set) var bytes: Int64 = 0
    /// pg_dump's last line, "-- PostgreSQL database dump complete", was seen between statements, and
    /// nothing but its `\unrestrict` line came after it.
    public var complete: Bool { script.complete && script.endsCleanly }

    private struct Copy {
        var table: String
        var rows: Int64 = 0
        /// (column index, what to record) for the few columns we read.
        var watch: (index: Int, field: Field)?
    }

    private enum Field { case streamOrdering, schemaVersion, compatVersion, userID }

    private var copy: Copy?
    private var lines = LineAssembler()
    private var script = PsqlScript()

    public init() {}

    public func scan(_ chunk: UnsafeRawBufferPointer) throws(PsqlScript.Refusal) {
        bytes += Int64(chunk.count)
        try lines.feed(chunk) { (text) throws(PsqlScript.Refusal) in try line(text) }
    }

    /// The end of the stream: a last line without a newline.
    public func finish() throws(PsqlScript.Refusal) {
        try lines.finish { (text) throws(PsqlScript.Refusal) in try line(text) }
    }

    private func line(_ text: UnsafeRawBufferPointer) throws(PsqlScript.Refusal) {
        switch try script.line(text) {
        case .copyRow:
            guard var current = copy else { return }
            current.rows += 1
            if let watch = current.watch { record(field(text, at: watch.index), as: watch.field) }
            copy = current
        case .copyEnd:
            if let current = copy { tableRows[current.table, default: 0] += current.rows }
            copy = nil
        case .copyHeader(let table):
            copy = Self.copy(of: table, header: String(decoding: text, as: UTF8.self))
        case .sql(.blank):
            if text.starts(with: Self.dumpedFromPrefix) {
                dumpedFrom = String(decoding: text.dropFirst(Self.dumpedFromPrefix.count), as: UTF8.self)
            } else if text.starts(with: Self.dumpedByPrefix) {
                dumpedBy = String(decoding: text.dropFirst(Self.dumpedByPrefix.count), as: UTF8.self)
            }
        case .sql, .restrictKey:
            return
        }
    }

    private func record(_ value: Substring?, as field: Field) {
        guard let value else { return }
        switch field {
        case .streamOrdering:
            if let n = Int64(value) { maxStreamOrdering = max(maxStreamOrdering ?? n, n) }
        case .schemaVersion: schemaVersion = Int(value)
        case .compatVersion: schemaCompatVersion = Int(value)
        case .userID: if firstUserID == nil { firstUserID = String(value) }
        }
    }

    /// The n-th tab-separated field of a COPY text row (no unescaping: the fields we read never need it).
    private func field(_ row: UnsafeRawBufferPointer, at index: Int) -> Substring? {
        var column = 0
        var fieldStart = 0
        for i in 0...row.count {
            if i == row.count || row[i] == 0x09 {
                if column == index {
                    let text = String(decoding: UnsafeRawBufferPointer(rebasing: row[fieldStart..<i]), as: UTF8.self)
                    return text == "\\N" ? nil : Substring(text)
                }
                column += 1
                fieldStart = i + 1
            }
        }
        return nil
    }

    private static let dumpedFromPrefix = Array("-- Dumped from database version ".utf8)
    private static let dumpedByPrefix = Array("-- Dumped by pg_dump version ".utf8)
    private static let watched: [String: (column: String, field: Field)] = [
        "public.events": ("stream_ordering", .streamOrdering),
        "public.schema_version": ("version", .schemaVersion),
        "public.schema_compat_version": ("compat_version", .compatVersion),
        "public.users": ("name", .userID),
    ]

    private static func copy(of table: String, header: String) -> Copy {
        var copy = Copy(table: table)
        if let (column, field) = watched[table], let index = CopyHeader.columns(in: header).firstIndex(of: column) {
            copy.watch = (index, field)
        }
        return copy
    }
}

/// Splits a byte stream into lines (without the newline) across chunk boundaries; a line is copied
/// only when it straddles two chunks.
struct LineAssembler {
    private var carry: [UInt8] = []

    mutating func feed<E: Error>(_ chunk: UnsafeRawBufferPointer, _ line: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        guard var start = chunk.baseAddress, chunk.count > 0 else { return }
        let end = start + chunk.count
        while start < end {
            guard let nl = memchr(start, 0x0A, end - start) else {
                carry.append(contentsOf: UnsafeRawBufferPointer(start: start, count: end - start))
                return
            }
            let newline = UnsafeRawPointer(nl)
            if carry.isEmpty {
                try line(UnsafeRawBufferPointer(start: start, count: newline - start))
            } else {
                carry.append(contentsOf: UnsafeRawBufferPointer(start: start, count: newline - start))
                try Self.withBytes(carry, line)
                carry.removeAll(keepingCapacity: carry.count < 1 << 20)
            }
            start = newline + 1
        }
    }

    /// A last line without a newline at the end of the stream.
    mutating func finish<E: Error>(_ line: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        guard !carry.isEmpty else { return }
        defer { carry.removeAll() }
        try Self.withBytes(carry, line)
    }

    /// `withUnsafeBytes` that keeps the closure's error type.
    private static func withBytes<E: Error>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        let result: Result<Void, E> = bytes.withUnsafeBytes { buffer in
            do throws(E) { try body(buffer); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }
}

/// Bytes waiting to be read by a filter's consumer. Drained storage is reused: a queue that is filled and
/// emptied by turns keeps the size of one chunk, not of the stream.
struct ByteQueue {
    private var bytes: [UInt8] = []
    private var offset = 0

    var isEmpty: Bool { offset == bytes.count }

    mutating func appendLine(_ line: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: line)
        bytes.append(0x0A)
    }

    mutating func pop(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        if offset == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            offset = 0
        }
        return n
    }
}

/// `COPY public.events (topological_ordering, event_id, …) FROM stdin;` — the header of a table's data.
enum CopyHeader {
    private static let prefix = Array("COPY ".utf8)
    private static let suffix = Array(" FROM stdin;".utf8)

    /// The table (`public.events`, quotes removed) if the line has the shape of pg_dump's COPY header:
    /// `COPY name (columns) FROM stdin;`, or `COPY name  FROM stdin;` for a table without columns.
    static func table(in line: UnsafeRawBufferPointer) -> String? {
        guard line.starts(with: prefix), line.count > prefix.count + suffix.count,
              UnsafeRawBufferPointer(rebasing: line[(line.count - suffix.count)...]).elementsEqual(suffix) else { return nil }
        let middle = Array(line[prefix.count..<(line.count - suffix.count)])
        // The name: parts, quoted ("" is a quote) or not, joined by dots; then an optional column list.
        var name: [UInt8] = []
        var i = 0
        while i < middle.count {
            let c = middle[i]
            if c == 0x22 {
                i += 1
                while i < middle.count {
                    if middle[i] == 0x22 {
                        if i + 1 < middle.count && middle[i + 1] == 0x22 { name.append(0x22); i += 2; continue }
                        break
                    }
                    name.append(middle[i])
                    i += 1
                }
                i += 1
            } else if c == 0x20 || c == 0x28 {
                break
            } else {
                name.append(c)
                i += 1
            }
        }
        let rest = String(decoding: middle[min(i, middle.count)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, rest.isEmpty || (rest.hasPrefix("(") && rest.hasSuffix(")")) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    static func columns(in header: String) -> [String] {
        guard let open = header.firstIndex(of: "("), let close = header.lastIndex(of: ")") else { return [] }
        return header[header.index(after: open)..<close].split(separator: ",").map { unquote($0.trimmingCharacters(in: .whitespaces)) }
    }

    private static func unquote(_ name: String) -> String {
        name.replacingOccurrences(of: "\"", with: "")
    }
}
