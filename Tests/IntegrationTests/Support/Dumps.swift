import Foundation
import MXBackupKit

extension Sandbox {
    /// A backup made with the exact commands of the legacy scripts (`pg_dump --no-owner --no-privileges
    /// | gzip`, then `gpg --encrypt --recipient`), or a custom-format dump when `name` ends in `.dump`.
    func legacyBackup(name: String = "synapse_db_20240101_030000.sql.gz", in directory: String? = nil,
                      database: String? = nil, encryptTo keyring: Keyring? = nil) throws -> String {
        let directory = directory ?? root
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + name
        var pipeline = name.hasSuffix(".dump") ? "pg_dump -Fc --no-owner --no-privileges > '\(path)'"
                                               : "pg_dump --no-owner --no-privileges | gzip > '\(path)'"
        if let keyring {
            pipeline += " && gpg --batch --homedir '\(keyring.home)' --trust-model always --encrypt --recipient \(keyring.fingerprint) '\(path)' && rm '\(path)'"
        }
        let env = cluster.connection(database: database ?? self.database).tool("pg_dump", []).environment
        let output = try ProcessRunner.run(ProcessSpec("bash", ["-o", "pipefail", "-c", pipeline], environment: env))
        guard output.termination.succeeded else { throw MXError.failed("legacy backup failed: \(output.stderr)") }
        return keyring == nil ? path : path + ".gpg"
    }

    /// A plain SQL dump of a database (this sandbox's by default), edited by `edit`.
    func editedDump(name: String, database: String? = nil, _ edit: (String) -> String) throws -> String {
        let dump = try ProcessRunner.run(cluster.connection(database: database ?? self.database).tool("pg_dump", ["--no-owner", "--no-privileges"]))
        guard dump.termination.succeeded else { throw MXError.failed("pg_dump: \(dump.stderr)") }
        let path = root + "/" + name
        try write(edit(dump.text), to: path, mode: 0o600)
        return path
    }

    /// A dump of a schema newer than Synapse's code (`schema_compat_version` 999): a FakeSynapse with
    /// `maxCompat: 88` refuses it, as Synapse does.
    func newerSchemaDump() throws -> String {
        try editedDump(name: "newer.sql") { $0.replacingOccurrences(of: "X\t85\n", with: "X\t999\n") }
    }

    /// A complete dump whose load fails half way (a division by zero before the rooms' data).
    func brokenDump() throws -> String {
        try editedDump(name: "broken.sql") { $0.replacingOccurrences(of: "COPY public.rooms ", with: "CREATE TABLE public.broken AS SELECT 1/0;\nCOPY public.rooms ") }
    }
}

/// Damages one byte of a file in place.
func flip(_ path: String, at fraction: Double = 0.5) throws {
    var data = try Data(contentsOf: URL(fileURLWithPath: path))
    data[Int(Double(data.count) * fraction)] ^= 0x55
    try data.write(to: URL(fileURLWithPath: path))
}
