/// The one error type every command ends with: a single line for the operator and the exit code.
///
/// Messages name the file or setting, say what is wrong and what to do. They never contain secrets:
/// anything that may carry one (child stderr, URLs) is passed through `Redactor` first.
public struct MXError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Bad configuration or command line (exit 2).
        case configuration
        /// A precondition refused the run before anything was changed, or the backup cannot be used (empty,
        /// truncated, corrupt, not decryptable), with or without a manifest (exit 3).
        case refused
        /// The work started and failed; what was left is described in the message (exit 1).
        case failed
        /// Stopped by a signal (exit 128 + signal).
        case interrupted(signal: Int32)
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func configuration(_ message: String) -> MXError { MXError(.configuration, message) }
    public static func refused(_ message: String) -> MXError { MXError(.refused, message) }
    public static func failed(_ message: String) -> MXError { MXError(.failed, message) }

    public var exitCode: Int32 {
        switch kind {
        case .failed: return 1
        case .configuration: return 2
        case .refused: return 3
        case .interrupted(let signal): return 128 + signal
        }
    }

    public var description: String { message }
}
