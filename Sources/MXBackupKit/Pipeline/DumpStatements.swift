import Foundation

/// Which statements a dump may hold, followed token by token as `PsqlScript` lexes them: the kinds pg_dump
/// writes, minus those that reach outside the database being loaded. A load runs with the rights of its
/// connection (often a superuser: the postgres image's POSTGRES_USER is one), so a dump that says
/// `DROP DATABASE synapse` would drop the live database during a drill, one that says `CREATE ROLE`,
/// `ALTER SYSTEM` or `LANGUAGE c` would change the server itself.
struct DumpStatements {
    private var words: [String] = []
    private var count = 0
    private var started = false
    /// The identifier just before, when nothing else came between.
    private var previous = ""
    private var extensionNamed = false
    private var grantsOnSomething = false

    mutating func reset() {
        words = []
        count = 0
        started = false
        previous = ""
        extensionNamed = false
        grantsOnSomething = false
    }

    /// Any token but an identifier: a quote (`quoted`), a number, an operator, a parenthesis.
    mutating func other(quoted: Bool) -> String? {
        defer { started = true; previous = "" }
        if !started { return "has a statement that does not start with a keyword" }
        if quoted && previous == "language" { return "names a function's language as a string" }
        if quoted && words.starts(with: ["create", "extension"]) && !extensionNamed { return "creates an extension whose name is quoted" }
        return nil
    }

    /// An identifier or keyword (lower case); `line` and `start` place it, `parens` is the depth it is at,
    /// and `copyHeader` says the line is pg_dump's COPY header.
    mutating func word(_ word: String, line: UnsafeRawBufferPointer, at start: Int, parens: Int, copyHeader: Bool) -> String? {
        defer {
            started = true
            previous = word
            if words.count < 8 { words.append(word) }
            count += 1
        }
        if count == 0 {
            guard Self.firstWords.contains(word) else { return "has a \(word.uppercased()) statement" }
            if word == "copy" && !copyHeader { return "has a COPY statement that is not pg_dump's one-line `COPY table (columns) FROM stdin;`" }
            if word == "select" && !(start == 0 && Self.isPgDumpSelect(String(decoding: line, as: UTF8.self))) {
                return "has a SELECT other than pg_dump's set_config, setval and large-object calls"
            }
            return nil
        }
        let first = words[0]
        // psql 14 and later read CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN past the body's semicolons,
        // psql 13 does not: where the statement ends would depend on the version.
        let routine = words.starts(with: ["create"]) && (["function", "procedure"].contains(words.count > 1 ? words[1] : "")
            || words.starts(with: ["create", "or", "replace"]) && ["function", "procedure"].contains(words.count > 3 ? words[3] : ""))
        if routine && parens == 0 && word == "begin" {
            return "has a function with a BEGIN ... END body (or named so), whose end psql versions find differently"
        }
        if count == 1, Self.outside[first]?.contains(word) == true {
            return "has \(first.uppercased()) \(word.uppercased()), which reaches outside the database being loaded"
        }
        if words.starts(with: ["create", "extension"]) && !extensionNamed && !["if", "not", "exists"].contains(word) {
            extensionNamed = true
            if Self.serverExtensions.contains(word) { return "creates the extension \(word), which reaches outside the database being loaded" }
        }
        if previous == "language" && Self.untrustedLanguages.contains(word) {
            return "creates a function in \(word), which runs code on the database server"
        }
        if first == "grant" || first == "revoke" {
            if word == "on" { grantsOnSomething = true }
            if (first == "grant" && word == "to" || first == "revoke" && word == "from") && !grantsOnSomething {
                return "\(first == "grant" ? "grants" : "revokes") a role, which reaches outside the database being loaded"
            }
        }
        return nil
    }

    private static let firstWords: Set = ["set", "select", "create", "alter", "comment", "copy", "grant", "revoke", "drop",
                                          "security", "refresh", "insert", "begin", "commit"]
    private static let outside: [String: Set<String>] = [
        "set": ["role", "session", "session_authorization", "local"],
        "create": ["database", "role", "user", "group", "tablespace", "subscription", "language"],
        "alter": ["database", "role", "user", "group", "system", "tablespace", "subscription"],
        "drop": ["database", "role", "user", "group", "tablespace", "subscription"],
    ]
    private static let serverExtensions: Set = ["dblink", "postgres_fdw", "file_fdw", "adminpack", "plpython3u", "plpythonu",
                                                "plperlu", "pltclu", "plsh"]
    private static let untrustedLanguages: Set = ["c", "internal", "plpython3u", "plpythonu", "plperlu", "pltclu", "plsh"]

    /// pg_dump's own SELECTs, each on its line: the search path, sequence values, large objects.
    static func isPgDumpSelect(_ line: String) -> Bool {
        if line == "SELECT pg_catalog.set_config('search_path', '', false);" || line == "SELECT pg_catalog.lo_close(0);" { return true }
        func call(_ name: String) -> String? {
            let prefix = "SELECT pg_catalog.\(name)(", suffix = ");"
            guard line.hasPrefix(prefix), line.hasSuffix(suffix), line.count > prefix.count + suffix.count else { return nil }
            return String(line.dropFirst(prefix.count).dropLast(suffix.count))
        }
        let digits = { (s: Substring) in !s.isEmpty && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber) }
        if let args = call("setval") {
            // 'schema.sequence', value, true|false
            let parts = args.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 3, parts[0].hasPrefix("'"), parts[0].hasSuffix("'"), parts[0].count > 2,
                  !parts[0].dropFirst().dropLast().contains("'"), ["true", "false"].contains(parts[2]) else { return false }
            let value = parts[1].hasPrefix("-") ? parts[1].dropFirst() : Substring(parts[1])
            return digits(value)
        }
        if let args = call("lo_create") { return args.hasPrefix("'") && args.hasSuffix("'") && digits(args.dropFirst().dropLast()) }
        if let args = call("lo_open") {
            return args.hasPrefix("'") && args.hasSuffix("', 131072") && digits(args.dropFirst().dropLast("', 131072".count))
        }
        if let args = call("lowrite") {
            return args.hasPrefix("0, '\\x") && args.hasSuffix("'") && args.dropFirst(6).dropLast().allSatisfy(\.isHexDigit)
        }
        return false
    }
}
