import Foundation

/// Backup file names: `synapse_db_YYYYMMDD_HHMMSS.sql.zst[.gpg]`, the legacy scripts' pattern
/// (`.sql.gz[.gpg]`) with zstd as another compression. mxbackup's timestamps are UTC.
///
/// A restore's safety backup of the live database is `synapse_db_safety_YYYYMMDD_HHMMSS…`: it is never
/// taken for a backup (it must not become what prune protects, what is pushed or what `latest` picks).
/// Nothing else in the directory is a backup: only names of exactly these forms are read or pruned.
public enum BackupName {
    public static let prefix = "synapse_db_"

    public enum Kind: String, Sendable, Codable {
        case backup
        /// The live database's content written by a restore before it replaced it.
        case safety
    }

    /// File endings of backups mxbackup reads, longest first.
    public static let suffixes = [".sql.zst.gpg", ".sql.gz.gpg", ".dump.gpg", ".sql.gpg", ".sql.zst", ".sql.gz", ".dump", ".sql"]

    static func namePrefix(_ kind: Kind) -> String { kind == .safety ? prefix + "safety_" : prefix }

    public static func make(date: Date, compression: Compression, encrypted: Bool, kind: Kind = .backup) -> String {
        namePrefix(kind) + stampFormatter(TimeZone(identifier: "UTC")!).string(from: date) + ".sql" + compression.fileExtension + (encrypted ? ".gpg" : "")
    }

    public struct Parsed: Sendable, Equatable {
        public var kind: Kind
        /// `YYYYMMDD_HHMMSS`
        public var stamp: String
        public var suffix: String
    }

    /// What a file name says, or nil when it is not a backup's name.
    public static func parse(_ name: String) -> Parsed? {
        for kind in [Kind.safety, .backup] where name.hasPrefix(namePrefix(kind)) {
            let rest = name.dropFirst(namePrefix(kind).count)
            let stamp = String(rest.prefix(15))
            guard stamp.wholeMatch(of: #/\d{8}_\d{6}/#) != nil,
                  let suffix = suffixes.first(where: { rest.dropFirst(15) == $0 }) else { return nil }
            return Parsed(kind: kind, stamp: stamp, suffix: suffix)
        }
        return nil
    }

    /// The suffix of a backup file name, or nil if it is not one.
    public static func suffix(of name: String) -> String? {
        suffixes.first { name.hasSuffix($0) && name.count > $0.count }
    }

    /// The path without its backup suffix (where `.manifest.json` is appended).
    public static func stem(of path: String) -> String {
        guard let suffix = suffix(of: path) else { return path }
        return String(path.dropLast(suffix.count))
    }

    /// The time in a `…YYYYMMDD_HHMMSS` name. The legacy scripts used local time.
    public static func date(in name: String, timeZone: TimeZone) -> Date? {
        guard let range = name.range(of: #"\d{8}_\d{6}"#, options: .regularExpression) else { return nil }
        return stampFormatter(timeZone).date(from: String(name[range]))
    }

    private static func stampFormatter(_ timeZone: TimeZone) -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        f.dateFormat = "yyyyMMdd_HHmmss"
        return f
    }
}
