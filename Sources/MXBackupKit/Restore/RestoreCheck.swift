import Foundation

/// The check that a loaded database holds exactly what the backup held: statements that raise an error on
/// the first difference, run after a load, or inside the load's transaction so that a mismatch rolls it back.
public enum RestoreCheck {
    /// All checks as one statement (for a load in one transaction).
    /// - Parameter tables: which tables to count (all of the dump's by default).
    public static func sql(for inspection: BackupInspection, tables: Set<String>? = nil) -> String {
        let body = inspection.tableRows.sorted(by: { $0.key < $1.key }).filter { tables?.contains($0.key) ?? true }
            .map { rowCheck($0.key, rows: $0.value) }.joined() + (tables == nil ? databaseChecks(inspection) : "")
        return block(body)
    }

    /// After a load into a database nobody uses yet, as independent statements that can run on several
    /// sessions at once, biggest table first: each table's row count checked, then its statistics
    /// gathered (ANALYZE); one-time keys emptied (Synapse's advice: they would be handed out twice).
    public static func statements(for inspection: BackupInspection) -> [String] {
        let perTable = inspection.tableRows.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { table, rows in
            block(rowCheck(table, rows: rows)) + (table == oneTimeKeys ? "TRUNCATE \(SQL.qualified(table));\n" : "")
                + "ANALYZE \(SQL.qualified(table));\n"
        }
        let database = databaseChecks(inspection)
        return perTable + (database.isEmpty ? [] : [block(database)])
    }

    /// Synapse's advice: one-time keys must not come back (they would be handed out twice).
    public static func emptyOneTimeKeys(_ inspection: BackupInspection) -> String {
        inspection.tableRows[oneTimeKeys] == nil ? "" : "TRUNCATE public.e2e_one_time_keys_json;\n"
    }

    private static let oneTimeKeys = "public.e2e_one_time_keys_json"

    private static func rowCheck(_ table: String, rows: Int64) -> String {
        let q = SQL.qualified(table)
        return "  IF (SELECT count(*) FROM \(q)) <> \(rows) THEN RAISE EXCEPTION 'after the load % has % rows, the backup has \(rows)', \(SQL.literal(table)), (SELECT count(*) FROM \(q)); END IF;\n"
    }

    private static func databaseChecks(_ inspection: BackupInspection) -> String {
        var body = ""
        if let expected = inspection.maxStreamOrdering {
            body += "  IF (SELECT max(stream_ordering) FROM public.events) IS DISTINCT FROM \(expected) THEN RAISE EXCEPTION 'after the load max(events.stream_ordering) is %, the backup has \(expected)', (SELECT max(stream_ordering) FROM public.events); END IF;\n"
        }
        if let expected = inspection.schemaVersion {
            body += "  IF (SELECT version FROM public.schema_version) IS DISTINCT FROM \(expected) THEN RAISE EXCEPTION 'after the load schema_version is %, the backup has \(expected)', (SELECT version FROM public.schema_version); END IF;\n"
        }
        return body
    }

    private static func block(_ body: String) -> String {
        body.isEmpty ? "" : "DO $mxbackup_check$ BEGIN\n\(body)END $mxbackup_check$;\n"
    }
}
