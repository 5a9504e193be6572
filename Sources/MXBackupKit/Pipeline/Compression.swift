/// The compression of a backup file, detected from its first bytes when reading.
public enum Compression: String, Sendable, Codable, CaseIterable {
    case zstd, gzip, none

    public var fileExtension: String {
        switch self {
        case .zstd: return ".zst"
        case .gzip: return ".gz"
        case .none: return ""
        }
    }

    public var defaultLevel: Int {
        switch self {
        // Measured (docs/benchmark.md): on Synapse's data level 1 is 25 % faster than 3 and no larger;
        // the nightly backup competes with Synapse for the CPU.
        case .zstd: return 1
        case .gzip: return 6
        case .none: return 0
        }
    }

    /// A compressing stage in front of `downstream`.
    public func encoder(level: Int?, threads: Int, downstream: ByteSink) throws -> ByteSink {
        switch self {
        case .zstd: return try ZstdEncoder(level: level ?? defaultLevel, threads: threads, downstream: downstream)
        case .gzip: return try GzipEncoder(level: level ?? defaultLevel, downstream: downstream)
        case .none: return downstream
        }
    }
}
