import ArgumentParser
import Foundation
import MXBackupKit

/// Where configuration comes from, and the connection flags that override it; shared by every command.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML configuration file.", discussion: "Default: $MXBACKUP_CONFIG, else ./mxbackup.yaml, else /etc/mxbackup/mxbackup.yaml.", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Legacy .env of the old backup scripts (POSTGRES_*, GPG_RECIPIENT, BACKUP_RETENTION_DAYS, TELEGRAM_*).", valueName: "FILE"))
    var envFile: String?

    @Option(name: .long, help: ArgumentHelp("Synapse's homeserver.yaml: take the connection from its database.args.", valueName: "FILE"))
    var homeserverConfig: String?

    @Option(name: .long, help: "PostgreSQL host or socket directory (postgres.host).")
    var host: String?

    @Option(name: .long, help: "PostgreSQL port (postgres.port, default 5432).")
    var port: Int?

    @Option(name: .long, help: "Role to connect as (postgres.user, default synapse).")
    var user: String?

    @Option(name: .long, help: "Database (postgres.database, default synapse).")
    var dbname: String?

    @Option(name: .long, help: "Run the client tools in this container with docker exec (postgres.container).")
    var container: String?

    @Option(name: .long, help: ArgumentHelp("Backup directory (backup.dir, default ./backups).", valueName: "DIR"))
    var dir: String?

    @Flag(name: .shortAndLong, help: "Only errors and warnings.")
    var quiet = false

    var flags: [ConfigFlag] {
        var flags: [ConfigFlag] = []
        if let host { flags.append(ConfigFlag("--host", "postgres.host", .string(host))) }
        if let port { flags.append(ConfigFlag("--port", "postgres.port", .int(port))) }
        if let user { flags.append(ConfigFlag("--user", "postgres.user", .string(user))) }
        if let dbname { flags.append(ConfigFlag("--dbname", "postgres.database", .string(dbname))) }
        if let container { flags.append(ConfigFlag("--container", "postgres.container", .string(container))) }
        if let dir { flags.append(ConfigFlag("--dir", "backup.dir", .string(dir))) }
        return flags
    }

    /// The configuration from every source; a command's own flags (`extra`) come last and win.
    func load(extra: [ConfigFlag] = []) throws -> Configuration {
        try Configuration.load(.init(configFile: config, envFile: envFile, homeserverConfig: homeserverConfig, flags: flags + extra))
    }

    var console: Console { Console.detect(quiet: quiet) }
}

/// The values of an enumerated setting, for help texts: the same list its validation uses.
func listed<E: CaseIterable & RawRepresentable>(_: E.Type) -> String where E.RawValue == String {
    E.allCases.map(\.rawValue).joined(separator: ", ")
}

/// Encodes results for `--json`.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    Console.writeOut(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
}

/// `--passphrase-file` of every command that encrypts or reads symmetric backups (gpg.passphrase_file).
struct PassphraseOption: ParsableArguments {
    @Option(help: ArgumentHelp("Passphrase of symmetrically encrypted backups, from a 0600 file (gpg.passphrase_file).", valueName: "FILE"))
    var passphraseFile: String?

    /// The passphrase as a configuration override, read with the secret-file checks.
    func values() throws -> [ConfigFlag] {
        guard let passphraseFile else { return [] }
        return [ConfigFlag("--passphrase-file", "gpg.passphrase", .string(try Secrets.read(passphraseFile, key: "--passphrase-file")))]
    }
}

/// `--max-age` of doctor and status.
struct MaxAgeOption: ParsableArguments {
    @Option(help: "A backup older than this is a problem (e.g. 26h, 2d).")
    var maxAge = "26h"

    func seconds() throws -> Double {
        guard let seconds = Format.parseDuration(maxAge) else {
            throw MXError.configuration("--max-age: '\(maxAge)' is not a duration like 26h or 2d")
        }
        return seconds
    }
}
