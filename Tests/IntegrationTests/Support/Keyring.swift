import Foundation
import MXBackupKit

/// A throwaway GnuPG home with one real key pair made for the test.
struct Keyring {
    let home: String
    let fingerprint: String

    /// - Parameter expired: made with a faked clock in 2020, valid for one day, so expired now.
    static func generate(expired: Bool = false, userID: String = "mxbackup test <test@example.org>") throws -> Keyring {
        let home = try makeTemporaryDirectory("mxbackup-gpg")
        var arguments = ["--batch", "--homedir", home, "--passphrase", "", "--pinentry-mode", "loopback"]
        if expired { arguments += ["--faked-system-time", "20200101T000000!"] }
        arguments += ["--quick-generate-key", userID, "future-default", "default", expired ? "1d" : "never"]
        let made = try ProcessRunner.run(ProcessSpec("gpg", arguments))
        guard made.termination.succeeded else { throw MXError.failed("gpg key generation failed: \(made.stderr)") }
        let listing = try ProcessRunner.run(ProcessSpec("gpg", ["--batch", "--homedir", home, "--with-colons", "--list-keys"]))
        guard let fpr = listing.text.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") })?
            .split(separator: ":", omittingEmptySubsequences: false)[9] else {
            throw MXError.failed("no fingerprint in \(listing.text)")
        }
        return Keyring(home: home, fingerprint: String(fpr))
    }

    /// A new home holding only this key's public half, imported and not marked trusted: what a
    /// server that must not be able to read its own backups has.
    func publicOnly() throws -> Keyring {
        let other = try makeTemporaryDirectory("mxbackup-gpgpub")
        let exported = try ProcessRunner.run(ProcessSpec("gpg", ["--batch", "--homedir", home, "--export", fingerprint]))
        let imported = try ProcessRunner.run(ProcessSpec("gpg", ["--batch", "--homedir", other, "--import"]), input: exported.stdout)
        guard imported.termination.succeeded else { throw MXError.failed("gpg import failed: \(imported.stderr)") }
        return Keyring(home: other, fingerprint: fingerprint)
    }
}
