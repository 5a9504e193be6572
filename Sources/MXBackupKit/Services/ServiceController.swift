import Foundation

/// Stops and starts Synapse around the moment its database is swapped.
///
/// The main process starts first and must be healthy before the workers start: workers refuse to run
/// until the main process has checked (and, after an upgrade, migrated) the schema.
public protocol ServiceController: Sendable {
    /// For messages and the report ("docker compose services synapse, synapse-worker-1").
    var description: String { get }
    /// What `stop()` stops, main process first: recorded in the restore's state file before stopping,
    /// so that a cleanup starts exactly these again (`recorded(_:)`).
    var names: [String] { get }
    /// Why this control cannot work now (checked by the preflight), nil when it can.
    var unavailable: String? { get }
    func stop() throws
    func startMain() throws
    func startWorkers() throws
    /// The same control for the services a state file recorded (not what runs now).
    func recorded(_ names: [String]) -> ServiceController
}

extension ServiceController {
    public var unavailable: String? { nil }
    public func recorded(_ names: [String]) -> ServiceController { self }
}

/// Runs one service-control command and turns a failure into the operator's message.
func runServiceCommand(_ spec: ProcessSpec, what: String) throws {
    let output = try ProcessRunner.run(spec)
    guard output.termination.succeeded else {
        throw MXError.failed("\(what) failed (\(spec.display), \(output.termination.description)): \(output.stderr.split(separator: "\n").last ?? "")")
    }
}

/// `services.kind: none` — the operator stops and starts Synapse; mxbackup only swaps the database.
public struct NoServices: ServiceController {
    public init() {}
    public var description: String { "none (services are not controlled)" }
    public var names: [String] { [] }
    public func stop() throws {}
    public func startMain() throws {}
    public func startWorkers() throws {}
}

/// `services.kind: command` — operator-given shell commands; the workers' start command is optional.
public struct CommandServices: ServiceController {
    public var stopCommand: String
    public var startCommand: String
    public var startWorkersCommand: String?

    public init(stop: String, start: String, startWorkers: String? = nil) {
        stopCommand = stop
        startCommand = start
        startWorkersCommand = startWorkers
    }

    public var names: [String] { ["synapse"] }
    public var description: String {
        "commands (stop: \(stopCommand); start: \(startCommand)" + (startWorkersCommand.map { "; workers: \($0)" } ?? "") + ")"
    }
    public func stop() throws { try runServiceCommand(ProcessSpec("sh", ["-c", stopCommand]), what: "stopping Synapse") }
    public func startMain() throws { try runServiceCommand(ProcessSpec("sh", ["-c", startCommand]), what: "starting Synapse") }
    public func startWorkers() throws {
        guard let startWorkersCommand else { return }
        try runServiceCommand(ProcessSpec("sh", ["-c", startWorkersCommand]), what: "starting the workers")
    }
}

/// `services.kind: systemd` — the first unit is the main process, the others are workers.
public struct SystemdServices: ServiceController {
    public var units: [String]

    public init(units: [String]) { self.units = units }

    public var description: String { "systemd units \(units.joined(separator: ", "))" }
    public var names: [String] { units }
    public func recorded(_ names: [String]) -> ServiceController { names.isEmpty ? self : SystemdServices(units: names) }
    public func stop() throws {
        try runServiceCommand(ProcessSpec("systemctl", ["stop"] + units.reversed()), what: "stopping Synapse")
    }
    public func startMain() throws {
        try runServiceCommand(ProcessSpec("systemctl", ["start", units[0]]), what: "starting \(units[0])")
    }
    public func startWorkers() throws {
        guard units.count > 1 else { return }
        try runServiceCommand(ProcessSpec("systemctl", ["start"] + units.dropFirst()), what: "starting the workers")
    }
}

/// `services.kind: compose` — `docker compose` in the project directory. Default services: `synapse`
/// and every `synapse-worker-*` that is running now (`docker compose ps --services`), so that exactly
/// what ran before the restore runs after it. Discovery that finds no `synapse` makes the control
/// `unavailable` (a failed preflight check) rather than an error, so that `restore --resume-cleanup`, which
/// starts the services its state file recorded, still works when nothing runs.
public struct ComposeServices: ServiceController {
    public var docker: String
    public var projectDirectory: String?
    public var main: String
    public var workers: [String]
    public private(set) var unavailable: String?

    public init(docker: String, projectDirectory: String?, services: [String]) throws {
        self.docker = docker
        self.projectDirectory = projectDirectory
        var names = services
        if names.isEmpty {
            let listing = try ProcessRunner.run(Self.compose(docker, projectDirectory, ["ps", "--services"]))
            let all = listing.text.split(separator: "\n").map(String.init)
            if !listing.termination.succeeded {
                unavailable = "services.kind compose: 'docker compose ps --services' failed: \(listing.stderr.split(separator: "\n").last ?? ""): set services.compose_dir"
            } else if !all.contains("synapse") {
                unavailable = "services.kind compose: no running 'synapse' service (running: \(all.isEmpty ? "none" : all.joined(separator: ", "))): start it, or list yours in services.compose_services, main process first"
            }
            names = ["synapse"] + all.filter { $0.hasPrefix("synapse-worker-") }.sorted()
        }
        main = names[0]
        workers = Array(names.dropFirst())
    }

    public var names: [String] { [main] + workers }

    public func recorded(_ names: [String]) -> ServiceController {
        guard let first = names.first else { return self }
        var copy = self
        copy.main = first
        copy.workers = Array(names.dropFirst())
        copy.unavailable = nil
        return copy
    }

    static func compose(_ docker: String, _ directory: String?, _ arguments: [String]) -> ProcessSpec {
        ProcessSpec(docker, ["compose"] + (directory.map { ["--project-directory", $0] } ?? []) + arguments, inherits: .docker)
    }

    public var description: String { "docker compose services \(([main] + workers).joined(separator: ", "))" }
    public func stop() throws {
        try runServiceCommand(Self.compose(docker, projectDirectory, ["stop"] + workers + [main]), what: "stopping Synapse")
    }
    public func startMain() throws {
        try runServiceCommand(Self.compose(docker, projectDirectory, ["start", main]), what: "starting \(main)")
    }
    public func startWorkers() throws {
        guard !workers.isEmpty else { return }
        try runServiceCommand(Self.compose(docker, projectDirectory, ["start"] + workers), what: "starting the workers")
    }
}
