import ArgumentParser
import Foundation
import MXBackupKit

struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Restore a backup into a throwaway database, check it, time it, drop it; Synapse is never touched.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup file, or with --from the stored backup's name or a Telegram message link or id (default: the newest).")
    var file: String?

    @OptionGroup var store: StoreOptions

    @Flag(help: "The newest backup in the backup directory.")
    var latest = false

    @Option(help: "The throwaway database (default <db>_drill_<UTC time>); it must not exist.")
    var targetDb: String?

    @OptionGroup var passphrase: PassphraseOption

    @Flag(help: "Print the result as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            let config = try global.load(extra: try passphrase.values())
            let console = global.console
            try BackupDirectory.prepare(config.backupDirectory, console: console)
            let source = try store.source(latest ? nil : file, config: config, console: console)
            let path = source.name
            var options = RestoreOperation.Options(source: source)
            options.target = targetDb ?? DatabaseNames.name("drill", of: config.postgres.database, stamp: DatabaseNames.stamp())
            options.throwaway = true
            options.jobs = config.restoreJobs
            options.maxSchemaVersion = config.settings.synapse.maxSchemaVersion
            options.serverName = config.settings.synapse.serverName
            let restore = RestoreOperation(connection: config.postgres, gpg: config.gpg, passphrase: config.settings.gpg.passphrase,
                                           services: NoServices(), health: Components(config.settings).healthCheck, directory: config.backupDirectory,
                                           console: console, options: options)
            let timeline = RestoreOperation.Timeline()
            let result = DrillOperation(restore: restore).run(timeline: timeline)

            var record = AuditRecord.begin(operation: "drill", command: commandLineForRecords, file: path, strategy: "target-db", target: options.target)
            record.sha256 = result.sha256
            record.steps = result.steps
            record.outcome = result.ok ? "done" : "failed"
            record.error = result.reason
            do {
                try AuditLog.append(record, to: config.auditLog)
                try History.append(HistoryRecord(kind: .drill, file: path, sha256: result.sha256, ok: result.ok, reason: result.reason,
                                                 seconds: result.seconds, loadSeconds: result.steps.first { $0.name.hasPrefix("load") }?.seconds,
                                                 sqlBytes: result.sqlBytes), directory: config.backupDirectory)
            } catch { console.warn("audit/history: \(error)") }

            Components(config.settings).notifier(console: console).send(ok: result.ok, job: "drill",
                result.ok ? "\(path) restores and matches; took \(Format.duration(result.seconds))" : "\(path): \(result.reason ?? "unknown")")
            if json {
                try printJSON(result)
            } else {
                let width = result.steps.map(\.name.count).max() ?? 0
                for step in result.steps { Console.writeOut("  \(step.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(Format.duration(step.seconds))\n") }
                Console.writeOut(result.ok ? "drill OK: \(path) restores and matches the backup; total \(Format.duration(result.seconds)) (RTO for this size)\n"
                                           : "drill FAILED: \(result.reason ?? path)\n")
            }
            if !result.ok { throw ExitCode(1) }
        }
    }
}
