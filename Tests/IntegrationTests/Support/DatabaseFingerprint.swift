import Foundation
import MXBackupKit

/// What "a database's content" means to the fault-injection suite: every public table's row count and
/// content hash, its indexes and constraints (TestCluster.contentChecksums), and the set of schemas.
/// UTC stamps in schema names are replaced by `<stamp>`, so runs at different times compare equal.
struct DatabaseFingerprint: Equatable, Sendable {
    var tables: [String: String]
    var schemas: [String]

    /// Nil when the database does not exist.
    static func of(_ database: String, in cluster: TestCluster = .shared) throws -> DatabaseFingerprint? {
        guard try !cluster.superuser("SELECT 1 FROM pg_database WHERE datname = \(SQL.literal(database))").isEmpty else { return nil }
        let schemas = try cluster.superuser(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
            database: database).map { withoutStamps($0[0]) }
        return DatabaseFingerprint(tables: try cluster.contentChecksums(database: database), schemas: schemas)
    }

    /// The tables (and schema set) in which two fingerprints differ, with the row counts of each side.
    func difference(from other: DatabaseFingerprint?) -> String {
        guard let other else { return "database absent" }
        var lines = Set(tables.keys).union(other.tables.keys).sorted().filter { tables[$0] != other.tables[$0] }.map {
            $0.hasPrefix("(") ? "\($0) differ" : "\($0): \(Self.rows(other.tables[$0])) → \(Self.rows(tables[$0]))"
        }
        if schemas != other.schemas { lines.append("schemas \(other.schemas) → \(schemas)") }
        return lines.joined(separator: "; ")
    }

    private static func rows(_ checksum: String?) -> String {
        guard let checksum else { return "absent" }
        return checksum.split(separator: ":").first.map { "\($0) rows" } ?? "?"
    }
}

/// `name` with every UTC stamp (`YYYYMMDD_HHMMSS`) replaced by `<stamp>`.
func withoutStamps(_ name: String) -> String {
    name.replacingOccurrences(of: "[0-9]{8}_[0-9]{6}", with: "<stamp>", options: .regularExpression)
}
