import ArgumentParser
import Foundation
import MXBackupKit

struct AdoptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adopt",
        abstract: "Prove backups of the legacy scripts complete and write their manifests, making them first-class backups.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Legacy backup files in the backup directory.")
    var files: [String] = []

    @Flag(help: "Every backup in the backup directory that has no manifest.")
    var all = false

    @OptionGroup var passphrase: PassphraseOption

    @Flag(help: "Print the outcomes as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            let config = try global.load(extra: try passphrase.values())
            let operation = AdoptOperation(directory: config.backupDirectory, gpg: config.gpg, passphrase: config.settings.gpg.passphrase,
                                           connection: config.postgres, serverName: config.settings.synapse.serverName, console: global.console)
            let outcomes = try operation.run(files: files, all: all, commandLine: commandLineForRecords)
            if json {
                try printJSON(outcomes)
            } else {
                if outcomes.isEmpty { Console.writeOut("no backup without a manifest in \(config.backupDirectory): nothing to adopt\n") }
                for outcome in outcomes {
                    let label = outcome.status == .adopted ? "ADOPTED" : outcome.status == .refused ? "REFUSED" : "ALREADY ADOPTED"
                    Console.writeOut("\(label): \(outcome.file): \(outcome.detail)\n")
                }
            }
            let refused = outcomes.filter { $0.status == .refused }.count
            if refused > 0 { throw MXError.refused("\(refused) of \(outcomes.count) files not adopted: nothing was written for them") }
        }
    }
}
