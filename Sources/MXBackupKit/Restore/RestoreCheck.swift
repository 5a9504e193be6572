import Foundation

/// The check that a loaded database holds exactly what the backup held, as one SQL statement that
/// raises an error on the first difference: run after a load, or inside the load's transaction so that
/// a mismatch rolls it back.
public enum RestoreCheck {
    /// - Parameter tables: which tables to count (all of the dump's by default).
    public static func sql(for inspection: BackupInspection, tables: Set<String>? = nil) -> String {
        var body = ""
        for (table, rows) in inspection.tableRows.sorted(by: { $0.key < $1.key }) where tables?.contains(table) ?? true {
            let q = SQL.qualified(table)
            body += "  IF (SELECT count(*) FROM \(q)) <> \(rows) THEN RAISE EXCEPTION 'after the load % has % rows, the backup has \(rows)', \(SQL.literal(table)), (SELECT count(*) FROM \(q)); END IF;\n"
        }
        if tables == nil, let expected = inspection.maxStreamOrdering {
            body += "  IF (SELECT max(stream_ordering) FROM public.events) IS DISTINCT FROM \(expected) THEN RAISE EXCEPTION 'after the load max(events.stream_ordering) is %, the backup has \(expected)', (SELECT max(stream_ordering) FROM public.events); END IF;\n"
        }
        if tables == nil, let expected = inspection.schemaVersion {
            body += "  IF (SELECT version FROM public.schema_version) IS DISTINCT FROM \(expected) THEN RAISE EXCEPTION 'after the load schema_version is %, the backup has \(expected)', (SELECT version FROM public.schema_version); END IF;\n"
        }
        return body.isEmpty ? "" : "DO $mxbackup_check$ BEGIN\n\(body)END $mxbackup_check$;\n"
    }

    /// Synapse's advice: one-time keys must not come back (they would be handed out twice).
    public static func emptyOneTimeKeys(_ inspection: BackupInspection) -> String {
        inspection.tableRows["public.e2e_one_time_keys_json"] == nil ? "" : "TRUNCATE public.e2e_one_time_keys_json;\n"
    }
}
