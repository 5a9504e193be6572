import Foundation

/// Reads a plain SQL dump line by line as psql will, to refuse what psql would run outside SQL: a
/// backslash command (`\!` runs a shell on this machine, `\connect` switches to another database, `\copy`
/// reads or writes local files). pg_dump writes none of them, only its own `\restrict KEY` /
/// `\unrestrict KEY` lines, so any other one means the file was altered or was never a pg_dump.
///
/// Lexing follows psql's own scanner (fe_utils/psqlscan.l) for everything that decides where a backslash
/// starts a command: quotes of every kind, comments, parentheses, statement ends and COPY data. Where psql's
/// reading depends on what it cannot know in advance (`standard_conforming_strings`, a BEGIN ... END
/// function body that psql versions split differently), the text is refused: pg_dump never writes it.
/// It also classifies lines for the loaders that cut a dump apart (parallel load, `--tables`), so that a
/// COPY block is one only where psql sees one.
public struct PsqlScript {
    public enum Line: Equatable {
        /// SQL, or only whitespace and comments.
        case sql(Extent)
        /// pg_dump's `COPY table (columns) FROM stdin;`: the table, quotes removed.
        case copyHeader(String)
        case copyRow
        /// The `\.` that ends COPY data.
        case copyEnd
        /// pg_dump's own `\restrict KEY` or `\unrestrict KEY`.
        case restrictKey
    }

    public enum Extent: Equatable {
        /// Nothing but whitespace and `--` comments, between statements.
        case blank
        /// One or more complete statements: the line starts and ends between statements.
        case whole
        /// Part of a statement that starts or ends on another line.
        case partial
    }

    /// Why a line is refused, with its number (from 1).
    public struct Refusal: Error, Equatable {
        public var line: Int
        public var reason: String
    }

    public private(set) var lineNumber = 0
    /// pg_dump's completion line was seen between statements.
    public private(set) var complete = false

    private enum State: Equatable {
        case normal
        case blockComment(depth: Int)
        /// '...' (also N'', B'', X'', U&''): '' is a quote; a backslash before a quote is refused (below).
        case quote
        /// E'...': a backslash escapes the next character.
        case escapeQuote
        case doubleQuote
        case dollarQuote(tag: [UInt8])
    }

    private var state = State.normal
    private var inCopy = false
    private var parens = 0
    /// Nothing but whitespace and `--` comments since the last statement ended.
    private var betweenStatements = true
    private var statement = DumpStatements()

    public init() {}

    public mutating func line(_ text: UnsafeRawBufferPointer) throws(Refusal) -> Line {
        lineNumber += 1
        if let base = text.baseAddress, memchr(base, 0, text.count) != nil {
            // psql's reading stops at a NUL and glues the rest of the line to the next one.
            throw refusal("has a NUL byte, which psql reads as the end of the text")
        }
        if inCopy {
            if text.elementsEqual(Self.endOfCopy) {
                inCopy = false
                return .copyEnd
            }
            if text.elementsEqual(Self.endOfCopy + [0x0D]) {
                throw refusal("ends COPY data with `\\.` and a carriage return: the file was given Windows line endings (convert it back with dos2unix)")
            }
            return .copyRow
        }
        let startsBetween = state == .normal && betweenStatements
        if startsBetween && Self.isRestrictLine(text) {
            if complete && !text.starts(with: Self.unrestrict) {
                throw refusal("has SQL after pg_dump's completion line: something was appended to the dump")
            }
            return .restrictKey
        }
        if startsBetween && !complete, let table = CopyHeader.table(in: text) {
            try lex(text, copyHeader: true)
            guard state == .normal && betweenStatements else {
                throw refusal("has a COPY statement that is not pg_dump's one-line `COPY table (columns) FROM stdin;`")
            }
            inCopy = true
            return .copyHeader(table)
        }
        let hadTokens = try lex(text, copyHeader: false)
        let endsBetween = state == .normal && betweenStatements
        if startsBetween && endsBetween && !hadTokens {
            if text.elementsEqual(Self.completeLine) { complete = true }
            return .sql(.blank)
        }
        if complete {
            throw refusal("has SQL after pg_dump's completion line: something was appended to the dump")
        }
        return .sql(startsBetween && endsBetween ? .whole : .partial)
    }

    /// The end of the input: a dump that ends inside a quote, a comment or COPY data is cut short.
    public var endsCleanly: Bool { state == .normal && !inCopy }

    // MARK: - Lexing

    /// Lexes one line (without its newline); returns whether it held anything but whitespace and `--` comments.
    @discardableResult
    private mutating func lex(_ t: UnsafeRawBufferPointer, copyHeader: Bool) throws(Refusal) -> Bool {
        var tokens = false
        var i = 0
        let n = t.count
        func at(_ k: Int) -> UInt8 { k < n ? t[k] : 0x0A }
        while i < n {
            let c = t[i]
            switch state {
            case .blockComment(let depth):
                if c == 0x2F && at(i + 1) == 0x2A { state = .blockComment(depth: depth + 1); i += 2; continue }  // /*
                if c == 0x2A && at(i + 1) == 0x2F { state = depth == 0 ? .normal : .blockComment(depth: depth - 1); i += 2; continue }
                i += 1
            case .quote:
                if c == 0x27 {  // '
                    if at(i + 1) == 0x27 { i += 2 } else { state = .normal; i += 1 }
                    continue
                }
                if c == 0x5C {
                    // With standard_conforming_strings off, psql reads a backslash here as an escape. A quote
                    // after an odd run of backslashes ends the string under one setting and not the other.
                    var j = i
                    while j < n && t[j] == 0x5C { j += 1 }
                    if (j - i) % 2 == 1 && at(j) == 0x27 {
                        throw refusal("has a backslash before a quote in a string, which psql reads two ways")
                    }
                    i = j
                    continue
                }
                i += 1
            case .escapeQuote:
                if c == 0x5C {
                    // In a client encoding such as SJIS or BIG5 (which SQL can switch to), a backslash after a
                    // non-ASCII byte is part of that character for psql, not an escape.
                    if i > 0 && t[i - 1] >= 0x80 {
                        throw refusal("has a backslash after a non-ASCII byte in an E'' string, which psql reads differently in some client encodings")
                    }
                    i += 2
                    continue
                }
                if c == 0x27 {
                    if at(i + 1) == 0x27 { i += 2 } else { state = .normal; i += 1 }
                    continue
                }
                i += 1
            case .doubleQuote:
                if c == 0x22 {
                    if at(i + 1) == 0x22 { i += 2 } else { state = .normal; i += 1 }
                    continue
                }
                i += 1
            case .dollarQuote(let tag):
                if c == 0x24 && i + tag.count <= n && UnsafeRawBufferPointer(rebasing: t[i..<(i + tag.count)]).elementsEqual(tag) {
                    state = .normal
                    i += tag.count
                    continue
                }
                i += 1
            case .normal:
                if Self.isSpace(c) { i += 1; continue }
                if c == 0x2D && at(i + 1) == 0x2D {  // -- to the end of the line (psql ends it at a \r too)
                    i += 2
                    while i < n && t[i] != 0x0D { i += 1 }
                    continue
                }
                tokens = true
                betweenStatements = false
                if c == 0x2F && at(i + 1) == 0x2A {
                    state = .blockComment(depth: 0)
                    i += 2
                    continue
                }
                if c == 0x3B {  // ;
                    if parens == 0 {
                        if copyHeader && i != n - 1 {
                            throw refusal("has a COPY statement that is not pg_dump's one-line `COPY table (columns) FROM stdin;`")
                        }
                        betweenStatements = true
                        statement.reset()
                    }
                    i += 1
                    continue
                }
                if c == 0x5C { throw refusal("runs the psql command `\(Self.command(in: t, at: i))`") }
                let string = Self.opensString(t, at: i)
                if !Self.isIdentStart(c) || string, let reason = statement.other(quoted: string || c == 0x27 || c == 0x22 || c == 0x24) {
                    throw refusal(reason)
                }
                switch c {
                case 0x27:
                    state = .quote
                    i += 1
                case 0x22:
                    state = .doubleQuote
                    i += 1
                case 0x24:  // $
                    i = try dollar(t, at: i)
                case 0x28:
                    parens += 1
                    i += 1
                case 0x29:
                    if parens > 0 { parens -= 1 }
                    i += 1
                case 0x3A:  // :
                    let next = at(i + 1)
                    if next == 0x3A || next == 0x3D { i += 2; continue }  // :: and :=
                    if next == 0x27 || next == 0x22 || next == 0x7B || Self.isIdentStart(next) {
                        throw refusal("uses a psql variable (`:name`)")
                    }
                    i += 1
                case 0x30...0x39:
                    i = try number(t, at: i)
                default:
                    if Self.isIdentStart(c) {
                        i = try word(t, at: i, copyHeader: copyHeader)
                    } else {
                        i += 1
                    }
                }
            }
        }
        return tokens
    }

    /// `$tag$` starts a dollar quote, `$1` is a parameter, any other `$` stands alone.
    private mutating func dollar(_ t: UnsafeRawBufferPointer, at start: Int) throws(Refusal) -> Int {
        var j = start + 1
        if j < t.count, Self.isIdentStart(t[j]) {
            while j < t.count, Self.isIdentStart(t[j]) || Self.isDigit(t[j]) { j += 1 }
        }
        if j < t.count && t[j] == 0x24 {
            let tag = Array(t[start...j])
            // psql compares a tag's non-ASCII bytes as characters of the client encoding, which SQL can switch.
            if tag.contains(where: { $0 >= 0x80 }) {
                throw refusal("has a dollar quote whose tag is not ASCII, which psql matches differently in some client encodings")
            }
            state = .dollarQuote(tag: tag)
            return j + 1
        }
        if j == start + 1 {
            var k = j
            while k < t.count, Self.isDigit(t[k]) { k += 1 }
            if k > j, k < t.count, Self.isIdentStart(t[k]) || t[k] == 0x24 {
                throw refusal("has a parameter followed by letters (`$1x`), which psql versions read differently")
            }
            return max(k, j)
        }
        return start + 1  // psql lexes the letters after a lone `$` as an identifier
    }

    /// Digits, a fraction, an exponent. Letters right after a number are read differently by different psql
    /// versions (`1e`, `0x1F`, `1_000`, `1abc`), and pg_dump never writes them outside quotes.
    private func number(_ t: UnsafeRawBufferPointer, at start: Int) throws(Refusal) -> Int {
        var j = start
        let n = t.count
        while j < n, Self.isDigit(t[j]) || (t[j] == 0x2E && !(j + 1 < n && t[j + 1] == 0x2E)) { j += 1 }
        if j < n, t[j] == 0x65 || t[j] == 0x45 {
            var k = j + 1
            if k < n, t[k] == 0x2B || t[k] == 0x2D { k += 1 }
            if k < n, Self.isDigit(t[k]) {
                j = k
                while j < n, Self.isDigit(t[j]) { j += 1 }
            }
        }
        if j < n, Self.isIdentStart(t[j]) || t[j] == 0x24 {
            throw refusal("has letters right after a number, which psql versions read differently")
        }
        return j
    }

    /// An identifier or keyword, or the letter that opens E'', B'', X'', N'', U&'' or U&"".
    private mutating func word(_ t: UnsafeRawBufferPointer, at start: Int, copyHeader: Bool) throws(Refusal) -> Int {
        let n = t.count
        let c = t[start] | 0x20
        let next = start + 1 < n ? t[start + 1] : 0
        if next == 0x27 {
            if c == 0x65 { state = .escapeQuote; return start + 2 }
            if c == 0x62 || c == 0x78 || c == 0x6E { state = .quote; return start + 2 }
        }
        if c == 0x75 && next == 0x26 {  // U&
            let after = start + 2 < n ? t[start + 2] : 0
            if after == 0x27 { state = .quote; return start + 3 }
            if after == 0x22 { state = .doubleQuote; return start + 3 }
            return start + 1  // psql takes the U alone, not as an identifier
        }
        var j = start
        while j < n, Self.isIdentStart(t[j]) || Self.isDigit(t[j]) || t[j] == 0x24 { j += 1 }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: t[start..<j]), as: UTF8.self).lowercased()
        if let reason = statement.word(text, line: t, at: start, parens: parens, copyHeader: copyHeader) { throw refusal(reason) }
        return j
    }

    private func refusal(_ reason: String) -> Refusal { Refusal(line: lineNumber, reason: reason) }

    public static func refused(_ name: String, _ refusal: Refusal) -> MXError {
        .refused("\(name): line \(refusal.line) of the SQL \(refusal.reason); refused: pg_dump never writes this, so the file was altered or is not a pg_dump")
    }

    private static func command(in t: UnsafeRawBufferPointer, at i: Int) -> String {
        var j = i + 1
        while j < t.count, j < i + 12, t[j] > 0x20 && t[j] < 0x7F { j += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: t[i..<j]), as: UTF8.self)
    }

    /// `\restrict KEY` or `\unrestrict KEY`, as pg_dump writes them (an alphanumeric key).
    private static func isRestrictLine(_ t: UnsafeRawBufferPointer) -> Bool {
        let prefix = t.starts(with: restrict) ? restrict.count : t.starts(with: unrestrict) ? unrestrict.count : 0
        guard prefix > 0, t.count > prefix else { return false }
        return t[prefix...].allSatisfy { isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
    }

    /// E'', B'', X'', N'', U&'' and U&"" start with a letter but are strings (or a quoted identifier).
    private static func opensString(_ t: UnsafeRawBufferPointer, at i: Int) -> Bool {
        let c = t[i] | 0x20
        let next = i + 1 < t.count ? t[i + 1] : 0
        if next == 0x27 { return [0x65, 0x62, 0x78, 0x6E].contains(c) }
        return c == 0x75 && next == 0x26
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0C }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isIdentStart(_ c: UInt8) -> Bool {
        (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x5F || c >= 0x80
    }

    private static let endOfCopy: [UInt8] = [0x5C, 0x2E]
    private static let restrict = Array("\\restrict ".utf8)
    private static let unrestrict = Array("\\unrestrict ".utf8)
    private static let completeLine = Array("-- PostgreSQL database dump complete".utf8)
}
