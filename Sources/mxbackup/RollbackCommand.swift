import ArgumentParser
import Foundation
import MXBackupKit

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Bring the newest safety copy back: database <db>_pre_restore_*, or schema public_pre_restore_* (in-place).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Service control for this run: \(listed(Settings.Services.Kind.self)) (services.kind).")
    var services: String?

    @Flag(help: "Show what would be swapped; change nothing.")
    var dryRun = false

    @Flag(help: "Do not ask for the database name.")
    var yes = false

    func run() throws {
        try perform {
            var extra: [ConfigFlag] = []
            if let services { extra.append(ConfigFlag("--services", "services.kind", .string(services))) }
            let config = try global.load(extra: extra)
            try BackupDirectory.prepare(config.backupDirectory, console: global.console)
            let lock = try OperationLock(directory: config.backupDirectory, connection: config.postgres, command: commandLineForRecords)
            defer { lock.release() }
            let operation = RollbackOperation(connection: config.postgres, services: try Components(config.settings).services(), health: Components(config.settings).healthCheck, directory: config.backupDirectory)
            var record = AuditRecord.begin(operation: "rollback", command: commandLineForRecords, target: config.postgres.database)
            let timeline = RestoreOperation.Timeline()
            func audit(_ outcome: String, _ error: String? = nil) {
                record.outcome = outcome
                record.error = error
                record.steps = timeline.steps
                do { try AuditLog.append(record, to: config.auditLog) } catch { global.console.warn("audit log: \(error)") }
            }
            do {
                let copy = try operation.candidate()
                record.file = copy.name
                let live = config.postgres.database
                Console.writeOut(operation.plan(copy) + "\n")
                if dryRun { audit("dry-run"); return }
                if !yes {
                    guard isatty(STDIN_FILENO) == 1 else { throw MXError.refused("rollback replaces database \(live) and no terminal is attached to confirm: pass --yes") }
                    Console.writeErr("Type the database name to continue: ")
                    guard readLine()?.trimmingCharacters(in: .whitespaces) == live else { throw MXError.refused("confirmation did not match '\(live)': nothing was changed") }
                }
                let result = try operation.run(copy, timeline: timeline)
                record.downtimeSeconds = result.downtime
                audit("done")
                Components(config.settings).notifier(console: global.console).send(ok: true, job: "rollback", "\(copy.description) is live again; downtime \(Format.duration(result.downtime))")
                Console.writeOut("rolled back: \(copy.description) is live again in \(live); downtime \(Format.duration(result.downtime)); health: \(result.health)\n")
            } catch let error as MXError {
                audit(timeline.rolledBack ? "rolled-back" : (timeline.steps.isEmpty ? "refused" : "failed"), error.message)
                if !timeline.steps.isEmpty { Components(config.settings).notifier(console: global.console).send(ok: false, job: "rollback", error.message) }
                throw error
            }
        }
    }
}
