import Foundation
import MXBackupKit
import Testing

/// A backup file is input from outside: a copy fetched back from Telegram, a file someone edited. psql runs
/// backslash commands as well as SQL, so a dump with `\!` would run a shell here, as root, and `\connect`
/// would send the rest of it into another database (a drill into the live one). Every command that reads a
/// dump refuses such a file at its line, and nothing runs.
@Suite struct HostileDumpTests {
    enum Payload: String, CaseIterable, Sendable { case shell, connect, appended, dropDatabase, nul }

    /// A legacy `.sql.gz` of the sandbox's database with the payload in it, and the marker file the shell
    /// payload would create.
    private func hostileLegacyFile(_ box: Sandbox, _ payload: Payload) throws -> (file: String, marker: String) {
        let marker = box.root + "/pwned-\(payload.rawValue)"
        let plain = try box.editedDump(name: "hostile-\(payload.rawValue).sql") { dump in
            switch payload {
            case .shell:
                return dump.replacingOccurrences(of: "COPY public.rooms ", with: "CREATE VIEW public.v AS SELECT 'x' \\! touch \(marker)\n;\nCOPY public.rooms ")
            case .connect:
                // Everything after it would go into postgres, the database this connection can reach.
                return dump.replacingOccurrences(of: "COPY public.rooms ", with: "\\connect postgres\nCREATE TABLE pwned (a int);\nCOPY public.rooms ")
            case .appended:
                return dump + "CREATE TABLE public.pwned (a int);\n"
            case .dropDatabase:
                // Plain SQL, as the connection's role: a drill of this file would drop the live database.
                return dump.replacingOccurrences(of: "COPY public.rooms ", with: "DROP DATABASE IF EXISTS \(box.database) WITH (FORCE);\nCOPY public.rooms ")
            case .nul:
                // psql stops reading at the NUL and joins the rest of the line to the next one.
                return dump.replacingOccurrences(of: "COPY public.rooms ", with: "CREATE VIEW public.v AS SELECT 1 \u{0}'\n\\! touch \(marker) #'\n;\nCOPY public.rooms ")
            }
        }
        let file = box.backupDir + "/synapse_db_20240102_030000.sql.gz"
        try FileManager.default.createDirectory(atPath: box.backupDir, withIntermediateDirectories: true)
        let gzip = try ProcessRunner.run(ProcessSpec("bash", ["-c", "gzip -c '\(plain)' > '\(file)'"]))
        #expect(gzip.termination.succeeded)
        return (file, marker)
    }

    @Test(arguments: Payload.allCases)
    func everyCommandThatReadsTheDumpRefusesIt(payload: Payload) throws {
        let box = try Sandbox()
        let (file, marker) = try hostileLegacyFile(box, payload)
        let before = try DatabaseFingerprint.of(box.database)
        let expected = switch payload {
        case .appended: "after pg_dump's completion line"
        case .dropDatabase: "has DROP DATABASE, which reaches outside the database being loaded"
        case .nul: "has a NUL byte"
        case .shell: "runs the psql command `\\!`"
        case .connect: "runs the psql command `\\connect`"
        }
        // verify and drill report a failed check (1); the others refuse the file (3).
        for (arguments, exitCode) in [(["verify", file], 1), (["drill", file], 1), (["adopt", file], 3), (["restore", file, "--yes"], 3),
                                      (["restore", file, "--target-db", "r_hostile", "--yes"], 3),
                                      (["restore", file, "--tables", "public.rooms", "--yes"], 3)] as [([String], Int32)] {
            let result = try box.run(arguments)
            let output = result.stdout + result.stderr
            #expect(result.exitCode == exitCode, "\(arguments): \(output)")
            #expect(output.contains(file) && output.contains(expected) && output.contains("line "), "\(arguments): \(output)")
            #expect(!FileManager.default.fileExists(atPath: marker), "\(arguments) ran the shell command")
        }
        #expect(try DatabaseFingerprint.of(box.database) == before)
        #expect(try DatabaseFingerprint.of("r_hostile") == nil)
        #expect(try box.cluster.superuser("SELECT 1 FROM pg_tables WHERE tablename = 'pwned'", database: "postgres").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: Manifest.path(forBackup: file)))
    }

    /// A file with a manifest is not read in full before a load into a new database: the load itself reads
    /// every line first, so a file swapped for a hostile one under a matching manifest is refused mid-load.
    @Test(arguments: [1, 2])
    func theLoadRefusesACommandItMeetsWhenTheManifestMatches(jobs: Int) throws {
        let box = try Sandbox()
        let made = try box.run(["backup", "--compression", "gzip"])
        #expect(made.exitCode == 0, "\(made.stderr)")
        let file = try box.onlyBackup()
        let (hostile, marker) = try hostileLegacyFile(box, .shell)
        let manifestPath = Manifest.path(forBackup: file)
        var manifest = try Manifest.read(manifestPath)
        rename(hostile, file)
        manifest.file.sha256 = try SHA256Hasher.hex(of: file)
        manifest.file.size = Int64(try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int)
        unlink(manifestPath)
        try FileSink.writeAtomically(try manifest.encoded(), to: manifestPath)
        let before = try DatabaseFingerprint.of(box.database)

        let result = try box.run(["restore", file, "--jobs", String(jobs), "--yes"])
        #expect(result.exitCode == 3, "\(result.stderr)")
        #expect(result.stderr.contains("runs the psql command `\\!`"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try DatabaseFingerprint.of(box.database) == before)
    }
}
