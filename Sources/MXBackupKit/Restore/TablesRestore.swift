import Foundation

/// `--tables`: replace just these tables' rows, in one transaction, while Synapse keeps running. It
/// writes no state file: the transaction is all or nothing and services are never stopped.
struct TablesRestore: RestoreStrategy {
    static let kind = RestoreState.Strategy.tables
    let operation: RestoreOperation
    let tables: Set<String>

    func run(_ plan: RestorePlan, timeline: RestoreOperation.Timeline) throws -> RestoreReport {
        let op = operation
        let names = tables.sorted().map(SQL.qualified).joined(separator: ", ")
        // The dump's COPY blocks come in name order, not in foreign-key order (per_user_experimental_features
        // before users): the keys between these tables are dropped for the load and added back before the
        // commit, which checks every row against them, in the same transaction.
        let keys = try foreignKeys(among: tables)
        let drop = keys.map { "ALTER TABLE \($0.table) DROP CONSTRAINT \($0.name);\n" }.joined()
        let addBack = keys.map { "ALTER TABLE \($0.table) ADD CONSTRAINT \($0.name) \($0.definition);\n" }.joined()
        do {
            try op.stream(op.options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                          into: plan.live, tables: tables, preamble: drop + "TRUNCATE \(names);\n",
                          postamble: addBack + RestoreCheck.sql(for: plan.inspection, tables: tables), singleTransaction: true,
                          step: "replace the rows of \(tables.sorted().joined(separator: ", "))", timeline: timeline)
        } catch {
            throw op.failure(error) { "the transaction was rolled back: \(plan.live) is as it was" }
        }
        Interrupts.shared.critical {
            do { _ = try PostgresClient(op.connection).query("ANALYZE \(names)") } catch {
                op.console.warn("ANALYZE \(names) failed (\(reason(error))): the rows are restored; run it later")
            }
        }
        return op.report(plan, database: plan.live, timeline: timeline, downtime: nil,
                         health: "not checked (Synapse kept running)", safetyCopy: nil)
    }

    /// Foreign keys from one of `tables` to one of `tables`: (quoted table, quoted name, definition).
    private func foreignKeys(among tables: Set<String>) throws -> [(table: String, name: String, definition: String)] {
        let named = tables.sorted().map { SQL.literal(SQL.qualified($0)) }.joined(separator: ", ")
        let set = "(SELECT to_regclass(t) FROM unnest(ARRAY[\(named)]::text[]) t)"
        return try PostgresClient(operation.connection).query("""
            SELECT format('%I.%I', n.nspname, r.relname), quote_ident(c.conname), pg_get_constraintdef(c.oid)
            FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE c.contype = 'f' AND c.conrelid IN \(set) AND c.confrelid IN \(set) ORDER BY 1, 2
            """).map { (table: $0[0], name: $0[1], definition: $0[2]) }
    }

    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        ["a --tables restore is one transaction: nothing to finish"]
    }
}
