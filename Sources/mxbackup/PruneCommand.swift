import ArgumentParser
import Foundation
import MXBackupKit

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete backups the retention policy no longer keeps (never the newest verified one).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Keep what find -mtime +N -delete kept: delete at (N+1)x24h (retention.keep_days).") var keepDays: Int?
    @Option(help: "Keep the N newest backups (retention.keep_last).") var keepLast: Int?
    @Option(help: "Keep the newest backup of each of the last N days (retention.keep_daily).") var keepDaily: Int?
    @Option(help: "Keep the newest backup of each of the last N weeks (retention.keep_weekly).") var keepWeekly: Int?
    @Option(help: "Keep the newest backup of each of the last N months (retention.keep_monthly).") var keepMonthly: Int?

    @Flag(help: "Show what would be deleted; delete nothing.")
    var dryRun = false

    @Flag(help: "Print the decisions as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            var extra: [ConfigFlag] = []
            for (key, value) in [("keep_days", keepDays), ("keep_last", keepLast), ("keep_daily", keepDaily),
                                 ("keep_weekly", keepWeekly), ("keep_monthly", keepMonthly)] {
                if let value {
                    guard value >= 0 else { throw MXError.configuration("--\(key.replacingOccurrences(of: "_", with: "-")): must not be negative") }
                    extra.append(ConfigFlag("--\(key.replacingOccurrences(of: "_", with: "-"))", "retention.\(key)", .int(value)))
                }
            }
            let config = try global.load(extra: extra)
            let operation = PruneOperation(directory: config.backupDirectory, database: config.postgres.database, policy: config.retention,
                                           safetyKeepHours: config.settings.restore.safetyKeepHours,
                                           server: DatabaseAdmin(config.postgres), console: global.console)
            // Not while a backup, restore or rollback of this database runs: it may need what would go.
            if !dryRun { try BackupDirectory.prepare(config.backupDirectory, console: global.console) }
            let lock = dryRun ? nil : try OperationLock(directory: config.backupDirectory, connection: config.postgres, command: commandLineForRecords)
            defer { lock?.release() }
            let result = try operation.run(dryRun: dryRun)
            if json {
                try printJSON(PruneSummary(dryRun: dryRun, decisions: result.decisions, removedLeftovers: result.leftovers,
                                           droppedSafetyCopies: result.expiredCopies.map(\.name)))
                return
            }
            let verb = dryRun ? "would delete" : "deleted"
            for decision in result.decisions {
                let action = (decision.keep ? "keep" : verb).padding(toLength: 12, withPad: " ", startingAt: 0)
                let line = decision.keep ? "\(action) \(decision.path)  (\(decision.reasons.joined(separator: ", ")))"
                                         : "\(action) \(decision.path)"
                Console.writeOut(line + "\n")
            }
            for leftover in result.leftovers { Console.writeOut("\(verb) leftover \(leftover)\n") }
            for copy in result.expiredCopies {
                Console.writeOut("\(dryRun ? "would drop" : "dropped") \(copy.description) (safety copy from \(Format.localTime(copy.created)))\n")
            }
            let gone = result.decisions.filter { !$0.keep }
            Console.writeOut("\(gone.count) backups \(verb) (\(Format.bytes(gone.reduce(0) { $0 + $1.size }))), \(result.decisions.count - gone.count) kept\n")
        }
    }
}

struct PruneSummary: Encodable {
    var dryRun: Bool
    var decisions: [PruneOperation.Decision]
    var removedLeftovers: [String]
    var droppedSafetyCopies: [String]
}
