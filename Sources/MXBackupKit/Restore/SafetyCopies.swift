import Foundation

/// Databases a restore keeps beside the live one: the previous live database (`<db>_pre_restore_<UTC>`),
/// a restored copy Synapse rejected (`<db>_failed_restore_<UTC>`), and the database a rollback replaced
/// (`<db>_rolled_back_<UTC>`). Kept for `restore.safety_keep_hours`, then dropped by `prune`.
public struct SafetyCopy: Sendable, Codable {
    public var name: String
    public var kind: String
    public var created: Date
}

public enum SafetyCopies {
    public static let kinds = ["pre_restore", "failed_restore", "rolled_back"]

    public static func list(_ admin: DatabaseAdmin, live: String) throws -> [SafetyCopy] {
        var copies: [SafetyCopy] = []
        for kind in kinds {
            let prefix = DatabaseNames.prefix(kind, of: live)
            for name in try admin.databases(prefix: prefix) {
                let stamp = String(name.dropFirst(prefix.count))
                guard let created = BackupName.date(in: stamp, timeZone: TimeZone(identifier: "UTC")!) else { continue }
                copies.append(SafetyCopy(name: name, kind: kind, created: created))
            }
        }
        return copies.sorted { $0.created > $1.created }
    }
}
