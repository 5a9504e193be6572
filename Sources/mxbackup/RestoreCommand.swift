import ArgumentParser
import Foundation
import MXBackupKit

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup without risking the live database (scratch load, checks, then swap).",
        discussion: "Reads every backup mxbackup or the legacy scripts made (.sql, .sql.gz, .sql.zst, custom dumps, each optionally .gpg).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup file, or with --from the stored backup's name, 'latest', or a Telegram message link or id (a backup the legacy script sent whole).")
    var file: String?

    @OptionGroup var store: StoreOptions

    @Option(help: "Restore into this new database instead (clone/test); services and the live database are untouched.")
    var targetDb: String?

    @Option(help: "Role that owns the restored database and its objects (default: postgres.user).")
    var owner: String?

    @Option(help: "\(listed(RestoreOperation.Strategy.self)) (restore.strategy, default swap).")
    var strategy: String?

    @Option(help: ArgumentHelp("Replace only these tables' rows, in one transaction, Synapse running (comma-separated).", valueName: "T1,T2"))
    var tables: String?

    @Option(help: "Service control for this run: \(listed(Settings.Services.Kind.self)) (services.kind); none given here also allows a restore while Synapse is connected.")
    var services: String?

    @Option(help: "Sessions loading table data at once (restore.jobs; default one per core, at most 4).")
    var jobs: Int?

    @OptionGroup var passphrase: PassphraseOption

    @Flag(help: "Print the plan and every preflight result; change nothing.")
    var dryRun = false

    @Flag(help: "Do not ask for the database name before replacing it.")
    var yes = false

    @Flag(help: "Override the Synapse checks (schema compatibility, server_name).")
    var force = false

    @Flag(help: "The dump is not a Synapse database: skip the Synapse checks.")
    var notSynapse = false

    @Flag(help: "Clean up after an interrupted restore (scratch databases, stopped services) and exit.")
    var resumeCleanup = false

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            var extra: [ConfigFlag] = []
            if let services { extra.append(ConfigFlag("--services", "services.kind", .string(services))) }
            if let strategy { extra.append(ConfigFlag("--strategy", "restore.strategy", .string(strategy))) }
            if let jobs {
                guard jobs >= 1 else { throw MXError.configuration("--jobs: must be at least 1, got \(jobs)") }
                extra.append(ConfigFlag("--jobs", "restore.jobs", .int(jobs)))
            }
            extra += try passphrase.values()
            let config = try global.load(extra: extra)
            let console = global.console
            try BackupDirectory.prepare(config.backupDirectory, console: console)
            let lock = try OperationLock(directory: config.backupDirectory, connection: config.postgres, command: commandLineForRecords)
            defer { lock.release() }
            let serviceController = try Components(config.settings).services()
            var record = AuditRecord.begin(operation: resumeCleanup ? "restore-cleanup" : "restore", command: commandLineForRecords,
                                           file: file, strategy: tables != nil ? "tables" : targetDb != nil ? "target-db" : config.settings.restore.strategy.rawValue,
                                           target: targetDb ?? config.postgres.database)
            func audit(_ outcome: String, _ error: String? = nil, timeline: RestoreOperation.Timeline? = nil) {
                record.outcome = outcome
                record.error = error
                record.steps = timeline?.steps ?? []
                do { try AuditLog.append(record, to: config.auditLog) } catch { console.warn("audit log: \(error)") }
            }

            if resumeCleanup {
                let actions = try RestoreCleanup(connection: config.postgres, services: serviceController, health: Components(config.settings).healthCheck,
                                                 directory: config.backupDirectory, gpg: config.gpg, passphrase: config.settings.gpg.passphrase).run()
                actions.forEach { Console.writeOut($0 + "\n") }
                audit("cleaned-up", actions.joined(separator: "; "))
                return
            }
            guard file != nil || store.from != nil else { throw MXError.configuration("restore: give the backup FILE (or --from STORE [NAME], or --resume-cleanup)") }
            let source = try store.source(file, config: config, console: console)
            record.file = source.name
            var options = RestoreOperation.Options(source: source)
            options.target = targetDb
            options.owner = owner
            options.force = force
            options.notSynapse = notSynapse
            options.maxSchemaVersion = config.settings.synapse.maxSchemaVersion
            options.serverName = config.settings.synapse.serverName
            options.strategy = config.settings.restore.strategy
            options.jobs = config.restoreJobs
            options.servicesNoneExplicit = services == "none"
            options.tables = tables.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            if options.tables?.isEmpty == true { throw MXError.configuration("--tables: name at least one table") }
            // The safety backup of `recreate` is the live state, reloaded onto the same server if needed: all of it.
            var safetyOptions = BackupOperation.Options(config)
            safetyOptions.includeOneTimeKeys = true
            safetyOptions.kind = .safety
            let operation = RestoreOperation(connection: config.postgres, gpg: config.gpg, passphrase: config.settings.gpg.passphrase,
                                             services: serviceController, health: Components(config.settings).healthCheck,
                                             directory: config.backupDirectory, console: console, options: options,
                                             safetyBackup: BackupOperation(connection: config.postgres, gpg: config.gpg,
                                                                           options: safetyOptions, console: console),
                                             notices: Components(config.settings).serverNotices)
            let timeline = RestoreOperation.Timeline()
            let plan: RestorePlan
            do {
                plan = try operation.preflight(timeline: timeline)
                record.sha256 = plan.inspection.sha256
                if dryRun {
                    let readSeconds = timeline.steps.first { $0.name.hasPrefix("preflight: read") }?.seconds
                    let estimate = History.loadRate(History.read(directory: config.backupDirectory)).map { rate in
                        (restore: rate * Double(plan.inspection.sqlBytes),
                         downtime: AuditLog.read(config.auditLog).last { $0.operation == "restore" && $0.outcome == "done" && $0.strategy == "swap" }?.downtimeSeconds)
                    }
                    if json { try printJSON(plan.checks) } else { Console.writeOut(plan.checklist(dumpSeconds: readSeconds, estimate: estimate)) }
                    audit("dry-run", nil, timeline: timeline)
                    try operation.requireGreen(plan)
                    return
                }
                try operation.requireGreen(plan)
                if targetDb == nil && !yes { try confirm(plan, strategy: options.strategy) }
            } catch let error as MXError {
                audit(dryRun ? "dry-run" : "refused", error.message, timeline: timeline)
                throw error
            }
            do {
                let report = try operation.execute(plan, timeline: timeline)
                record.downtimeSeconds = report.downtimeSeconds
                audit("done", nil, timeline: timeline)
                Components(config.settings).notifier(console: console).send(ok: true, job: "restore",
                    "\(source.name) into \(report.database) (\(report.strategy)); downtime \(report.downtimeSeconds.map(Format.duration) ?? "none"); users \(report.users), rooms \(report.rooms), events \(report.events); health \(report.health)")
                if json { try printJSON(report) } else { Console.writeOut(report.text) }
                if let signal = Interrupts.shared.signal {
                    // The signal came when the restore could no longer stop half way: it was finished, and is reported as done.
                    console.warn("signal \(signal) arrived while the restore was committing: it was finished, not stopped" + (report.rollback.map { "; to undo it: \($0)" } ?? ""))
                }
            } catch let error as MXError {
                audit(timeline.rolledBack ? "rolled-back" : error.kind == .refused ? "refused" : "failed", error.message, timeline: timeline)
                Components(config.settings).notifier(console: console).send(ok: false, job: "restore", error.message)
                throw error
            }
        }
    }

    /// The operator types the database name, as for any destructive command they would run by hand.
    private func confirm(_ plan: RestorePlan, strategy: RestoreOperation.Strategy) throws {
        guard isatty(STDIN_FILENO) == 1 else {
            throw MXError.refused("restore replaces data in database \(plan.live) and no terminal is attached to confirm: pass --yes")
        }
        let what = plan.tables.map { "the rows of \($0.sorted().joined(separator: ", ")) in \(plan.live)" } ?? "database \(plan.live) (\(strategy.rawValue))"
        Console.writeErr("This replaces \(what) with \(plan.inspection.path).\nType the database name to continue: ")
        let answer = readLine()?.trimmingCharacters(in: .whitespaces)
        guard answer == plan.live else { throw MXError.refused("confirmation did not match '\(plan.live)': nothing was changed") }
    }
}
