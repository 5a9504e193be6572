import Foundation

/// A child process in the middle of a reading pipeline: a worker thread feeds it from `upstream`,
/// and its stdout is read as a `ByteSource` (gpg --decrypt, pg_restore -f -).
///
/// `finish()` must be called after the end of its output: it waits for the child and the feeder and
/// reports the first real failure (an upstream error such as a truncated file wins over the child's
/// complaint about it).
public final class ProcessFilter: ByteSource, @unchecked Sendable {
    private let child: ChildProcess
    private let output: Int32
    private let feeder: Worker
    private let feederError: Box<Error?>
    private let stderr: StderrCollector
    private let describeFailure: @Sendable (ChildProcess.Termination, String) -> MXError

    /// - Parameters:
    ///   - extraInput: bytes for child fd 3 (a passphrase), written before the child starts.
    ///   - describeFailure: turns the exit status and stderr into the operator's message.
    public init(_ spec: ProcessSpec, upstream: ByteSource, extraInput: Data? = nil,
                describeFailure: @escaping @Sendable (ChildProcess.Termination, String) -> MXError) throws {
        self.describeFailure = describeFailure
        let filter = try PipedChild(spec, input: true, output: true, extraInput: extraInput)
        child = filter.process
        stderr = filter.stderr
        output = filter.output
        let input = filter.input
        let error = Box<Error?>(nil)
        feederError = error
        let source = UncheckedSource(upstream)
        feeder = Worker("feed-\(spec.name)") {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate(); FileDescriptor.close(input) }
            do {
                while true {
                    let n = try source.value.read(into: buffer)
                    if n == 0 { break }
                    try FileDescriptor.writeAll(input, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
            } catch let failure as MXError {
                error.value = failure
            } catch {
                // EPIPE: the child stopped reading; its own exit status says why.
            }
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard outcome == nil else {  // ended: our end of its output is closed (its number may be reused)
            try finish()
            return 0
        }
        do {
            let n = try FileDescriptor.read(output, into: buffer)
            if n == 0 { try finish() }
            return n
        } catch let error as FileDescriptor.IOError {
            throw MXError.failed("\(child.spec.name): \(error)")
        }
    }

    /// The child's and the feeder's outcome once waited for (nil inside: success); waited for once only.
    private var outcome: Error??

    /// Waits for the child and the feeder; throws what went wrong. Later calls repeat the outcome.
    public func finish() throws {
        if let failure = end() { throw failure }
    }

    /// Stops the child (and its group) and releases everything; for error paths. Any number of calls,
    /// also after `finish`.
    public func cancel() {
        if outcome == nil { child.signalGroup(SIGKILL) }
        _ = end()
    }

    private func end() -> Error? {
        if let outcome { return outcome }
        FileDescriptor.close(output)
        feeder.join()
        let termination = child.wait()
        let message = stderr.finish()
        let result: Error? = feederError.value ?? (termination.succeeded ? nil : describeFailure(termination, message))
        outcome = .some(result)
        return result
    }
}

struct UncheckedSource: @unchecked Sendable {
    let value: ByteSource
    init(_ value: ByteSource) { self.value = value }
}
