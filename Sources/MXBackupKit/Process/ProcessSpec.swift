import Foundation

/// What to run: a program, its arguments and its environment.
///
/// Secrets travel only in `environment` (e.g. PGPASSWORD) or through a pipe, never in `arguments`,
/// because argv is visible to every user of the machine in `ps`. The child inherits none of our
/// variables beyond `ChildEnvironment.base` and the group named in `inherits` (see `ChildEnvironment`).
public struct ProcessSpec: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    /// Set for the child explicitly, over anything inherited.
    public var environment: [String: String]
    /// Which of our variables the child inherits, beyond the base.
    public var inherits: ChildEnvironment

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
                inherits: ChildEnvironment = ChildEnvironment()) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.inherits = inherits
    }

    /// The child's whole environment, given ours.
    public func childEnvironment(from ours: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        ChildEnvironment.base.union(inherits).select(from: ours).merging(environment) { _, explicit in explicit }
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
