import Foundation
import MXBackupKit

/// One test's world: a temporary directory, its own database in the shared cluster (or another), a config file
/// pointing at both, and a way to run the real `mxbackup` binary against them.
struct Sandbox {
    let root: String
    let database: String
    let cluster: TestCluster

    var backupDir: String { root + "/backups" }
    var configPath: String { root + "/mxbackup.yaml" }
    var binDir: String { root + "/bin" }

    static let binary = ProcessInfo.processInfo.environment["MXBACKUP_BIN"] ?? packageRoot + "/.build/debug/mxbackup"

    init(cluster: TestCluster = .shared, fixture: Bool = true, scale: Int = 1, serverName: String = "example.org") throws {
        self.cluster = cluster
        root = try makeTemporaryDirectory("mxbackup-test")
        database = try cluster.createDatabase(fixture: fixture, scale: scale, serverName: serverName)
        try writeConfig()
    }

    /// Writes the config file: connection to this sandbox's database plus extra lines per section.
    func writeConfig(postgres: [String] = [], backup: [String] = [], extra: String = "",
                     password: String? = nil, port: Int? = nil) throws {
        var passwordFile = cluster.passwordFile
        if let password {
            passwordFile = root + "/wrong.password"
            try write(password, to: passwordFile, mode: 0o600)
        }
        let text = """
        postgres:
          host: 127.0.0.1
          port: \(port ?? cluster.port)
          user: synapse
          database: \(database)
          password_file: \(passwordFile)
        \(postgres.map { "  " + $0 }.joined(separator: "\n"))
        backup:
          dir: \(backupDir)
        \(backup.map { "  " + $0 }.joined(separator: "\n"))
        \(extra)
        """
        try write(text, to: configPath, mode: 0o600)
    }

    /// A configuration that reaches PostgreSQL through the stand-in `docker` in binDir and stops and starts
    /// Synapse as compose services (`/srv/matrix`), with Synapse's health at synapsePort.
    func writeComposeConfig(synapsePort: Int) throws {
        try writeConfig(postgres: ["docker: \(binDir)/docker"], extra: """
        synapse:
          url: http://127.0.0.1:\(synapsePort)
          health_timeout: 5
        services:
          kind: compose
          compose_dir: /srv/matrix
        """)
    }

    struct Result {
        let termination: ChildProcess.Termination
        let stdout: String
        let stderr: String
        var exitCode: Int32 {
            switch termination {
            case .exited(let code): return code
            case .signaled(let sig): return 128 + sig
            }
        }
    }

    /// Runs mxbackup with this sandbox's config and none of the ambient PG*/GnuPG settings.
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let output = try ProcessRunner.run(spec(arguments, environment: environment))
        return Result(termination: output.termination, stdout: output.text, stderr: output.stderr)
    }

    func spec(_ arguments: [String], environment: [String: String] = [:]) -> ProcessSpec {
        ProcessSpec(Self.binary, arguments,
                    environment: ["MXBACKUP_CONFIG": configPath].merging(environment) { _, new in new })
    }

    /// Names in the backup directory (lock files excluded).
    func backupFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: backupDir)) ?? []).filter { !$0.hasSuffix(".lock") }.sorted()
    }

    /// The single backup file (not the manifest) in the backup directory.
    func onlyBackup() throws -> String {
        let files = backupFiles().filter { BackupName.suffix(of: $0) != nil }
        guard files.count == 1 else { throw MXError.failed("expected one backup, found \(files)") }
        return backupDir + "/" + files[0]
    }

    /// An executable script in the sandbox's bin directory (stand-ins for pg_dump, docker, gpg).
    @discardableResult
    func shim(_ name: String, _ body: String) throws -> String {
        try FileManager.default.createDirectory(atPath: binDir, withIntermediateDirectories: true)
        let path = binDir + "/" + name
        try write("#!/usr/bin/env bash\n" + body + "\n", to: path, mode: 0o755)
        return path
    }

    /// A bin_dir (postgres.bin_dir) whose pg_dump is the given script and whose psql is the real one.
    /// `$REAL` in the script is the real pg_dump.
    func fakePgDump(_ body: String) throws {
        try shim("psql", "exec /usr/bin/psql \"$@\"")
        try shim("pg_dump", "REAL=/usr/bin/pg_dump\n" + body)
        try writeConfig(postgres: ["bin_dir: \(binDir)"])
    }

    /// Loads a plain SQL stream (from a shell pipeline of standard tools) into a new empty database.
    func restoreWithStandardTools(_ pipeline: String) throws -> String {
        let target = try cluster.createDatabase(prefix: "r", fixture: false)
        let connection = cluster.connection(database: target)
        let spec = ProcessSpec("bash", ["-o", "pipefail", "-c", pipeline + " | psql -X -q -v ON_ERROR_STOP=1 >/dev/null"],
                               environment: connection.tool("psql", []).environment)
        let output = try ProcessRunner.run(spec)
        guard output.termination.succeeded else { throw MXError.failed("restore pipeline failed: \(output.stderr)") }
        return target
    }

    func manifest(of backup: String) throws -> Manifest {
        try Manifest.read(Manifest.path(forBackup: backup))
    }
}

/// Writes a file with a close-on-exec descriptor: a script written while another test thread spawns a
/// child must not stay open for writing in that child (exec would then fail with "text file busy").
func write(_ text: String, to path: String, mode: mode_t) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw MXError.failed("cannot write \(path): \(Format.errno(errno))") }
    defer { close(fd) }
    try FileDescriptor.writeAll(fd, Data(text.utf8))
    fchmod(fd, mode)
}

func fileMode(_ path: String) -> mode_t {
    var st = stat()
    stat(path, &st)
    return st.st_mode & 0o777
}
