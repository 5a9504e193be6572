import Foundation

extension RestoreOperation {
    /// `--tables`: replace just these tables' rows, in one transaction, while Synapse keeps running.
    func restoreTables(_ plan: RestorePlan, tables: Set<String>, timeline: Timeline) throws -> RestoreReport {
        let names = tables.sorted().map(SQL.qualified).joined(separator: ", ")
        do {
            try stream(options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                       into: plan.live, tables: tables, preamble: "TRUNCATE \(names);\n",
                       postamble: RestoreCheck.sql(for: plan.inspection, tables: tables), singleTransaction: true,
                       step: "replace the rows of \(tables.sorted().joined(separator: ", "))", timeline: timeline)
            _ = try PostgresClient(connection).query("ANALYZE \(names)")
        } catch {
            throw loadFailure(error, whatWasLeft: "the transaction was rolled back: \(plan.live) is as it was") {}
        }
        return try report(plan, database: plan.live, timeline: timeline, downtime: nil,
                          health: "not checked (Synapse kept running)", safetyCopy: nil)
    }
}
