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
    }

    public var inspection: BackupInspection
    public var checks: [Check]
    public var live: String
    public var liveExists: Bool
    /// Clone mode (`--target-db`): the backup goes into this new database; services and the live database are untouched.
    public var target: String?
    public var scratch: String
    public var parked: String
    public var owner: String
    public var services: String

    public var failures: [Check] { checks.filter { !$0.ok } }

    /// The checklist in the order of the guide it replaces: pre, during, post, cleanup.
    public func checklist(dumpSeconds: Double?) -> String {
        var out = "Restore plan for \(inspection.path)\n\nPRE (checked now, nothing changed yet):\n"
        for check in checks { out += "  [\(check.ok ? "ok" : "FAILED")] \(check.name): \(check.detail)\n" }
        out += "\nDURING:\n"
        if let target {
            out += "  1. create database \(target) (UTF8, C, C, template0, owner \(owner))\n"
            out += "  2. load \(Format.bytes(inspection.sqlBytes)) of SQL into it, errors fatal, as \(owner)\n"
            out += "  3. empty e2e_one_time_keys_json, ANALYZE, compare row counts with the backup\n"
            out += "  (services and the live database \(live) are not touched)\n"
        } else {
            out += "  1. create scratch database \(scratch) (UTF8, C, C, template0, owner \(owner)); Synapse keeps serving\n"
            out += "  2. load \(Format.bytes(inspection.sqlBytes)) of SQL into it, errors fatal, as \(owner)\n"
            out += "  3. empty e2e_one_time_keys_json, ANALYZE, compare row counts, max stream_ordering, schema version\n"
            out += "  4. stop Synapse (\(services))                         <- downtime starts\n"
            out += "  5. end remaining sessions on \(live)\n"
            out += "  6. rename \(live) -> \(parked) and \(scratch) -> \(live) (one transaction)\n"
            out += "  7. start Synapse's main process, wait for /health, start the workers   <- downtime ends\n"
            out += "     if Synapse is not healthy in time: stop, rename back, start, confirm healthy\n"
        }
        out += "\nPOST:\n  report users, rooms, events, database size, health; audit log record\n"
        out += "\nCLEANUP:\n"
        out += target == nil ? "  the previous database stays as \(parked) for rollback; drop it once satisfied\n"
                             : "  drop \(target!) when no longer needed\n"
        out += "\nExpected: loading \(Format.bytes(inspection.sqlBytes)) of SQL; "
        out += dumpSeconds.map { "the read of the backup took \(Format.duration($0)); " } ?? ""
        out += "no drill history yet for a better estimate. Downtime: stop + rename + start only (seconds).\n"
        return out
    }
}
