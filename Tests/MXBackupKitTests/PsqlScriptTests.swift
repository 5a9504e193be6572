import Foundation
@testable import MXBackupKit
import Testing

/// psql runs a backslash command wherever its scanner finds a backslash outside quotes, comments and COPY
/// data. Each hostile case here either makes psql 15 run a command (the parentheses, `\r`, nested comment,
/// E'' and dollar-quote cases were tried against it) or is read differently by psql depending on a server
/// setting or its version. Each must be refused at its line, and nothing pg_dump writes may be.
@Suite struct PsqlScriptTests {
    /// The refusal's line, or nil when every line is accepted.
    private func refusedLine(_ sql: String) -> Int? {
        var script = PsqlScript()
        // Split bytes, not Characters: "\r\n" is one Character.
        for line in Array(sql.utf8).split(separator: 0x0A, omittingEmptySubsequences: false) {
            do {
                _ = try Array(line).withUnsafeBytes { (bytes) throws(PsqlScript.Refusal) in try script.line(bytes) }
            } catch {
                return (error as? PsqlScript.Refusal)?.line ?? -1
            }
        }
        return nil
    }

    @Test(arguments: [
        ("\\! touch /tmp/pwned", 1),
        ("SELECT 1;\nSELECT 2; \\! id", 2),
        ("\\connect postgres", 1),
        ("\\c postgres", 1),
        ("\\copy users to '/tmp/users'", 1),
        ("SELECT 'a' \\gexec", 1),
        ("SELECT E'\\'' \\! id", 1),                                   // E'\'' is one quote, closed
        ("SELECT 'a\\' \\! id '", 1),                                  // ends at \' or not, by a server setting
        ("SELECT $x$ a $x$ \\! id", 1),
        ("-- a comment\r\\! id", 1),                                   // psql ends a -- comment at a \r
        ("/* a /* nested */ comment */ \\! id", 1),
        ("SELECT (1;\nCOPY public.t (a) FROM stdin;\n\\! id\n\\.", 3), // inside parentheses psql is not in COPY
        ("copy public.t (a) from stdin;\n\\! id\n\\.", 1),             // a COPY that is not pg_dump's line
        ("COPY public.t (a) FROM stdin; SELECT 1;", 1),
        ("COPY public.t (a)\nFROM stdin;", 1),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC SELECT 1;\nEND;", 2),
        ("SELECT :foo;", 1),
        ("SELECT :'foo';", 1),
        ("SELECT 1e$a$ ' $a$;", 1),
        ("COPY public.t (a) FROM stdin;\n1\n\\.\r\n\\! id", 3),         // psql ends COPY data at \.\r too (the server then errs)
        ("-- PostgreSQL database dump complete\nDROP TABLE users;", 2),
        ("-- PostgreSQL database dump complete\n\\restrict abc", 2),
        ("\\restrict abc; \\! id", 1),
        ("SET client_encoding = 'SJIS';\nSELECT E'\u{0101}\\' \\! id';", 2),  // for psql, 0x81 0x5C is one SJIS character
        ("SELECT $\u{00E9}$ x $\u{00E8}$ \\! id $\u{00E9}$;", 1),
    ])
    func hostileLinesAreRefused(sql: String, line: Int) {
        #expect(refusedLine(sql) == line, "\(sql.debugDescription)")
    }

    @Test(arguments: [
        "\\restrict Abc123\nSET standard_conforming_strings = on;",
        "COPY public.t (a, \"b c\") FROM stdin;\n\\\\! not a command, data\n'\n\\.\nSELECT 1;",
        "COPY public.\"odd;name\" (a) FROM stdin;\nx\n\\.",
        "COPY public.nocolumns  FROM stdin;\n\n\\.",
        "CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE '\\! %', 1; -- \\! here too\nEND;\n$$;",
        "CREATE FUNCTION public.g() RETURNS text LANGUAGE sql AS $_$ SELECT $$\\$$ $_$;",
        "SELECT 'it''s', E'a\\\\b\\'c', 'C:\\\\', \"quoted \"\"id\"\"\", U&'\\0041', x'1F', 1.5e-3, $1, a$b::text;",
        "SELECT 'multi\nline \\! in a string';",
        "/* a comment with a \\! in it */ SELECT 1;",
        "SELECT arr[1:2] FROM t;",
        "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict Abc123\n",
    ])
    func whatPgDumpWritesIsAccepted(sql: String) {
        #expect(refusedLine(sql) == nil, "\(sql.debugDescription)")
    }

    @Test func copyBlocksAreFoundOnlyWherePsqlSeesThem() throws {
        var script = PsqlScript()
        let sql = """
        SELECT 'start of a string
        COPY public.users (name) FROM stdin;
        @mallory:example.org
        \\.
        ';
        COPY public.users (name) FROM stdin;
        @alice:example.org
        \\.
        """
        var kinds: [PsqlScript.Line] = []
        for line in sql.split(separator: "\n") {
            kinds.append(try Array(line.utf8).withUnsafeBytes { (bytes) throws(PsqlScript.Refusal) in try script.line(bytes) })
        }
        #expect(kinds == [.sql(.partial), .sql(.partial), .sql(.partial), .sql(.partial), .sql(.partial),
                          .copyHeader("public.users"), .copyRow, .copyEnd])
    }
}
