import ArgumentParser
import Foundation
import MXBackupKit

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the whole setup; print OK or the problem and its fix for each item.")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var maxAge: MaxAgeOption

    @Flag(help: "Print the checks as JSON on stdout.")
    var json = false

    func run() throws {
        let age: Double
        do { age = try maxAge.seconds() } catch let error as MXError {
            Console.writeErr("mxbackup: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
        var checks: [Doctor.Check]
        do {
            var doctor = Doctor(config: try global.load(), maxAge: age)
            checks = doctor.run()
        } catch let error as MXError {
            // A configuration that does not load is the first thing to fix.
            checks = [Doctor.Check(name: "configuration", status: .fail, detail: error.message, fix: "see the message")]
        }
        if json {
            try printJSON(checks)
        } else {
            for check in checks {
                Console.writeOut("[\(check.status.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0))] \(check.name): \(check.detail)\n")
                if let fix = check.fix { Console.writeOut("       fix: \(fix)\n") }
            }
        }
        let failed = checks.filter { $0.status == .fail }.count
        if failed > 0 {
            if !json { Console.writeErr("mxbackup: doctor found \(failed) problem\(failed == 1 ? "" : "s")\n") }
            throw ExitCode(1)
        }
    }
}
