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
        ("CREATE VIEW v AS SELECT 1;\nCREATE VIEW v AS SELECT 2; \\! id", 2),
        ("\\connect postgres", 1),
        ("\\c postgres", 1),
        ("\\copy users to '/tmp/users'", 1),
        ("CREATE VIEW v AS SELECT 'a' \\gexec", 1),
        ("CREATE VIEW v AS SELECT E'\\'' \\! id", 1),                                   // E'\'' is one quote, closed
        ("CREATE VIEW v AS SELECT 'a\\' \\! id '", 1),                                  // ends at \' or not, by a server setting
        ("CREATE VIEW v AS SELECT $x$ a $x$ \\! id", 1),
        ("-- a comment\r\\! id", 1),                                   // psql ends a -- comment at a \r
        ("/* a /* nested */ comment */ \\! id", 1),
        ("CREATE VIEW v AS SELECT (1;\nCOPY public.t (a) FROM stdin;\n\\! id\n\\.", 3), // inside parentheses psql is not in COPY
        ("copy public.t (a) from stdin;\n\\! id\n\\.", 1),             // a COPY that is not pg_dump's line
        ("COPY public.t (a) FROM stdin; SELECT 1;", 1),
        ("COPY public.t (a)\nFROM stdin;", 1),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC SELECT 1;\nEND;", 2),
        ("CREATE VIEW v AS SELECT :foo;", 1),
        ("CREATE VIEW v AS SELECT :'foo';", 1),
        ("CREATE VIEW v AS SELECT 1e$a$ ' $a$;", 1),
        ("CREATE VIEW v AS SELECT 1 \u{0}'\n\\! id #'\n;", 1),              // psql stops reading at the NUL
        // SQL that reaches outside the database being loaded (a drill would drop the live one)
        ("DROP DATABASE IF EXISTS synapse WITH (FORCE);", 1),
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity;", 1),
        ("(SELECT 1);", 1),
        ("DO $$ BEGIN PERFORM 1; END $$;", 1),
        ("CREATE ROLE mallory SUPERUSER;", 1),
        ("ALTER SYSTEM SET archive_command = 'id';", 1),
        ("SET ROLE postgres;", 1),
        ("SET session_authorization = postgres;", 1),
        ("GRANT postgres TO synapse;", 1),
        ("CREATE FUNCTION public.f() RETURNS int\nLANGUAGE c AS '/tmp/evil.so', 'f';", 2),
        ("CREATE EXTENSION IF NOT EXISTS dblink WITH SCHEMA public;", 1),
        ("SELECT pg_catalog.set_config('role', 'postgres', false);", 1),
        ("COPY public.t (a) FROM stdin;\n1\n\\.\r\n\\! id", 3),         // psql ends COPY data at \.\r too (the server then errs)
        ("-- PostgreSQL database dump complete\nDROP TABLE users;", 2),
        ("-- PostgreSQL database dump complete\n\\restrict abc", 2),
        ("\\restrict abc; \\! id", 1),
        ("SET client_encoding = 'SJIS';\nCREATE VIEW v AS SELECT E'\u{0101}\\' \\! id';", 2),  // for psql, 0x81 0x5C is one SJIS character
        ("CREATE VIEW v AS SELECT $\u{00E9}$ x $\u{00E8}$ \\! id $\u{00E9}$;", 1),
    ])
    func hostileLinesAreRefused(sql: String, line: Int) {
        #expect(refusedLine(sql) == line, "\(sql.debugDescription)")
    }

    @Test(arguments: [
        "\\restrict Abc123\nSET standard_conforming_strings = on;",
        "COPY public.t (a, \"b c\") FROM stdin;\n\\\\! not a command, data\n'\n\\.\nCREATE VIEW v AS SELECT 1;",
        "COPY public.\"odd;name\" (a) FROM stdin;\nx\n\\.",
        "COPY public.nocolumns  FROM stdin;\n\n\\.",
        "CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE '\\! %', 1; -- \\! here too\nEND;\n$$;",
        "CREATE FUNCTION public.g() RETURNS text LANGUAGE sql AS $_$ SELECT $$\\$$ $_$;",
        "CREATE VIEW v AS SELECT 'it''s', E'a\\\\b\\'c', 'C:\\\\', \"quoted \"\"id\"\"\", U&'\\0041', x'1F', 1.5e-3, $1, a$b::text;",
        "CREATE VIEW v AS SELECT 'multi\nline \\! in a string';",
        "/* a comment with a \\! in it */ CREATE VIEW v AS SELECT 1;",
        "CREATE VIEW v AS SELECT arr[1:2] FROM t;",
        "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict Abc123\n",
        "SELECT pg_catalog.set_config('search_path', '', false);\nSET default_tablespace = '';",
        "SELECT pg_catalog.setval('public.events_seq', 42, true);\nSELECT pg_catalog.setval('public.x_seq', 1, false);",
        "BEGIN;\nSELECT pg_catalog.lo_open('16385', 131072);\nSELECT pg_catalog.lowrite(0, '\\x0a0b');\nSELECT pg_catalog.lo_close(0);\nCOMMIT;",
        "GRANT SELECT ON TABLE public.t TO synapse;\nREVOKE ALL ON SCHEMA public FROM PUBLIC;",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;\nCOMMENT ON EXTENSION pg_trgm IS 'x';",
        "ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);",
        "CREATE FUNCTION public.h() RETURNS int\n    LANGUAGE sql\n    AS $$ SELECT 1 $$;",
    ])
    func whatPgDumpWritesIsAccepted(sql: String) {
        #expect(refusedLine(sql) == nil, "\(sql.debugDescription)")
    }

    @Test func copyBlocksAreFoundOnlyWherePsqlSeesThem() throws {
        var script = PsqlScript()
        let sql = """
        CREATE VIEW v AS SELECT 'start of a string
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
