import Foundation
import MXBackupKit
import Testing

/// A damaged backup is refused (exit 3) with one line naming the file, whether or not it has a manifest;
/// and a tool that fails while reading it (gpg killed mid-stream) is reported as that tool failing, not as
/// damage to a file that may be perfectly good.
@Suite struct DamagedBackupTests {
    enum Damage: String, CaseIterable, Sendable { case truncated, corrupt }

    @Test(arguments: [Compression.gzip, .zstd], Damage.allCases)
    func damagedBackupWithoutManifestIsRefused(compression: Compression, damage: Damage) throws {
        let box = try Sandbox(scale: 5)
        let made = try box.run(["backup", "--compression", compression.rawValue])
        #expect(made.exitCode == 0, "\(made.stderr)")
        let file = try box.onlyBackup()
        unlink(Manifest.path(forBackup: file))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        switch damage {
        case .truncated: bytes = bytes.prefix(bytes.count / 2)
        case .corrupt: for i in stride(from: bytes.count / 3, to: bytes.count / 3 + 64, by: 1) { bytes[i] ^= 0x5A }
        }
        try bytes.write(to: URL(fileURLWithPath: file))

        let target = "r_" + UUID().uuidString.prefix(8).lowercased()
        let result = try box.run(["restore", file, "--target-db", target, "--yes"])
        #expect(result.exitCode == 3, "\(result.stderr)")
        let last = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains(file) && last.contains(damage == .truncated ? "truncated" : "corrupt"), "\(result.stderr)")
    }

    @Test func gpgKilledWhileDecryptingIsReportedAsGpgFailing() throws {
        let keyring = try Keyring.generate()
        let box = try Sandbox(scale: 20)
        let environment = ["GNUPGHOME": keyring.home]
        let made = try box.run(["backup", "--encrypt-to", keyring.fingerprint], environment: environment)
        #expect(made.exitCode == 0, "\(made.stderr)")
        // Decryption passes the first 100 kB, then gpg dies by a signal, as under the OOM killer.
        let wrapper = try box.shim("gpg-crashing", """
        case " $* " in *" --decrypt "*) ;; *) exec gpg "$@" ;; esac
        gpg "$@" | { head -c 100000; kill -9 $$; }
        """)
        try box.writeConfig(extra: "gpg:\n  program: \(wrapper)")
        let target = "r_" + UUID().uuidString.prefix(8).lowercased()
        let result = try box.run(["restore", try box.onlyBackup(), "--target-db", target, "--yes"], environment: environment)
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stderr.contains("gpg failed") && result.stderr.contains("killed by signal 9"), "\(result.stderr)")
        #expect(!result.stderr.contains("damaged or truncated"), "\(result.stderr)")
    }
}
