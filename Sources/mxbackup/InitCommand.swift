import ArgumentParser
import Foundation
import MXBackupKit

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a configuration file (mode 600): the commented example, or one matching a Selfhost-Matrix deployment (--from DIR).")

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write it.", valueName: "FILE"))
    var output = "./mxbackup.yaml"

    @Option(help: ArgumentHelp("A Selfhost-Matrix checkout (its docker-compose.yml and .env): write the configuration of that deployment.", valueName: "DIR"))
    var from: String?

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        try perform {
            let result = try from.map {
                try InitOperation.writeFromDeployment($0, to: output, force: force, executable: Self.executable)
            } ?? InitOperation.writeTemplate(to: output, force: force)
            for warning in result.warnings { Console.detect(quiet: false).warn(warning) }
            Console.writeOut("wrote \(result.path)\n" + result.instructions.map { $0 + "\n" }.joined())
        }
    }

    /// This binary's absolute path, for the crontab line (cron's PATH is short).
    private static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "mxbackup"
    }
}
