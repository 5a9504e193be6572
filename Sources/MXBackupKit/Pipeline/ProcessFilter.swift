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
        do {
            let n = try FileDescriptor.read(output, into: buffer)
            if n == 0 { try finish() }
            return n
        } catch let error as FileDescriptor.IOError {
            throw MXError.failed("\(child.spec.name): \(error)")
        }
    }

    private var finished = false

    /// Waits for the child and the feeder; throws what went wrong.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        FileDescriptor.close(output)
        feeder.join()
        let termination = child.wait()
        let message = stderr.finish()
        if let error = feederError.value { throw error }
        if !termination.succeeded { throw describeFailure(termination, message) }
    }

    /// Stops the child (and its group) and releases everything; for error paths.
    public func cancel() {
        guard !finished else { return }
        child.signalGroup(SIGKILL)
        try? finish()
    }
}

struct UncheckedSource: @unchecked Sendable {
    let value: ByteSource
    init(_ value: ByteSource) { self.value = value }
}
