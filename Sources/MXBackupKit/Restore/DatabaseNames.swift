import Foundation

/// The one place that names the databases mxbackup creates beside the live one: `<db>_<kind>_<UTC stamp>`
/// (kinds: `restore` for a scratch database, `pre_restore`, `failed_restore`, `rolled_back`, `drill`).
/// PostgreSQL cuts names at 63 bytes, which would make every lookup by exact name or by prefix miss them;
/// so when the whole would not fit, the database part is shortened and a short hash of the full database
/// name keeps the copies of two long, similar names apart. Every lookup goes through `prefix`.
public enum DatabaseNames {
    public static let maximumBytes = 63
    /// `yyyyMMdd_HHmmss`, as `stamp()` makes it.
    static let stampBytes = 15

    public static func name(_ kind: String, of live: String, stamp: String) -> String {
        prefix(kind, of: live) + stamp
    }

    /// What every name of this kind for this database starts with (the stamp follows).
    public static func prefix(_ kind: String, of live: String) -> String {
        let suffix = "_\(kind)_"
        let room = maximumBytes - stampBytes - suffix.utf8.count
        guard live.utf8.count > room else { return live + suffix }
        let hash = String(SHA256Hasher.hex(of: Data(live.utf8)).prefix(6))
        var short = ""
        for character in live {
            guard short.utf8.count + character.utf8.count <= room - hash.count - 1 else { break }
            short.append(character)
        }
        return short + "_" + hash + suffix
    }

    /// The UTC time as the names carry it.
    public static func stamp(_ date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd_HHmmss"
        return f.string(from: date)
    }
}
