import Foundation
import MXBackupKit
import Testing

/// The legacy .env and the GPG settings: encryption that was asked for is never silently dropped,
/// secrets never appear in messages, and every key and passphrase at hand is used to read.
@Suite struct EncryptionSettingsTests {
    /// A config with only where the database is: the role and password come from the .env.
    private func writeConfigWithoutCredentials(_ box: Sandbox) throws {
        try write("""
        postgres:
          host: 127.0.0.1
          port: \(box.cluster.port)
          database: \(box.database)
        backup:
          dir: \(box.backupDir)
        """, to: box.configPath, mode: 0o600)
    }

    @Test func aCRLFEnvFileStillEncryptsToItsRecipient() throws {
        let owner = try Keyring.generate()
        let server = try owner.publicOnly()
        let box = try Sandbox()
        try writeConfigWithoutCredentials(box)
        let envFile = box.root + "/.env"
        try write("# made on Windows\r\nPOSTGRES_USER=synapse\r\nPOSTGRES_PASSWORD=\(box.cluster.password)\r\nGPG_RECIPIENT=\(owner.fingerprint)\r\nBACKUP_RETENTION_DAYS=7\r\n",
                  to: envFile, mode: 0o600)
        let result = try box.run(["backup", "--env-file", envFile], environment: ["GNUPGHOME": server.home])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let backup = try box.onlyBackup()
        #expect(backup.hasSuffix(".sql.zst.gpg"))
        #expect(try box.manifest(of: backup).encryption.recipients == [owner.fingerprint])

        let doctor = try box.run(["doctor", "--env-file", envFile], environment: ["GNUPGHOME": server.home])
        #expect(!doctor.stdout.contains(box.cluster.password) && !doctor.stderr.contains(box.cluster.password))
        #expect(doctor.stdout.contains("[OK  ] database reachable"), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("[OK  ] encryption: to \(owner.fingerprint)"), "\(doctor.stdout)")
    }

    @Test func aMalformedEnvLineNamesTheLineAndNeverThePassword() throws {
        let box = try Sandbox(fixture: false)
        try writeConfigWithoutCredentials(box)
        let envFile = box.root + "/.env"
        try write("POSTGRES_USER=synapse\r\nPOSTGRES_PASSWORD=\"\(box.cluster.password)\r\nGPG_RECIPIENT=ABCDEF\r\n", to: envFile, mode: 0o600)
        for command in [["backup"], ["doctor"], ["config"]] {
            let result = try box.run(command + ["--env-file", envFile])
            #expect(result.exitCode != 0, "\(command): \(result.stdout)")
            #expect((result.stdout + result.stderr).contains("\(envFile):2: POSTGRES_PASSWORD: the quoted value is not closed"), "\(command): \(result.stdout) \(result.stderr)")
            #expect(!result.stdout.contains(box.cluster.password) && !result.stderr.contains(box.cluster.password))
        }
        #expect(box.backupFiles() == [])
    }

    @Test func anEnvFileThatNamesAnUnsetRecipientFailsClosed() throws {
        let box = try Sandbox(fixture: false)
        let envFile = box.root + "/.env"
        try write("POSTGRES_DB=\(box.database)\r\nGPG_RECIPIENT=${BACKUP_KEY}\r\n", to: envFile, mode: 0o600)
        let result = try box.run(["backup", "--env-file", envFile])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("\(envFile):2: GPG_RECIPIENT uses $BACKUP_KEY"), "\(result.stderr)")
        #expect(box.backupFiles() == [])
    }

    @Test func recipientsAndAPassphraseTogetherReadALegacySymmetricBackup() throws {
        let owner = try Keyring.generate()
        let box = try Sandbox()
        try box.writeConfig(extra: "gpg:\n  recipients: [\(owner.fingerprint)]")
        let passphraseFile = box.root + "/legacy.passphrase"
        try write("legacy passphrase \(UUID().uuidString)\n", to: passphraseFile, mode: 0o600)
        let plain = try box.legacyBackup()
        let encrypted = try ProcessRunner.run(ProcessSpec("gpg", ["--batch", "--homedir", owner.home, "--pinentry-mode", "loopback",
                                                                  "--passphrase-file", passphraseFile, "--symmetric", plain]))
        #expect(encrypted.termination.succeeded, "\(encrypted.stderr)")
        let legacy = plain + ".gpg"
        let env = ["GNUPGHOME": owner.home]

        let verify = try box.run(["verify", legacy, "--passphrase-file", passphraseFile], environment: env)
        #expect(verify.exitCode == 0, "\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("OK: \(legacy)"), "\(verify.stdout)")

        let target = box.database + "_legacy"
        let restore = try box.run(["restore", legacy, "--target-db", target, "--passphrase-file", passphraseFile], environment: env)
        #expect(restore.exitCode == 0, "\(restore.stderr)")
        #expect(try box.cluster.contentChecksums(database: target)["events"] == box.cluster.contentChecksums(database: box.database)["events"])

        // New backups still go to the recipients; the passphrase only reads.
        let backup = try box.run(["backup", "--passphrase-file", passphraseFile], environment: env)
        #expect(backup.exitCode == 0, "\(backup.stderr)")
        #expect(try box.manifest(of: box.onlyBackup()).encryption.mode == "recipients")
    }
}
