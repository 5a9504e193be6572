import ArgumentParser
import Foundation
import MXBackupKit

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented example configuration file (mode 600).")

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write it.", valueName: "FILE"))
    var output = "./mxbackup.yaml"

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        try perform {
            if FileManager.default.fileExists(atPath: output) && !force {
                throw MXError.refused("\(output) already exists: pass --force to overwrite it")
            }
            try FileSink.writeAtomically(Data(ConfigTemplate.text.utf8), to: output, mode: 0o600)
            Console.writeOut("wrote \(output); check it with 'mxbackup config --config \(output)'\n")
        }
    }
}
