import Foundation
import MXBackupKit
import Testing

@Suite struct BackupNameTests {
    @Test func namesFollowTheLegacyPatternInUTC() {
        let date = Date(timeIntervalSince1970: 1_764_058_500)  // 2025-11-25 08:15:00 UTC
        #expect(BackupName.make(date: date, compression: .zstd, encrypted: false) == "synapse_db_20251125_081500.sql.zst")
        #expect(BackupName.make(date: date, compression: .gzip, encrypted: true) == "synapse_db_20251125_081500.sql.gz.gpg")
    }

    @Test func suffixesAndStemsOfEveryFormat() {
        #expect(BackupName.suffix(of: "synapse_db_20240101_030000.sql.gz.gpg") == ".sql.gz.gpg")
        #expect(BackupName.suffix(of: "x.sql") == ".sql")
        #expect(BackupName.suffix(of: "x.dump") == ".dump")
        #expect(BackupName.suffix(of: "x.manifest.json") == nil)
        #expect(BackupName.suffix(of: "x.sql.zst.partial") == nil)
        #expect(Manifest.path(forBackup: "/b/synapse_db_1.sql.zst.gpg") == "/b/synapse_db_1.manifest.json")
    }

    @Test func legacyNamesCarryLocalTime() throws {
        let zone = TimeZone(identifier: "Europe/Berlin")!
        let date = try #require(BackupName.date(in: "synapse_db_20240615_030000.sql.gz", timeZone: zone))
        #expect(Format.iso8601(date) == "2024-06-15T01:00:00Z")
    }

    /// Only backup names are backups (prune deletes nothing else), and a safety backup never parses as one.
    @Test func onlyBackupNamesParseAndSafetyBackupsAreApart() {
        let date = Date(timeIntervalSince1970: 1_764_058_500)
        let safety = BackupName.make(date: date, compression: .zstd, encrypted: true, kind: .safety)
        #expect(safety == "synapse_db_safety_20251125_081500.sql.zst.gpg")
        let parsed = BackupName.parse(safety)
        #expect(parsed?.kind == .safety && parsed?.stamp == "20251125_081500" && parsed?.suffix == ".sql.zst.gpg")
        #expect(BackupName.parse("synapse_db_20240101_030000.sql.gz")?.kind == .backup)
        for foreign in ["users_only.sql", "pre-restore-backup-20240101_030000.sql.gz", "synapse_db_20240101_030000_copy.sql",
                        "synapse_db_2024.sql", "synapse_db_20240101_030000.sql.gz.bak", "my_synapse_db_20240101_030000.sql"] {
            #expect(BackupName.parse(foreign) == nil, "\(foreign)")
        }
    }
}
