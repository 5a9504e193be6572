import Foundation
import MXBackupKit
import Testing

func message(_ body: () throws -> Void) -> String {
    do { try body(); return "no error" } catch { return "\(error)" }
}

@Suite struct StreamTests {
    let sample = Data((0..<20000).map { "line \($0) of a dump with some text\n" }.joined().utf8)

    @Test(arguments: [Compression.gzip, .zstd])
    func roundTrip(compression: Compression) throws {
        let packed = try compress(sample, compression)
        #expect(packed.count < sample.count / 4)
        let decoder: ByteSource = compression == .gzip ? try GzipDecoder(MemorySource(packed, step: 777), name: "f")
                                                       : try ZstdDecoder(MemorySource(packed, step: 777), name: "f")
        #expect(try readAll(decoder) == sample)
    }

    @Test(arguments: [Compression.gzip, .zstd])
    func truncatedStreamIsAnError(compression: Compression) throws {
        let packed = try compress(sample, compression)
        for cut in [1, 9, packed.count / 2] {
            let source = MemorySource(packed.prefix(packed.count - cut))
            let decoder: ByteSource = compression == .gzip ? try GzipDecoder(source, name: "f.gz") : try ZstdDecoder(source, name: "f.zst")
            #expect(message { _ = try readAll(decoder) }.contains("truncated"), "cut \(cut)")
        }
    }

    @Test func gzipTrailingGarbageIsAnErrorButConcatenatedMembersAreNot() throws {
        let packed = try compress(sample, .gzip)
        for garbage in [Data([0]), Data("garbage".utf8), Data(repeating: 0, count: 5000)] {
            #expect(message { _ = try readAll(GzipDecoder(MemorySource(packed + garbage), name: "f.gz")) }.contains("trailing garbage"))
        }
        #expect(try readAll(GzipDecoder(MemorySource(packed + packed), name: "f.gz")) == sample + sample)
    }

    @Test(arguments: [Compression.gzip, .zstd])
    func flippedByteIsAnError(compression: Compression) throws {
        var packed = try compress(sample, compression)
        packed[packed.count / 2] ^= 0x40
        let source = MemorySource(packed)
        let decoder: ByteSource = compression == .gzip ? try GzipDecoder(source, name: "f") : try ZstdDecoder(source, name: "f")
        #expect(message { _ = try readAll(decoder) }.contains("corrupt"))
    }

    @Test func gzipOutputIsReadByTheSystemGunzip() throws {
        let packed = try compress(sample, .gzip)
        let output = try ProcessRunner.run(ProcessSpec("gzip", ["-dc"]), input: packed)
        #expect(output.termination.succeeded)
        #expect(output.stdout == sample)
    }

    @Test func sha256MatchesTheKnownVector() throws {
        let hasher = SHA256Hasher()
        Data("abc".utf8).withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalize() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite struct DumpScannerTests {
    let dump = """
    --
    -- PostgreSQL database dump
    --
    \\restrict abc123

    CREATE TABLE public.events (stream_ordering bigint, event_id text);
    COPY public.events (topological_ordering, event_id, stream_ordering) FROM stdin;
    1\t$a\t7
    2\t$b\t42
    3\t$c\t\\N
    \\.

    COPY public.users (name, admin) FROM stdin;
    @alice:example.org\t1
    @bob:example.org\t0
    \\.

    COPY public."schema_version" (lock, version, upgraded) FROM stdin;
    X\t88\tt
    \\.

    COPY public.schema_compat_version (lock, compat_version) FROM stdin;
    X\t85
    \\.

    COPY public.empty (a) FROM stdin;
    \\.

    --
    -- PostgreSQL database dump complete
    --

    \\unrestrict abc123

    """

    private func scan(chunk: Int) throws -> DumpScanner {
        let scanner = DumpScanner()
        let bytes = Array(dump.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            try bytes[offset..<end].withUnsafeBytes { try scanner.scan($0) }
            offset = end
        }
        return scanner
    }

    @Test(arguments: [1, 2, 3, 7, 64, 100_000])
    func factsDoNotDependOnChunkBoundaries(chunk: Int) throws {
        let scanner = try scan(chunk: chunk)
        #expect(scanner.tableRows == ["public.events": 3, "public.users": 2, "public.schema_version": 1,
                                      "public.schema_compat_version": 1, "public.empty": 0])
        #expect(scanner.maxStreamOrdering == 42)
        #expect(scanner.schemaVersion == 88)
        #expect(scanner.schemaCompatVersion == 85)
        #expect(scanner.firstUserID == "@alice:example.org")
        #expect(scanner.complete)
        #expect(scanner.bytes == Int64(dump.utf8.count))
    }

    @Test func aCutDumpIsNotComplete() throws {
        let scanner = DumpScanner()
        try Array(dump.utf8.prefix(300)).withUnsafeBytes { try scanner.scan($0) }
        #expect(!scanner.complete)
    }
}
