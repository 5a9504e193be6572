import Foundation

/// A child started with posix_spawn in a process group of its own.
///
/// Own group: a terminal's Ctrl-C reaches only us, and we end the child *and everything it started*
/// (docker exec, a shell pipeline) with one kill(-pgid). Any descriptors can be mapped into the child
/// (fd 3 for gpg's passphrase), which Foundation.Process and swift-subprocess cannot do on Linux.
public final class ChildProcess: Sendable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        public var succeeded: Bool { self == .exited(0) }

        public var description: String {
            switch self {
            case .exited(let code): return "exit status \(code)"
            case .signaled(let sig): return "killed by signal \(sig)"
            }
        }
    }

    public let pid: pid_t
    public let spec: ProcessSpec
    private let termination = Box<Termination?>(nil)
    /// Held while reaping, so that a second caller waits for the first instead of reaping nothing.
    private let reaping = NSLock()

    /// - Parameter descriptors: child fd → our fd, dup2()ed in the child. Child fds 0–2 not listed
    ///   are connected to /dev/null. Our fds are all close-on-exec, so nothing else leaks into the child.
    public init(_ spec: ProcessSpec, descriptors: [Int32: Int32]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (childFD, parentFD) in descriptors.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_adddup2(&actions, parentFD, childFD)
        }
        for fd: Int32 in 0...2 where descriptors[fd] == nil {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes,
                                 Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = spec.childEnvironment()
        let argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        var pid: pid_t = 0
        var rc: Int32 = 0
        // ETXTBSY: a script just written by another thread may briefly still be open for writing in a child
        // forked meanwhile; retrying is what Go's os/exec does too.
        for attempt in 0..<20 {
            // Registered before the spawn returns so a signal arriving now still reaches the child's group.
            rc = Interrupts.shared.whileSpawning {
                posix_spawnp(&pid, spec.executable, &actions, &attributes, argv, envp)
            } register: { pid }
            guard rc == ETXTBSY, attempt < 19 else { break }
            usleep(50_000)
        }
        guard rc == 0 else {
            throw MXError.refused(rc == ENOENT
                ? "\(spec.name) not found on PATH: install it (see README, set-up) or set the tool's path in the configuration"
                : "cannot start \(spec.name): \(Format.errno(rc))")
        }
        self.pid = pid
        self.spec = spec
    }

    /// Waits for the child to end. Safe to call more than once, from any thread.
    @discardableResult
    public func wait() -> Termination {
        reaping.lock()
        defer { reaping.unlock() }
        if let done = termination.value { return done }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        Interrupts.shared.unregister(group: pid)
        let result: Termination = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        termination.value = result
        return result
    }

    /// Signals the child's whole process group.
    public func signalGroup(_ signal: Int32 = SIGTERM) {
        if termination.value == nil { kill(-pid, signal) }
    }
}
