import Foundation

/// The figures of a matrix run: per operation × step × signal, whether it ended clean, left something
/// or said something untrue, or lost data. Printed after each operation (the last print is the whole
/// run) and written to MXBACKUP_FAULT_REPORT (default .build/fault-matrix-report.md).
final class FaultTally: @unchecked Sendable {
    struct Row: Sendable {
        var operation: String
        var step: String
        var signal: String
        /// Nil when the moment never came (an aimed moment missed): listed, not counted.
        var verdict: Invariants.Verdict?
        var problems: [String]
    }

    static let shared = FaultTally()
    static let path = ProcessInfo.processInfo.environment["MXBACKUP_FAULT_REPORT"] ?? packageRoot + "/.build/fault-matrix-report.md"

    private let lock = NSLock()
    private var rows: [Row] = []

    func record(_ row: Row) { lock.withLock { rows.append(row) } }

    func publish() {
        let text = lock.withLock { Self.render(rows) }
        print(text)
        try? text.write(toFile: Self.path, atomically: true, encoding: .utf8)
    }

    private static func render(_ rows: [Row]) -> String {
        func counts(_ rows: [Row]) -> String {
            let n = { (v: Invariants.Verdict) in rows.filter { $0.verdict == v }.count }
            return "| \(rows.filter { $0.verdict != nil }.count) | \(n(.clean)) | \(n(.leftSomething)) | \(n(.lostData)) |"
        }
        var lines = ["# Fault matrix (seed \(FaultMatrix.seed), \(FaultMatrix.full ? "full" : "sample of \(FaultMatrix.sample) per operation"))", "",
                     "| operation | tried | clean | left something / said something untrue | lost data |", "|---|---|---|---|---|"]
        var operations: [String] = []
        for row in rows where !operations.contains(row.operation) { operations.append(row.operation) }
        for operation in operations { lines.append("| \(operation) " + counts(rows.filter { $0.operation == operation })) }
        lines.append("| **all** " + counts(rows))
        lines += ["", "| operation | step | signal | verdict | what |", "|---|---|---|---|---|"]
        for row in rows {
            let verdict = row.verdict.map { ["clean", "left something", "LOST DATA"][$0.rawValue] } ?? "not reached"
            lines.append("| \(row.operation) | \(row.step) | \(row.signal) | \(verdict) | \(row.problems.joined(separator: "; ").replacingOccurrences(of: "|", with: "/")) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
