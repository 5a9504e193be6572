import Foundation

/// Where human-readable output goes. Progress and log lines go to stderr, results to stdout,
/// so `--json` output on stdout stays machine-readable.
public struct Console: Sendable {
    public enum Mode: Sendable { case interactive, log, quiet }
    public var mode: Mode

    public init(mode: Mode) { self.mode = mode }

    /// Interactive when stderr is a terminal; timestamped log lines otherwise (cron, systemd).
    public static func detect(quiet: Bool) -> Console {
        if quiet { return Console(mode: .quiet) }
        return Console(mode: isatty(STDERR_FILENO) == 1 ? .interactive : .log)
    }

    public func info(_ line: String) {
        switch mode {
        case .quiet: return
        case .interactive: Console.writeErr(line + "\n")
        case .log: Console.writeErr("\(Console.timestamp()) \(line)\n")
        }
    }

    public func warn(_ line: String) {
        Console.writeErr(mode == .log ? "\(Console.timestamp()) warning: \(line)\n" : "warning: \(line)\n")
    }

    /// A progress line that rewrites itself; only on a terminal.
    public func progress(_ line: String) {
        guard mode == .interactive else { return }
        Console.writeErr("\r\u{1B}[K" + line)
    }

    public func endProgress() {
        guard mode == .interactive else { return }
        Console.writeErr("\r\u{1B}[K")
    }

    public static func writeErr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    public static func writeOut(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func timestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
