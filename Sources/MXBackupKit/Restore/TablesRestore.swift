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
        do {
            try op.stream(op.options.source, expectedSHA256: plan.inspection.sha256, sqlBytes: plan.inspection.sqlBytes,
                          into: plan.live, tables: tables, preamble: "TRUNCATE \(names);\n",
                          postamble: RestoreCheck.sql(for: plan.inspection, tables: tables), singleTransaction: true,
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

    static func resumeCleanup(from state: RestoreState, _ cleanup: RestoreCleanup) throws -> [String] {
        ["a --tables restore is one transaction: nothing to finish"]
    }
}
