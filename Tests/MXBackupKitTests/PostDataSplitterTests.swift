import Foundation
@testable import MXBackupKit
import Testing

@Suite struct PostDataSplitterTests {
    let dump = """
    SET statement_timeout = 0;
    SELECT pg_catalog.set_config('search_path', '', false);
    CREATE TABLE public.a (id integer);
    ALTER TABLE ONLY public.a ALTER COLUMN id SET DEFAULT 1;
    COPY public.a (id) FROM stdin;
    1
    CREATE INDEX not_an_index_just_data
    \\.
    SELECT pg_catalog.setval('public.s', 5, true);
    --
    -- Name: a a_pkey; Type: CONSTRAINT; Schema: public; Owner: -
    --
    ALTER TABLE ONLY public.a
        ADD CONSTRAINT a_pkey PRIMARY KEY (id);
    CREATE INDEX a_idx ON public.a USING btree (id);
    CREATE UNIQUE INDEX b_idx ON ONLY public.b USING btree (id);
    ALTER TABLE ONLY public.b
        ADD CONSTRAINT b_fk FOREIGN KEY (id) REFERENCES public.a(id);
    \\unrestrict abc

    """

    @Test func preDataAndDataPassPostDataIsKeptAside() throws {
        let splitter = PostDataSplitter(DataSource(Data(dump.utf8)))
        var passed = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 7, alignment: 1)  // tiny reads on purpose
        defer { buffer.deallocate() }
        while true {
            let n = try splitter.read(into: buffer)
            if n == 0 { break }
            passed.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        let text = String(decoding: passed, as: UTF8.self)
        #expect(text.contains("SET DEFAULT 1;"))               // pre-data ALTER TABLE stays in the stream
        #expect(text.contains("CREATE INDEX not_an_index_just_data\n\\.\n"))  // data is never mistaken for SQL
        #expect(text.contains("setval"))
        #expect(!text.contains("ADD CONSTRAINT") && !text.contains("a_idx"))
        #expect(splitter.settings == ["SET statement_timeout = 0;", "SELECT pg_catalog.set_config('search_path', '', false);"])
        #expect(splitter.postData.count == 4)
        #expect(splitter.postData[0] == "ALTER TABLE ONLY public.a\n    ADD CONSTRAINT a_pkey PRIMARY KEY (id);")
        #expect(splitter.postData.map(PostDataRunner.table(of:)) == ["public.a", "public.a", "public.b", nil])
    }
}
