import ArgumentParser
import Foundation
import MXBackupKit

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "One screen: newest backup, verification, drills, safety copies, lock. Exit code for monitoring.",
        discussion: "Exit codes: 0 OK, 7 an interrupted restore waits for 'restore --resume-cleanup' (before all others), 4 no backup or the newest is older than --max-age, 5 the newest backup failed its last verify, 6 the last drill failed.")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var maxAge: MaxAgeOption

    @Flag(help: "Print the status as JSON on stdout.")
    var json = false

    func run() throws {
        try perform {
            let report = try StatusReport.gather(try global.load(), maxAge: try maxAge.seconds())
            if json { try printJSON(report) } else { Console.writeOut(report.text) }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
