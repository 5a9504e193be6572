import Foundation
@testable import MXBackupKit

/// The decoders and parsers that a hostile backup, manifest or `.env` reaches, each as one entry point taking
/// any bytes. Of each, both fuzzers (FuzzTests here, the libFuzzer harness in fuzz/) require: it returns or
/// throws an MXError; it never crashes, never hangs. Built into the harness too, so nothing here may use Testing.
enum FuzzTarget: String, CaseIterable, Sendable {
    case gzip, zstd, scanner, layers, manifest, env

    /// Decoded output is read and thrown away up to this much: a small input may expand a thousandfold.
    static let outputLimit = 64 << 20

    func run(_ input: Data) throws {
        let input = Data(input)  // indices from 0, whatever slice the fuzzer passes
        // The chunking varies with the input, so chunk boundaries fall everywhere, reproducibly.
        let step = 1 + input.count % 4093
        switch self {
        case .gzip: try Self.drain(GzipDecoder(MemorySource(input, step: step), name: "fuzz.sql.gz"))
        case .zstd: try Self.drain(ZstdDecoder(MemorySource(input, step: step), name: "fuzz.sql.zst"))
        case .scanner:
            let scanner = DumpScanner()
            do {
                try input.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let n = min(step, bytes.count - offset)
                        try scanner.scan(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
                        offset += n
                    }
                }
                try scanner.finish()
            } catch let refusal as PsqlScript.Refusal {
                throw PsqlScript.refused("fuzz.sql", refusal)
            }
            // `--tables` reads the same dump through the table filter.
            try Self.drain(TableDataFilter(MemorySource(input, step: step), tables: ["public.users", "public.events"], name: "fuzz"))
        case .layers:
            // The gpg and pg_restore layers are other programs: here they cannot start, which must be a refusal too.
            let source = BackupSource(name: "fuzz.backup", manifest: nil) { (MemorySource(input, step: step), Int64(input.count)) }
            let reader = try BackupReader(source: source, gpg: GPG(program: "/nonexistent/gpg"), passphrase: nil,
                                          connection: PostgresConnection(user: "fuzz", database: "fuzz", binDir: "/nonexistent"))
            try Self.drain(reader)
        case .manifest:
            let path = NSTemporaryDirectory() + "/mxbackup-fuzz-\(UUID().uuidString).manifest.json"
            defer { unlink(path) }
            try input.write(to: URL(fileURLWithPath: path))
            _ = try Manifest.read(path)
        case .env:
            _ = try LegacyEnvFile.parse(String(decoding: input, as: UTF8.self), path: "fuzz.env", loose: false)
        }
    }

    /// Valid inputs to start mutating from.
    func seeds() throws -> [Data] {
        let dump = Data(Self.sampleDump.utf8)
        switch self {
        case .gzip:
            let packed = try compress(dump, .gzip)
            return [packed, packed + packed, try compress(Data(), .gzip)]
        case .zstd:
            let packed = try compress(dump, .zstd)
            return [packed, packed + packed, try compress(Data(), .zstd)]
        case .scanner: return [dump]
        case .layers: return [dump, try compress(dump, .gzip), try compress(dump, .zstd), Data("PGDMP".utf8) + dump,
                              Data([0x85, 0x01, 0x0C]) + dump, Data("-----BEGIN PGP MESSAGE-----\n".utf8) + dump]
        case .manifest: return [try Self.sampleManifest.encoded()]
        case .env: return [Data(Self.sampleEnv.utf8), Data(Self.sampleEnv.replacingOccurrences(of: "\n", with: "\r\n").utf8)]
        }
    }

    private static func drain(_ source: ByteSource) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while total < outputLimit {
            let n = try source.read(into: buffer)
            if n == 0 { return }
            total += n
        }
    }

    /// A Synapse-shaped plain dump: every COPY the scanner watches, a filtered table, the completion line.
    static let sampleDump = """
    --
    -- PostgreSQL database dump
    --

    SET statement_timeout = 0;
    CREATE TABLE public.users (name text NOT NULL, creation_ts bigint);
    COPY public.users (name, creation_ts) FROM stdin;
    @alice:example.org\t1700000000
    @bob:example.org\t\\N
    \\.

    COPY public.events (topological_ordering, event_id, "stream_ordering", room_id) FROM stdin;
    1\t$a\t10\t!r:example.org
    2\t$b\t11\t!r:example.org
    \\.

    COPY public.schema_version (lock, version, upgraded) FROM stdin;
    X\t88\tt
    \\.

    COPY public.schema_compat_version (lock, compat_version) FROM stdin;
    X\t83
    \\.

    COPY "public"."state_groups_state" (state_group, room_id) FROM stdin;
    1\t!r:example.org
    \\.

    --
    -- PostgreSQL database dump complete
    --

    """

    static let sampleManifest = Manifest(
        manifestFormat: Manifest.currentFormat, mxbackupVersion: "1.0.0", createdAt: "2024-01-01T03:00:00Z", host: "fuzz",
        database: "synapse", serverVersion: "15.6", pgDumpVersion: "15.6", schemaVersion: 88, schemaCompatVersion: 83,
        serverName: "example.org", rowCounts: .init(users: 2, rooms: 1, events: 2, localMediaRepository: 0),
        tableRows: ["public.users": 2, "public.events": 2], maxStreamOrdering: 11, databaseSize: 8_000_000,
        dumpFormat: "plain", dumpSize: 1234, excludedTableData: [BackupOperation.oneTimeKeysTable], compression: "zstd",
        compressionLevel: 3, encryption: .init(mode: "recipients", recipients: ["0123456789ABCDEF0123456789ABCDEF01234567"]),
        file: .init(name: "synapse_db_20240101_030000.sql.zst.gpg", size: 4321, sha256: String(repeating: "ab", count: 32)))

    static let sampleEnv = """
    # the legacy scripts' .env
    POSTGRES_USER=synapse
    export POSTGRES_PASSWORD="a secret # not a comment"
    POSTGRES_DB='synapse'
    GPG_RECIPIENT=0123456789ABCDEF0123456789ABCDEF01234567, 89ABCDEF0123456789ABCDEF0123456789ABCDEF
    BACKUP_RETENTION_DAYS=7 # a week
    TELEGRAM_BOT_TOKEN=CHANGE_ME
    TELEGRAM_CHAT_ID=<chat id>
    SYNAPSE_SERVER_NAME=example.org

    """
}
