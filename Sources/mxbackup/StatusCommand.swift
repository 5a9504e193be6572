import ArgumentParser
import Foundation
import MXBackupKit

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "One screen: newest backup, verification, drills, safety copies, lock. Exit code for monitoring.",
        discussion: "Exit codes: 0 OK, 4 no backup or the newest is older than --max-age, 5 the newest backup failed its last verify, 6 the last drill failed.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "A backup older than this is stale (e.g. 26h, 2d).")
    var maxAge = "26h"

    @Flag(help: "Print the status as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            guard let age = Format.parseDuration(maxAge) else {
                throw MXError.configuration("--max-age: '\(maxAge)' is not a duration like 26h or 2d")
            }
            let report = try StatusReport.gather(try global.load(), maxAge: age)
            if json { try printJSON(report) } else { Console.writeOut(report.text) }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
