/// What to run: a program, its arguments and the environment it gets on top of ours.
///
/// Secrets travel only in `environment` (e.g. PGPASSWORD) or through a pipe, never in `arguments`,
/// because argv is visible to every user of the machine in `ps`.
public struct ProcessSpec: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    /// Variables of our own environment the child must not inherit.
    public var unsetEnvironment: Set<String>

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
                unsetEnvironment: Set<String> = []) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.unsetEnvironment = unsetEnvironment
    }

    /// The command line for messages (safe: argv never holds secrets).
    public var display: String {
        ([executable] + arguments).map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    /// The program's short name, for messages ("pg_dump failed: …").
    public var name: String {
        String(executable.split(separator: "/").last ?? Substring(executable))
    }
}
