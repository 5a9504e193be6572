import Foundation

/// Formatting shared by reports, progress and listings.
public enum Format {
    public static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }

    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        return s < 3600 ? String(format: "%dm%02ds", s / 60, s % 60)
            : String(format: "%dh%02dm%02ds", s / 3600, (s % 3600) / 60, s % 60)
    }

    public static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    public static func parseISO8601(_ text: String) -> Date? {
        ISO8601DateFormatter().date(from: text)
    }

    /// Local time for people ("2026-11-25 08:15").
    public static func localTime(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: date)
    }

    /// "26h", "2d", "90m", "3600s" (or plain seconds) → seconds.
    public static func parseDuration(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        if let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()), value >= 0 { return value * factor }
        return Double(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Errno as text, for messages.
    public static func errno(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
