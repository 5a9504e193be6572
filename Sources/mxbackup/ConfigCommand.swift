import ArgumentParser
import MXBackupKit

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the effective configuration, each value with its source, secrets redacted.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try perform {
            Console.writeOut(try global.load().rendered())
        }
    }
}
