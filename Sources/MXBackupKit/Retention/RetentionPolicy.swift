import Foundation

/// Which backups `prune` keeps: by age (`keep_days`, the legacy BACKUP_RETENTION_DAYS, with the meaning
/// of the scripts' `find -mtime +N -delete`) and/or
/// grandfather-father-son (`keep_last`, `keep_daily`, `keep_weekly`, `keep_monthly`). A backup is kept
/// if any rule keeps it. Calendar buckets use local time.
public struct RetentionPolicy: Sendable, Equatable {
    public var keepDays: Int?
    public var keepLast: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?

    public init(keepDays: Int? = nil, keepLast: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil, keepMonthly: Int? = nil) {
        self.keepDays = keepDays
        self.keepLast = keepLast
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
    }

    public var isEmpty: Bool { [keepDays, keepLast, keepDaily, keepWeekly, keepMonthly].allSatisfy { $0 == nil } }

    /// For each date (any order), the reasons it is kept; an empty list means it may go.
    /// - Parameters:
    ///   - lastWritten: each file's modification time; keep_days keeps what either time calls young, so that
    ///     files copied back (new mtime, old name) stay as `find -mtime` would keep them.
    ///   - countable: which entries can be backups at all: only they fill keep_last and the calendar
    ///     buckets, so an empty file never takes a good backup's place.
    public func reasons(for dates: [Date], lastWritten: [Date]? = nil, countable: [Bool]? = nil, now: Date,
                        calendar: Calendar = .current) -> [[String]] {
        var reasons = Array(repeating: [String](), count: dates.count)
        let newestFirst = dates.indices.sorted { dates[$0] > dates[$1] }.filter { countable?[$0] ?? true }
        if let keepLast {
            for index in newestFirst.prefix(keepLast) { reasons[index].append("last \(keepLast)") }
        }
        if let keepDays {
            // As the scripts' `find -mtime +N -delete`: find counts whole 24 h periods, rounded down, so it
            // deletes a file once it is (N+1)×24 h old, and keeps everything younger.
            let limit = Double(keepDays + 1) * 86400
            for index in dates.indices where now.timeIntervalSince(max(dates[index], lastWritten?[index] ?? .distantPast)) < limit {
                reasons[index].append("keep_days \(keepDays): younger than \(keepDays + 1)×24h")
            }
        }
        let buckets: [(Int?, String, (Date) -> String)] = [
            (keepDaily, "daily", { d in
                let c = calendar.dateComponents([.year, .month, .day], from: d)
                return "\(c.year!)-\(c.month!)-\(c.day!)" }),
            (keepWeekly, "weekly", { d in
                let c = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: d)
                return "\(c.yearForWeekOfYear!)-W\(c.weekOfYear!)" }),
            (keepMonthly, "monthly", { d in
                let c = calendar.dateComponents([.year, .month], from: d)
                return "\(c.year!)-\(c.month!)" }),
        ]
        for (count, label, bucket) in buckets {
            guard let count else { continue }
            var seen = Set<String>()
            // The newest backup of each of the `count` most recent periods that have one.
            for index in newestFirst {
                let key = bucket(dates[index])
                if seen.contains(key) { continue }
                if seen.count >= count { break }
                seen.insert(key)
                reasons[index].append("\(label) \(key)")
            }
        }
        return reasons
    }
}
