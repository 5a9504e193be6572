import Foundation
import MXBackupKit

/// A run of the real binary in the background that pauses at the first step whose name starts with `pauseAt`
/// (the FaultPoint hook, docs/fault-injection.md), so a test can break something there and then let it go on.
/// Without `pauseAt` it simply runs in the background, bounded by `finish`; `fileSizeLimitKiB` runs it under `ulimit -f`.
final class PausedRun {
    let child: ChildProcess
    private let marker: String
    private let stdoutPath: String
    private let stderrPath: String

    init(_ box: Sandbox, _ arguments: [String], pauseAt: String?, environment: [String: String] = [:], fileSizeLimitKiB: Int? = nil) throws {
        let directory = try makeTemporaryDirectory("run")
        marker = directory + "/paused"
        stdoutPath = directory + "/stdout"
        stderrPath = directory + "/stderr"
        var environment = environment
        if let pauseAt {
            environment["MXBACKUP_FAULT_PAUSE"] = pauseAt
            environment["MXBACKUP_FAULT_MARKER"] = marker
        }
        let out = open(stdoutPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        let err = open(stderrPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(out); close(err) }
        var spec = box.spec(arguments, environment: environment)
        if let fileSizeLimitKiB {
            // ulimit -f counts 512-byte blocks in POSIX sh.
            spec = ProcessSpec("sh", ["-c", "ulimit -f \(fileSizeLimitKiB * 2) && exec \"$0\" \"$@\"", spec.executable] + spec.arguments,
                               environment: spec.environment)
        }
        child = try ChildProcess(spec, descriptors: [1: out, 2: err])
    }

    /// The step it paused at; throws if it ended or did not get there in time.
    func waitForPause(seconds: Double = 120) throws -> String {
        guard waitUntil(seconds: seconds, { FileManager.default.fileExists(atPath: marker) || !isAlive(child.pid) }),
              let text = try? String(contentsOfFile: marker, encoding: .utf8) else {
            let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            child.signalGroup(SIGKILL)
            child.wait()
            throw MXError.failed("the run never reached the pause point: \(stderr)")
        }
        return String(text.drop { $0 != " " }.dropFirst()).trimmingCharacters(in: .newlines)
    }

    /// Whether it paused at its step within `seconds`.
    func paused(seconds: Double = 60) -> Bool { waitUntil(seconds: seconds) { FileManager.default.fileExists(atPath: marker) } }

    /// Lets a paused run go on.
    func release() { unlink(marker) }

    func kill9() -> ChildProcess.Termination {
        kill(child.pid, SIGKILL)
        return child.wait()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Its result, or nil if it had not ended after `seconds` (a hang: it is then killed, with its process group).
    func finish(seconds: Double) -> Sandbox.Result? {
        let ended = waitUntil(seconds: seconds) { !isAlive(child.pid) }
        if !ended { child.signalGroup(SIGKILL) }
        let termination = child.wait()
        guard ended else { return nil }
        return Sandbox.Result(termination: termination, stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
                              stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }
}
