import ArgumentParser
import Foundation
import MXBackupKit

struct MXBackup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mxbackup",
        abstract: "Back up, copy offsite, verify and restore the PostgreSQL database of a Matrix Synapse homeserver.",
        discussion: """
        Exit codes: 0 success, 1 the work failed (the message says what was left), 2 bad configuration or \
        command line, 3 refused by a precondition (nothing was changed), 4/5/6 status: stale backup / failed \
        verify / failed drill, 128+N stopped by signal N.
        """,
        version: MXBackupVersion.current,
        subcommands: [BackupCommand.self, AdoptCommand.self, RestoreCommand.self, RollbackCommand.self, VerifyCommand.self, DrillCommand.self, PushCommand.self, FetchCommand.self, DoctorCommand.self, StatusCommand.self, ListCommand.self, PruneCommand.self, ConfigCommand.self, InitCommand.self]
    )
}

/// Runs a command body, turning errors into one line on stderr and the documented exit code.
func perform(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as MXError {
        Console.writeErr("mxbackup: \(error.message)\n")
        throw ExitCode(error.exitCode)
    }
}

/// The command line as typed, for lock files and logs (argv never holds secrets).
var commandLineForRecords: String {
    (["mxbackup"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
}
