import Foundation

/// What a restore keeps beside the live data, each kept for `restore.safety_keep_hours`, then dropped by `prune`:
/// - databases: the previous live database (`<db>_pre_restore_<UTC>`), a restored copy Synapse rejected
///   (`<db>_failed_restore_<UTC>`), and the database a rollback replaced (`<db>_rolled_back_<UTC>`);
/// - schemas inside the live database: the `public` an in-place restore set aside (`public_pre_restore_<UTC>`),
///   and the `public` a rollback to it replaced (`public_rolled_back_<UTC>`). Backups leave these out.
public struct SafetyCopy: Sendable, Codable {
    public var name: String
    public var kind: String
    public var created: Date
    /// The database a schema copy lives in; nil for a whole database.
    public var schemaOf: String? = nil

    /// For messages: "database X" or "schema X in database Y".
    public var description: String {
        schemaOf.map { "schema \(name) in database \($0)" } ?? "database \(name)"
    }
}

public enum SafetyCopies {
    public static let kinds = ["pre_restore", "failed_restore", "rolled_back"]
    public static let schemaKinds = ["pre_restore", "rolled_back"]
    /// pg_dump `--exclude-schema` patterns of the schema copies.
    public static var schemaPatterns: [String] { schemaKinds.map { "public_\($0)_*" } }

    private static let utc = TimeZone(identifier: "UTC")!

    /// Newest first.
    public static func list(_ admin: DatabaseAdmin, live: String) throws -> [SafetyCopy] {
        var copies: [SafetyCopy] = []
        for kind in kinds {
            let prefix = DatabaseNames.prefix(kind, of: live)
            for name in try admin.databases(prefix: prefix) {
                guard let created = date(name, prefix: prefix) else { continue }
                copies.append(SafetyCopy(name: name, kind: kind, created: created))
            }
        }
        if try admin.exists(live) {
            let names = try PostgresClient(admin.connection).query("SELECT nspname FROM pg_namespace ORDER BY 1", database: live).map { $0[0] }
            for kind in schemaKinds {
                for name in names {
                    guard let created = date(name, prefix: "public_\(kind)_") else { continue }
                    copies.append(SafetyCopy(name: name, kind: kind, created: created, schemaOf: live))
                }
            }
        }
        return copies.sorted { $0.created > $1.created }
    }

    /// A restore's scratch databases (`<db>_restore_<UTC>`): while no restore runs, leftovers of one that was
    /// killed (during CREATE DATABASE, say) for `restore --resume-cleanup` to drop.
    public static func scratchDatabases(_ admin: DatabaseAdmin, live: String) throws -> [String] {
        let prefix = DatabaseNames.prefix("restore", of: live)
        return try admin.databases(prefix: prefix).filter { date($0, prefix: prefix) != nil }
    }

    public static func drop(_ copy: SafetyCopy, _ admin: DatabaseAdmin) throws {
        guard let database = copy.schemaOf else { return try admin.drop(copy.name) }
        _ = try PostgresClient(admin.connection).query("DROP SCHEMA IF EXISTS \(SQL.identifier(copy.name)) CASCADE", database: database)
    }

    /// The UTC time of a name that is `prefix` + `YYYYMMDD_HHMMSS` exactly.
    private static func date(_ name: String, prefix: String) -> Date? {
        guard name.hasPrefix(prefix) else { return nil }
        let stamp = String(name.dropFirst(prefix.count))
        guard stamp.wholeMatch(of: #/\d{8}_\d{6}/#) != nil else { return nil }
        return BackupName.date(in: stamp, timeZone: utc)
    }
}
