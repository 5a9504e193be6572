import Foundation

/// Everything the preflight found, before anything is touched: printed by `--dry-run`, executed by
/// `RestoreOperation`.
public struct RestorePlan: Sendable {
    public struct Check: Sendable, Codable {
        public var name: String
        public var ok: Bool
        public var detail: String
        /// A failed check that `--force` may override (a Synapse compatibility judgement, not a broken file).
        public var overridable: Bool
        /// False when nothing was proved (no data to check against, or left for the load): not a pass.
        public var checked: Bool
    }

    public var inspection: BackupInspection
    public var checks: [Check]
    public var live: String
    public var liveExists: Bool
    /// The live database has no tables at all: nothing to keep for rollback.
    public var liveEmpty: Bool
    /// Clone mode (`--target-db`): the backup goes into this new database; services and the live database are untouched.
    public var target: String?
    public var scratch: String
    public var parked: String
    /// swap: the name the restored database gets if Synapse rejects it.
    public var rejected: String
    public var owner: String
    public var services: String
    public var strategy: RestoreOperation.Strategy
    /// `--tables`: only these tables' rows are replaced.
    public var tables: Set<String>?
    /// in-place: the schema the old data is set aside in.
    public var parkedSchema: String

    public var failures: [Check] { checks.filter { !$0.ok } }

    /// The checklist in the order of the guide it replaces: pre, during, post, cleanup.
    /// - Parameter estimate: from the drill history: seconds a restore of this size is expected to take, and
    ///   the downtime of the last swap, when known.
    public func checklist(dumpSeconds: Double?, estimate: (restore: Double, downtime: Double?)?) -> String {
        var out = "Restore plan for \(inspection.path)\n\nPRE (checked now, nothing changed yet):\n"
        for check in checks { out += "  [\(!check.ok ? "FAILED" : check.checked ? "ok" : "not checked")] \(check.name): \(check.detail)\n" }
        out += "\nDURING:\n" + during().enumerated().map { "  \($0.offset + 1). \($0.element)\n" }.joined()
        out += "\nPOST:\n  report users, rooms, events, database size, health; audit log record\n"
        out += "\nCLEANUP:\n  \(cleanup)\n"
        out += "\nExpected: loading \(Format.bytes(inspection.sqlBytes)) of SQL; "
        out += dumpSeconds.map { "the read of the backup took \(Format.duration($0)); " } ?? ""
        if let estimate {
            out += "expected restore ≈ \(Format.duration(estimate.restore)) (from the drill history)"
            if tables == nil && target == nil {
                out += strategy == .swap ? ", downtime ≈ \(estimate.downtime.map(Format.duration) ?? "a few seconds") (stop + rename + start)"
                                         : ", downtime ≈ \(Format.duration(estimate.restore)) (Synapse is stopped during the load)"
            }
            out += ".\n"
        } else {
            out += "no drill history yet for an estimate ('mxbackup drill' records one). Downtime: \(downtime).\n"
        }
        return out
    }

    private var load: String { "load \(Format.bytes(inspection.sqlBytes)) of SQL, errors fatal, as \(owner)" }
    private var startSteps: [String] {
        ["start Synapse's main process, wait for /health, start the workers   <- downtime ends"]
    }

    private func during() -> [String] {
        if let tables {
            return ["in one transaction, while Synapse keeps running: empty \(tables.sorted().joined(separator: ", ")), load their rows from the backup, check the row counts, commit",
                    "nothing else is touched"]
        }
        if let target {
            return ["create database \(target) (UTF8, C, C, template0, owner \(owner))", load,
                    "check row counts, max stream_ordering, schema version; empty e2e_one_time_keys_json; ANALYZE",
                    "services and the live database \(live) are not touched"]
        }
        if !liveExists {
            return ["create database \(scratch) (UTF8, C, C, template0, owner \(owner))", load,
                    "check row counts, max stream_ordering, schema version; empty e2e_one_time_keys_json; ANALYZE",
                    "rename \(scratch) -> \(live) (there is no live database to set aside: a new server)"] + startSteps
        }
        switch strategy {
        case .swap:
            return ["create scratch database \(scratch) (UTF8, C, C, template0, owner \(owner)); Synapse keeps serving", load,
                    "check row counts, max stream_ordering, schema version; empty e2e_one_time_keys_json; ANALYZE",
                    "stop Synapse (\(services))   <- downtime starts", "end remaining sessions on \(live)",
                    "rename \(live) -> \(parked) and \(scratch) -> \(live) (one transaction)"] + startSteps
                + ["if Synapse is not healthy in time: stop, rename back, start, confirm healthy"]
        case .inPlace:
            return ["stop Synapse (\(services))   <- downtime starts", "end remaining sessions on \(live)",
                    "in one transaction: rename schema public -> \(parkedSchema), create schema public, \(load), check row counts, empty e2e_one_time_keys_json; commit",
                    "ANALYZE"] + startSteps
                + ["if Synapse is not healthy in time: stop, put schema \(parkedSchema) back as public, start"]
        case .recreate:
            return ["write a safety backup of \(live) with mxbackup's backup and verify its checksum",
                    "stop Synapse (\(services))   <- downtime starts", "end remaining sessions, DROP DATABASE \(live)",
                    "CREATE DATABASE \(live) (UTF8, C, C, template0, owner \(owner))", load,
                    "check row counts; empty e2e_one_time_keys_json; ANALYZE"] + startSteps
                + ["if the load, the check or the start fails: drop, create, reload the safety backup, start"]
        }
    }

    private var cleanup: String {
        if tables != nil { return "nothing to clean up" }
        if let target { return "drop \(target) when no longer needed" }
        if !liveExists { return "nothing: \(live) is the live database (the server had none before)" }
        switch strategy {
        case .swap where liveEmpty: return "the previous \(live) is empty: it is dropped once Synapse is healthy on the restored one"
        case .swap: return "the previous database stays as \(parked) for rollback ('mxbackup rollback'); prune drops it after restore.safety_keep_hours"
        case .inPlace: return "the previous data stays in schema \(parkedSchema) of \(live); drop it once satisfied: DROP SCHEMA \(parkedSchema) CASCADE"
        case .recreate: return "the safety backup stays in the backup directory; retention (prune) applies to it like any backup"
        }
    }

    private var downtime: String {
        if tables != nil || target != nil { return "none (Synapse is not stopped)" }
        if !liveExists { return "none (there was no database to serve)" }
        return strategy == .swap ? "stop + rename + start only (seconds)" : "the whole load (Synapse is stopped meanwhile)"
    }
}
