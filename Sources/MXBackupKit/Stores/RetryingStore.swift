import Foundation

/// When and how often a store operation is tried again: waits what a rate limit asks, backs off
/// exponentially on transient failures, gives up at once on permanent ones.
public struct RetryPolicy: Sendable {
    public let attempts: Int
    public let initialDelay: Double
    public let console: Console
    /// Names the store in messages.
    public var label: String
    /// The longest rate-limit wait worth it; a longer `retry_after` gives up at once (nil: any).
    public var longestWait: Double?

    public init(attempts: Int = 5, initialDelay: Double = 1, console: Console, label: String = "store", longestWait: Double? = nil) {
        self.attempts = attempts
        self.initialDelay = initialDelay
        self.console = console
        self.label = label
        self.longestWait = longestWait
    }

    public func run<T>(_ what: String, _ body: () throws -> T) throws -> T {
        var delay = initialDelay
        for attempt in 1...attempts {
            do {
                return try body()
            } catch let error as StoreError {
                let wait: Double
                switch error {
                case .permanent(let message): throw MXError.failed("\(label): \(what): \(message)")
                case .rateLimited(let seconds, let message):
                    if let longestWait, seconds > longestWait {
                        throw MXError.failed("\(label): \(what): \(message), longer than the \(Format.duration(longestWait)) worth waiting")
                    }
                    wait = seconds
                case .transient: wait = delay; delay *= 2
                }
                try Interrupts.shared.checkpoint()  // a call given up because of a signal is not retried
                guard attempt < attempts else {
                    throw MXError.failed("\(label): \(what) failed \(attempts) times, last: \(error.message)")
                }
                console.warn("\(label): \(what): \(error.message); retrying in \(Format.duration(wait)) (attempt \(attempt + 1) of \(attempts))")
                Thread.sleep(forTimeInterval: wait)
            }
        }
        preconditionFailure("unreachable")
    }
}

/// Any store with `RetryPolicy` around each operation. Because `put` is idempotent (resumable), a
/// retried upload does not send again what was already confirmed.
public struct RetryingStore: BackupStore {
    public let base: BackupStore
    public let policy: RetryPolicy

    public init(_ base: BackupStore, policy: RetryPolicy) {
        self.base = base
        var policy = policy
        policy.label = base.description
        self.policy = policy
    }

    public var description: String { base.description }

    func retrying<T>(_ what: String, _ body: () throws -> T) throws -> T { try policy.run(what, body) }

    public func put(path: String, manifest: Manifest) throws {
        try retrying("upload of \(manifest.file.name)") { try base.put(path: path, manifest: manifest) }
    }

    public func list() throws -> [StoredBackup] { try retrying("list") { try base.list() } }

    public func open(_ name: String) throws -> ByteSource { try retrying("download of \(name)") { try base.open(name) } }

    public func delete(_ name: String) throws -> (deleted: Bool, note: String?) {
        try retrying("delete of \(name)") { try base.delete(name) }
    }
}
