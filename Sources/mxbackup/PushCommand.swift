import ArgumentParser
import Foundation
import MXBackupKit

struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Copy a backup (with its manifest) to an offsite store; an interrupted push resumes.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup file (default: the newest in the backup directory).")
    var file: String?

    @Option(help: "The store: telegram.")
    var to = "telegram"

    func run() throws {
        try perform {
            let config = try global.load()
            let console = global.console
            let notifier = Components(config.settings).notifier(console: console)
            let path = try file ?? {
                guard let newest = try BackupCatalog.scan(config.backupDirectory).entries.first else {
                    throw MXError.refused("no backups in \(config.backupDirectory) to push")
                }
                return newest.path
            }()
            do {
                let seconds = try Self.push(path, to: to, config: config, console: console)
                notifier.send(ok: true, job: "push", "\((path as NSString).lastPathComponent) copied to \(to) in \(Format.duration(seconds))")
            } catch let error as MXError {
                notifier.send(ok: false, job: "push", error.message)
                throw error
            }
        }
    }

    /// Shared with `backup` (offsite copies right after the backup).
    static func push(_ path: String, to name: String, config: Configuration, console: Console) throws -> Double {
        let manifestPath = Manifest.path(forBackup: path)
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw MXError.refused("\(path) has no manifest (a legacy file): only backups made by mxbackup are pushed, so that they can be checked when they come back")
        }
        let manifest = try Manifest.read(manifestPath)
        // prune must not delete the file while it is read; prune works only in the backup directory, so a
        // file elsewhere (another machine's directory, a copy) needs no lock, and that directory may not exist.
        let inBackupDirectory = BackupDirectory.holds(path, directory: config.backupDirectory)
        let lock = inBackupDirectory
            ? try OperationLock(directory: config.backupDirectory, connection: config.postgres, command: commandLineForRecords, databaseLock: false)
            : nil
        defer { lock?.release() }
        let store = try Components(config.settings).store(name, console: console)
        let started = Date()
        console.info("pushing \(path) (\(Format.bytes(manifest.file.size))) to \(store.description)")
        try store.put(path: path, manifest: manifest)
        let seconds = Date().timeIntervalSince(started)
        console.info("pushed \(manifest.file.name) to \(store.description) in \(Format.duration(seconds))")
        return seconds
    }
}
