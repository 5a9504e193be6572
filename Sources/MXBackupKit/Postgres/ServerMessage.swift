import Foundation

/// PostgreSQL's own words from a client tool's stderr: the first ERROR (or FATAL) line with the DETAIL
/// and HINT lines that follow it, on one line. DETAIL and HINT name what the error line does not (the
/// table whose foreign key blocks a TRUNCATE, what to do instead), so they are never dropped.
enum ServerMessage {
    static func firstError(in stderr: String) -> String? {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(where: { $0.contains("ERROR") || $0.contains("FATAL") }) else { return nil }
        let notes = lines[(start + 1)...].prefix { $0.hasPrefix("DETAIL:") || $0.hasPrefix("HINT:") }
        return ([lines[start]] + notes).map { $0.replacingOccurrences(of: ":  ", with: ": ") }.joined(separator: " ")
    }
}
