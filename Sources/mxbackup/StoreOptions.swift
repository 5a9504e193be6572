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
    /// a stored backup by name ("latest" or nothing for the newest), or a Telegram message (link or id).
    func source(_ argument: String?, config: Configuration, console: Console) throws -> BackupSource {
        guard from != nil else {
            if let argument, argument != "latest" { return try .file(argument) }
            guard let newest = try BackupCatalog.scan(config.backupDirectory).entries.first else {
                throw MXError.refused("no backups in \(config.backupDirectory)")
            }
            return try .file(newest.path)
        }
        return try sources([argument ?? "latest"], config: config, console: console)[0]
    }

    /// Several backups of the store named by --from (names, "latest", Telegram messages), in the order
    /// given; with `all`, every backup kept there. The store's index is read once, and only if needed.
    func sources(_ arguments: [String], all: Bool = false, config: Configuration, console: Console) throws -> [BackupSource] {
        guard let from else { throw MXError.configuration("name the store with --from telegram") }
        let components = Components(config.settings)
        let store = try components.store(from, console: console, manifestMessageID: manifestMessage)
        var index: [StoredBackup]?
        func stored() throws -> [StoredBackup] {
            if let index { return index }
            index = try store.list()
            return index!
        }
        func kept() throws -> String { try stored().isEmpty ? "none" : stored().map(\.name).joined(separator: ", ") }
        var chosen = try all ? stored().map { BackupSource.store(store, label: from, name: $0.name, manifest: $0.manifest) } : []
        for argument in arguments {
            if from == "telegram", let link = TelegramMessageLink(argument) {
                chosen.append(try components.telegramMessage(link, console: console))
                continue
            }
            guard let backup = try argument == "latest" ? stored().first : stored().first(where: { $0.name == argument }) else {
                throw MXError.refused("\(store.description): no backup \(argument) (kept: \(try kept())); a backup the legacy script sent whole is named by its message link (t.me/c/CHAT/ID) or id")
            }
            chosen.append(.store(store, label: from, name: backup.name, manifest: backup.manifest))
        }
        return chosen
    }
}
