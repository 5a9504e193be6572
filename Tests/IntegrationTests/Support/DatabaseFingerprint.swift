import Foundation
import MXBackupKit

/// What "a database's content" means to the fault-injection suite: every public table's row count and
/// content hash, its indexes and constraints (as TestCluster.contentChecksums), and the set of schemas.
/// UTC stamps in schema names are replaced by `<stamp>`, so runs at different times compare equal, and
/// how many parked `public_pre_restore_<stamp>` safety copies there are does not count (a second in-place
/// restore parks another).
struct DatabaseFingerprint: Equatable, Sendable {
    var tables: [String: String]
    var schemas: [String]

    /// Nil when the database does not exist. One query (table hashes through query_to_xml): the matrix
    /// takes several fingerprints per case.
    static func of(_ database: String, in cluster: TestCluster = .shared) throws -> DatabaseFingerprint? {
        guard try !cluster.superuser("SELECT 1 FROM pg_database WHERE datname = \(SQL.literal(database))").isEmpty else { return nil }
        let rows = try cluster.superuser(#"""
            SELECT 't', tablename, (xpath('/row/c/text()', query_to_xml(format(
                'SELECT count(*) || '':'' || coalesce(md5(string_agg(t::text, E''\n'' ORDER BY t::text)), '''') AS c FROM public.%I t', tablename),
                false, true, '')))[1]::text FROM pg_tables WHERE schemaname = 'public'
            UNION ALL SELECT 't', '(indexes)', md5(coalesce(string_agg(indexdef, E'\n' ORDER BY indexdef), '')) FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL SELECT 't', '(constraints)', md5(coalesce(string_agg(conrelid::regclass || ' ' || pg_get_constraintdef(oid), E'\n'
                ORDER BY conrelid::regclass::text, pg_get_constraintdef(oid)), '')) FROM pg_constraint WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'public')
            UNION ALL SELECT 's', nspname, '' FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
            """#, database: database)
        var tables: [String: String] = [:]
        for row in rows where row[0] == "t" { tables[row[1]] = row[2] }
        return DatabaseFingerprint(tables: tables, schemas: Set(rows.filter { $0[0] == "s" }.map { withoutStamps($0[1]) }).sorted())
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
