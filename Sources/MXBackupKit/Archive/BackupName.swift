import Foundation

/// Backup file names: `synapse_db_YYYYMMDD_HHMMSS.sql.zst[.gpg]`, the legacy scripts' pattern
/// (`.sql.gz[.gpg]`) with zstd as another compression. mxbackup's timestamps are UTC.
public enum BackupName {
    public static let prefix = "synapse_db_"

    /// File endings of backups mxbackup reads, longest first.
    public static let suffixes = [".sql.zst.gpg", ".sql.gz.gpg", ".dump.gpg", ".sql.gpg", ".sql.zst", ".sql.gz", ".dump", ".sql"]

    public static func make(date: Date, compression: Compression, encrypted: Bool) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd_HHmmss"
        return prefix + f.string(from: date) + ".sql" + compression.fileExtension + (encrypted ? ".gpg" : "")
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

    /// The time in a `synapse_db_YYYYMMDD_HHMMSS` name. The legacy scripts used local time.
    public static func date(in name: String, timeZone: TimeZone) -> Date? {
        guard let range = name.range(of: #"\d{8}_\d{6}"#, options: .regularExpression) else { return nil }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        f.dateFormat = "yyyyMMdd_HHmmss"
        return f.date(from: String(name[range]))
    }
}
