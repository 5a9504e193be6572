import ArgumentParser
import Foundation
import MXBackupKit

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove backups readable without any database: checksum, decryption, decompression to the end, complete dump.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Backup files, or with --from the stored backups' names, 'latest', or Telegram message links or ids (default: --latest).")
    var files: [String] = []

    @OptionGroup var store: StoreOptions

    @Flag(help: "The newest backup in the backup directory.")
    var latest = false

    @Flag(help: "Every backup in the backup directory.")
    var all = false

    @OptionGroup var passphrase: PassphraseOption

    @Flag(help: "Print the verdicts as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            let config = try global.load(extra: try passphrase.values())
            let verifier = BackupVerifier(gpg: config.gpg, passphrase: config.settings.gpg.passphrase, connection: config.postgres)
            var targets: [(name: String, check: () -> BackupVerifier.Verdict)] = []
            if store.from != nil {
                // Offsite copies, streamed from the store (nothing written to disk).
                let names = files + (latest || (files.isEmpty && !all) ? ["latest"] : [])
                let sources = try store.sources(names, all: all, config: config, console: global.console)
                guard !sources.isEmpty else { throw MXError.refused("no backups offsite to verify") }
                targets = sources.map { source in (source.name, { verifier.verify(source) }) }
            } else {
                let catalog = try BackupCatalog.scan(config.backupDirectory)
                var paths = files
                if all { paths += catalog.entries.map(\.path) }
                if latest || (files.isEmpty && !all) {
                    guard let newest = catalog.entries.first else { throw MXError.refused("no backups in \(config.backupDirectory) to verify") }
                    paths.append(newest.path)
                }
                targets = paths.map { path in (path, { verifier.verify(path) }) }
            }
            var verdicts: [BackupVerifier.Verdict] = []
            // Verdicts are recorded there; a read-only command leaves an existing directory's mode alone.
            try? BackupDirectory.prepare(config.backupDirectory, console: global.console, owned: false)
            for (file, check) in targets {
                let verdict = check()
                verdicts.append(verdict)
                do {
                    try History.append(HistoryRecord(kind: .verify, file: file, sha256: verdict.sha256, ok: verdict.ok,
                                                     reason: verdict.ok ? nil : verdict.detail), directory: config.backupDirectory)
                } catch { global.console.warn("history: \(error)") }
                if !json { Console.writeOut("\(verdict.ok ? "OK" : "FAILED"): \(file): \(verdict.detail)\n") }
                try Interrupts.shared.checkpoint()
            }
            if json { try printJSON(verdicts) }
            let failed = verdicts.filter { !$0.ok }.count
            if failed > 0 { throw MXError.failed("\(failed) of \(verdicts.count) backups failed verification") }
        }
    }
}
