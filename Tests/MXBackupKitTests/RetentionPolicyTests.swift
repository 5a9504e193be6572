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
        #expect(kept == 8)  // 7 nightlies inside 7 days (the 8th is 7 days + 1 h old) + the extra one
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
