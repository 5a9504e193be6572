import Foundation

/// SIGINT/SIGTERM/SIGHUP handling for the whole program.
///
/// The signals are blocked in every thread and received by one thread with sigwait(), so no code runs
/// in signal context. On the first signal every registered child process group is sent SIGTERM: the
/// pipelines then see their pipes close, unwind through their normal error paths (removing partial
/// files, releasing locks) and the command exits 128+signal. If that takes longer than the grace
/// period, or a second signal arrives, registered files are removed and the process exits at once.
public final class Interrupts: @unchecked Sendable {
    public static let shared = Interrupts()

    private let lock = NSLock()
    private var groups: Set<pid_t> = []
    private var files: Set<String> = []
    private var received: Int32?
    private var criticalDepth = 0

    /// Must run first in main(), before any other thread exists, so that they all inherit the mask.
    public func install(gracePeriod: Double = 10) {
        Glibc.signal(SIGPIPE, SIG_IGN)   // a closed pipe must be an EPIPE error, not our death
        Glibc.signal(SIGXFSZ, SIG_IGN)   // a file-size limit must be an EFBIG error, not our death
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        let thread = Thread { [self] in
            var set = blocked
            while true {
                var sig: Int32 = 0
                guard sigwait(&set, &sig) == 0 else { continue }
                handle(sig, gracePeriod: gracePeriod)
            }
        }
        thread.name = "signals"
        thread.start()
    }

    private func handle(_ sig: Int32, gracePeriod: Double) {
        let (first, targets, critical): (Bool, Set<pid_t>, Bool) = lock.withLock {
            let first = received == nil
            if first { received = sig }
            return (first, groups, criticalDepth > 0)
        }
        if critical {
            Console.writeErr("\nmxbackup: received signal \(sig) while swapping databases: finishing the swap (or its rollback) first\n")
            return
        }
        guard first else { emergencyExit(sig) }
        Console.writeErr("\nmxbackup: received signal \(sig), stopping…\n")
        for group in targets { kill(-group, SIGTERM) }
        armEmergencyExit(sig, after: gracePeriod)
    }

    /// The last resort when unwinding takes too long; it waits while a critical section (a swap, a
    /// safety-backup reload) is running, since stopping there would leave things half way.
    private func armEmergencyExit(_ sig: Int32, after seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            if lock.withLock({ criticalDepth > 0 }) {
                armEmergencyExit(sig, after: 1)
            } else {
                emergencyExit(sig)
            }
        }
    }

    private func emergencyExit(_ sig: Int32) -> Never {
        let (targets, leftovers) = lock.withLock { (groups, files) }
        for group in targets { kill(-group, SIGKILL) }
        for path in leftovers { unlink(path) }
        Console.writeErr("mxbackup: stopped by signal \(sig)\n")
        _exit(128 + sig)
    }

    /// Runs `body` with signals deferred: a step that must not stop half way (the database swap, its
    /// rollback, the cleanup after a failure). A signal received meanwhile is acted on by the next
    /// `checkpoint()`; children started inside are not stopped by an earlier signal.
    public func critical<T>(_ body: () throws -> T) rethrows -> T {
        lock.withLock { criticalDepth += 1 }
        defer { lock.withLock { criticalDepth -= 1 } }
        return try body()
    }

    /// The signal received so far, if any.
    public var signal: Int32? { lock.withLock { received } }

    /// Throws `.interrupted` once a signal has arrived; called between steps.
    public func checkpoint() throws {
        if let sig = signal { throw MXError(.interrupted(signal: sig), "interrupted by signal \(sig)") }
    }

    func whileSpawning(_ spawn: () -> Int32, register pid: () -> pid_t) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        let rc = spawn()
        if rc == 0 {
            let child = pid()
            groups.insert(child)
            // New work after a signal is stopped at once, except in a critical section (cleanup, swap).
            if received != nil && criticalDepth == 0 { kill(-child, SIGTERM) }
        }
        return rc
    }

    func unregister(group: pid_t) {
        _ = lock.withLock { groups.remove(group) }
    }

    /// A file to delete if we must exit without unwinding (a `.partial`).
    public func register(file: String) {
        _ = lock.withLock { files.insert(file) }
    }

    public func unregister(file: String) {
        _ = lock.withLock { files.remove(file) }
    }
}
