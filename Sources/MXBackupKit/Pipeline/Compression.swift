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
        case .zstd: return 3
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
