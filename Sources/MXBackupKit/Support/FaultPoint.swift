import Foundation

/// The fault-injection suite's hook (docs/fault-injection.md): every named step of every operation
/// passes through `reached`. Inert unless its environment variables are set:
/// - `MXBACKUP_STEP_LOG=FILE`: each step's name is appended to FILE as it starts (the suite learns the steps from it);
/// - `MXBACKUP_FAULT_PAUSE=PREFIX` with `MXBACKUP_FAULT_MARKER=FILE`: at the first step whose name starts with
///   PREFIX, "PID STEP" is written to FILE and the run waits until FILE is removed, so the suite can kill it there.
public enum FaultPoint {
    private static let environment = ProcessInfo.processInfo.environment
    private static let stepLog = environment["MXBACKUP_STEP_LOG"].flatMap { $0.isEmpty ? nil : $0 }
    private static let pause = environment["MXBACKUP_FAULT_PAUSE"].flatMap { $0.isEmpty ? nil : $0 }
    private static let marker = environment["MXBACKUP_FAULT_MARKER"].flatMap { $0.isEmpty ? nil : $0 }
    private static let state = NSLock()
    nonisolated(unsafe) private static var paused = false

    public static func reached(_ step: String) {
        guard stepLog != nil || pause != nil else { return }
        if let stepLog { append(step + "\n", to: stepLog) }
        guard let pause, let marker, step.hasPrefix(pause) else { return }
        let first = state.withLock { () -> Bool in
            defer { paused = true }
            return !paused
        }
        guard first else { return }
        try? FileSink.writeAtomically(Data("\(getpid()) \(step)\n".utf8), to: marker)
        while FileManager.default.fileExists(atPath: marker) { usleep(5_000) }
    }

    private static func append(_ line: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        Glibc.close(fd)
    }
}
