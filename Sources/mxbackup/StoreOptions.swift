import ArgumentParser
import Foundation
import MXBackupKit

/// `--from STORE` for the commands that read backups (restore, drill, list, fetch).
struct StoreOptions: ParsableArguments {
    @Option(help: "Read from this store instead of the backup directory: telegram.")
    var from: String?

    @Option(help: "Telegram: the message id of the newest manifest, when the pinned message is gone.")
    var manifestMessage: Int?

    /// The backup to read: a local file (FILE, or the newest in the backup directory), or, with --from,
    /// a stored backup by name ("latest" or nothing for the newest).
    func source(_ argument: String?, config: Configuration, console: Console) throws -> BackupSource {
        guard let from else {
            if let argument, argument != "latest" { return try .file(argument) }
            guard let newest = try BackupCatalog.scan(config.backupDirectory).entries.first else {
                throw MXError.refused("no backups in \(config.backupDirectory)")
            }
            return try .file(newest.path)
        }
        let store = try Components(config.settings).store(from, console: console, manifestMessageID: manifestMessage)
        let stored = try store.list()
        let name = argument ?? "latest"
        guard let backup = name == "latest" ? stored.first : stored.first(where: { $0.name == name }) else {
            throw MXError.refused("\(store.description): no backup \(name) (kept: \(stored.isEmpty ? "none" : stored.map(\.name).joined(separator: ", ")))")
        }
        return .store(store, label: from, name: backup.name, manifest: backup.manifest)
    }
}
