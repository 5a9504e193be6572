import ArgumentParser
import Foundation
import MXBackupKit

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Dump the database to a compressed, optionally encrypted file with a manifest.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "\(Settings.Backup.compressions.map(\.rawValue).joined(separator: ", ")) (backup.compression, default zstd; gzip gives the legacy .sql.gz).")
    var compression: String?

    @Option(help: "Compression level (backup.level, default 1 for zstd, 6 for gzip).")
    var level: Int?

    @Option(name: .customLong("encrypt-to"), help: ArgumentHelp("Encrypt to this GPG key (repeatable; gpg.recipients).", valueName: "FPR"))
    var encryptTo: [String] = []

    @OptionGroup var passphrase: PassphraseOption

    @Flag(help: "Also back up e2e_one_time_keys_json's rows (backup.include_one_time_keys, default off).")
    var includeOneTimeKeys = false

    @Flag(help: "Print one JSON summary object on stdout.")
    var json = false

    func run() throws {
        try perform {
            var extra: [ConfigFlag] = []
            if let compression { extra.append(ConfigFlag("--compression", "backup.compression", .string(compression))) }
            if let level { extra.append(ConfigFlag("--level", "backup.level", .int(level))) }
            if !encryptTo.isEmpty { extra.append(ConfigFlag("--encrypt-to", "gpg.recipients", .list(encryptTo))) }
            extra += try passphrase.values()
            if includeOneTimeKeys { extra.append(ConfigFlag("--include-one-time-keys", "backup.include_one_time_keys", .bool(true))) }
            let config = try global.load(extra: extra)
            let console = global.console
            let operation = BackupOperation(connection: config.postgres, gpg: config.gpg,
                                            options: .init(config), console: console)
            let notifier = Components(config.settings).notifier(console: console)
            let result: BackupOperation.Result
            do {
                result = try operation.run(commandLine: commandLineForRecords)
                let m = result.manifest
                notifier.send(ok: true, job: "backup", "\(m.file.name), \(Format.bytes(m.file.size)) in \(Format.duration(result.seconds)); users \(m.rowCounts.users), rooms \(m.rowCounts.rooms), events \(m.rowCounts.events)")
            } catch let error as MXError {
                notifier.send(ok: false, job: "backup", error.message)
                throw error
            }
            // Offsite copies: the backup is already safe on disk, so a failed push is reported on its own.
            for store in config.settings.backup.offsite {
                do {
                    let seconds = try PushCommand.push(result.path, to: store, config: config, console: console)
                    notifier.send(ok: true, job: "push", "\(result.manifest.file.name) copied to \(store) in \(Format.duration(seconds))")
                } catch let error as MXError {
                    notifier.send(ok: false, job: "push", error.message)
                    throw MXError.failed("backup written (\(result.path)), but the copy to \(store) failed: \(error.message); retry with 'mxbackup push \(result.path)'")
                }
            }
            if json {
                try printJSON(BackupSummary(result))
            } else {
                console.info("backup written: \(result.path) (\(Format.bytes(result.manifest.file.size)), "
                             + "\(Format.bytes(result.manifest.dumpSize)) of SQL, \(Format.duration(result.seconds)))")
                console.info("sha256 \(result.manifest.file.sha256), manifest \(result.manifestPath)")
            }
        }
    }
}

struct BackupSummary: Encodable {
    var status = "ok"
    var file: String
    var manifest: String
    var size: Int64
    var dumpSize: Int64
    var sha256: String
    var seconds: Double
    var compression: String
    var encryption: String

    init(_ result: BackupOperation.Result) {
        file = result.path
        manifest = result.manifestPath
        size = result.manifest.file.size
        dumpSize = result.manifest.dumpSize
        sha256 = result.manifest.file.sha256
        seconds = (result.seconds * 1000).rounded() / 1000
        compression = result.manifest.compression
        encryption = result.manifest.encryption.mode
    }
}
