import Foundation
import MXBackupKit

/// Runs the real binary and interrupts it at a chosen moment (docs/fault-injection.md): at a named step,
/// through the binary's own pause hook, or when a condition seen from outside holds (a COPY in
/// pg_stat_activity, bytes in a `.partial`). Every wait is bounded: a run that does not end is a hang.
struct Interruption {
    enum Moment: Sendable {
        /// Pause at the first step whose name starts with this prefix (MXBACKUP_FAULT_PAUSE).
        case step(String)
        /// Poll until the condition holds, wait `delay` seconds, then signal.
        case when(description: String, delay: Double, condition: @Sendable () -> Bool)
    }

    enum Outcome {
        /// The run ended before the moment came (a step this run does not reach).
        case notReached(Sandbox.Result)
        /// Signalled at `step`; `survivors` are its child processes still running 30 s after it ended.
        case ended(Sandbox.Result, step: String, survivors: [pid_t])
        /// It did not end within the bound after the signal (then killed with SIGKILL).
        case hung(String)
    }

    static let bound = 120.0

    static func run(_ box: Sandbox, _ arguments: [String], environment: [String: String] = [:],
                    at moment: Moment, signal: Int32) throws -> Outcome {
        let marker = box.root + "/fault.marker"
        unlink(marker)
        var env = environment
        if case .step(let prefix) = moment {
            env["MXBACKUP_FAULT_PAUSE"] = prefix
            env["MXBACKUP_FAULT_MARKER"] = marker
        }
        let run = try BoundedRun(box, arguments, environment: env)
        let deadline = Date().addingTimeInterval(bound)
        var step = ""
        switch moment {
        case .step:
            while !FileManager.default.fileExists(atPath: marker) {
                guard run.running else { return .notReached(run.finish()) }
                guard Date() < deadline else { run.kill(); return .hung("never reached the step, never ended") }
                usleep(5_000)
            }
            step = ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: " ", maxSplits: 1).last
                .map { $0.trimmingCharacters(in: .newlines) } ?? ""
        case .when(let description, let delay, let condition):
            while !condition() {
                guard run.running else { return .notReached(run.finish()) }
                guard Date() < deadline else { run.kill(); return .hung("'\(description)' never came, the run never ended") }
                usleep(2_000)
            }
            if delay > 0 { usleep(useconds_t(delay * 1_000_000)) }
            step = description
        }
        let children = descendants(of: run.pid)
        kill(run.pid, signal)
        unlink(marker)  // a surviving run resumes and handles the signal
        guard run.wait(seconds: bound) else { run.kill(); return .hung("still running \(Int(bound)) s after signal \(signal) at '\(step)'") }
        let result = run.finish()
        _ = waitUntil(seconds: 30) { children.allSatisfy { !isAlive($0) } }
        let survivors = children.filter(isAlive)
        survivors.forEach { kill($0, SIGKILL) }
        return .ended(result, step: step, survivors: survivors)
    }

    /// Every process below `pid` (from /proc), so that orphans of a killed run can be waited for.
    static func descendants(of pid: pid_t) -> [pid_t] {
        var parent: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let ppid = pid_t(fields[1]) { parent[child] = ppid }
        }
        var found: [pid_t] = []
        var frontier = [pid]
        while let next = frontier.popLast() {
            let children = parent.filter { $0.value == next }.map(\.key)
            found += children
            frontier += children
        }
        return found
    }
}

/// One run of the binary with its output in files and every wait bounded.
final class BoundedRun {
    private let child: ChildProcess
    private let out: String
    private let err: String
    private var fds: [Int32] = []
    var pid: pid_t { child.pid }

    init(_ box: Sandbox, _ arguments: [String], environment: [String: String] = [:]) throws {
        let name = UUID().uuidString.prefix(8)
        out = box.root + "/run-\(name).out"
        err = box.root + "/run-\(name).err"
        fds = [out, err].map { (path: String) -> Int32 in open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        child = try ChildProcess(box.spec(arguments, environment: environment), descriptors: [1: fds[0], 2: fds[1]])
    }

    var running: Bool { isAlive(child.pid) }

    func wait(seconds: Double) -> Bool { waitUntil(seconds: seconds) { !self.running } }

    func kill() {
        child.signalGroup(SIGKILL)
        Glibc.kill(child.pid, SIGKILL)
    }

    func finish() -> Sandbox.Result {
        let termination = child.wait()
        fds.forEach { close($0) }
        fds = []
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        defer { unlink(out); unlink(err) }
        return Sandbox.Result(termination: termination, stdout: read(out), stderr: read(err))
    }
}

extension Sandbox {
    /// Runs mxbackup like `run`, but a run that does not end within `seconds` is killed and reported as hung (exit 137).
    func run(_ arguments: [String], environment: [String: String] = [:], within seconds: Double) throws -> Result {
        let run = try BoundedRun(self, arguments, environment: environment)
        guard run.wait(seconds: seconds) else {
            run.kill()
            let result = run.finish()
            return Result(termination: result.termination, stdout: result.stdout,
                          stderr: result.stderr + "\n(hung: killed after \(Int(seconds)) s)")
        }
        return run.finish()
    }
}
