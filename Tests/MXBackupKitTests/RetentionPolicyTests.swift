import Foundation
import MXBackupKit
import Testing

@Suite struct RetentionPolicyTests {
    private var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }

    /// Nightly backups at 03:00 for 100 days, plus an extra one on the last day.
    private func nightly(now: Date) -> [Date] {
        (0..<100).map { now.addingTimeInterval(-Double($0) * 86400 - 3600) } + [now.addingTimeInterval(-60)]
    }

    private let now = Date(timeIntervalSince1970: 1_764_046_800)  // 2025-11-25 05:00 UTC

    @Test func keepDaysKeepsEverythingYoungerThanTheCutoff() {
        let dates = nightly(now: now)
        let kept = RetentionPolicy(keepDays: 7).reasons(for: dates, now: now, calendar: calendar).filter { !$0.isEmpty }.count
        #expect(kept == 9)  // 8 nightlies inside 8×24 h (find -mtime +7 deletes the 9th, 8 days + 1 h old) + the extra one
    }

    /// `find -mtime +N` deletes a file whose age in whole days, rounded down, exceeds N: at (N+1)×24 h
    /// exactly, and not a second before. keep_days N keeps exactly what it kept.
    @Test func keepDaysDeletesExactlyWhatFindMtimePlusNDeleted() {
        for days in [0, 1, 7] {
            let limit = Double(days + 1) * 86400
            let ages = [0, Double(days) * 86400, Double(days) * 86400 + 3600, limit - 1, limit, limit + 1]
            let dates = ages.map { now.addingTimeInterval(-$0) }
            let kept = RetentionPolicy(keepDays: days).reasons(for: dates, now: now, calendar: calendar).map { !$0.isEmpty }
            let findDeletes = ages.map { (Int($0) / 86400) > days }  // find's rule: floor(age / 24 h) > N
            #expect(kept == findDeletes.map { !$0 }, "keep_days \(days)")
            #expect(kept == [true, true, true, true, false, false], "keep_days \(days)")
        }
    }

    @Test func gfsKeepsOnePerPeriod() {
        let dates = nightly(now: now)
        let reasons = RetentionPolicy(keepDaily: 7, keepWeekly: 4, keepMonthly: 3).reasons(for: dates, now: now, calendar: calendar)
        let kept = dates.indices.filter { !reasons[$0].isEmpty }
        // Daily: the newest of each of the last 7 days, so the extra backup wins its day over that night's.
        #expect(reasons[100].contains { $0.hasPrefix("daily") })
        #expect(!reasons[0].contains { $0.hasPrefix("daily") })
        #expect(dates.indices.filter { reasons[$0].contains { $0.hasPrefix("daily") } }.count == 7)
        #expect(dates.indices.filter { reasons[$0].contains { $0.hasPrefix("weekly") } }.count == 4)
        #expect(dates.indices.filter { reasons[$0].contains { $0.hasPrefix("monthly") } }.count == 3)
        #expect(kept.count < 14 && kept.count >= 7)
    }

    @Test func keepLastCountsNewestFirstWhateverTheInputOrder() {
        let dates = nightly(now: now).shuffled()
        let reasons = RetentionPolicy(keepLast: 2).reasons(for: dates, now: now, calendar: calendar)
        let keptDates = dates.indices.filter { !reasons[$0].isEmpty }.map { dates[$0] }.sorted()
        #expect(keptDates == Array(dates.sorted().suffix(2)))
    }

    @Test func emptyPolicyIsEmpty() {
        #expect(RetentionPolicy().isEmpty)
        #expect(!RetentionPolicy(keepLast: 0).isEmpty)
    }
}
