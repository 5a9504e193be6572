import Foundation

/// What the operator reads after a restore (and `--json` prints).
public struct RestoreReport: Codable, Sendable {
    public var file: String
    public var sha256: String
    public var strategy: String
    public var database: String
    public var steps: [AuditRecord.Step]
    public var downtimeSeconds: Double?
    public var users: Int64
    public var rooms: Int64
    public var events: Int64
    public var databaseSize: Int64
    public var health: String
    /// The previous live database, kept for rollback.
    public var safetyCopy: String?
    public var rollback: String?
    /// What else the operator should know (a new server had no database before; the previous one was empty).
    public var note: String?

    public var text: String {
        var out = "Restore of \(file) into \(database) done.\n"
        let width = steps.map(\.name.count).max() ?? 0
        for step in steps { out += "  \(step.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(Format.duration(step.seconds))\n" }
        if let downtimeSeconds { out += "Downtime (Synapse stopped): \(Format.duration(downtimeSeconds))\n" }
        out += "Users \(users), rooms \(rooms), events \(events), database size \(Format.bytes(databaseSize)); health: \(health)\n"
        if let safetyCopy { out += "The previous database is kept as \(safetyCopy).\n" }
        if let rollback { out += "To roll back: \(rollback)\n" }
        if let note { out += note + "\n" }
        return out
    }
}
