import Foundation

/// A child with a pipe to its stdin and/or from its stdout, its stderr collected, and optionally a small
/// input on fd 3 (gpg's passphrase). Our copies of the child's pipe ends are closed once it has started,
/// so that end-of-file arrives when the child exits; the caller owns `input` and `output`.
public struct PipedChild {
    public let process: ChildProcess
    /// Our write end of the child's stdin.
    public let input: Int32
    /// Our read end of the child's stdout.
    public let output: Int32
    public let stderr: StderrCollector

    public init(_ spec: ProcessSpec, input wantsInput: Bool, output wantsOutput: Bool, extraInput: Data? = nil) throws {
        let stdinPipe = wantsInput ? try FileDescriptor.streamPipe() : nil
        let stdoutPipe = wantsOutput ? try FileDescriptor.streamPipe() : nil
        let collector = try StderrCollector(name: spec.name)
        var descriptors: [Int32: Int32] = [2: collector.writeEnd]
        if let stdinPipe { descriptors[0] = stdinPipe.read }
        if let stdoutPipe { descriptors[1] = stdoutPipe.write }
        var extraPipe: (read: Int32, write: Int32)?
        if let extraInput {
            let pipe = try FileDescriptor.pipe()
            try FileDescriptor.writeAll(pipe.write, extraInput)  // small: fits the pipe buffer
            FileDescriptor.close(pipe.write)
            extraPipe = pipe
            descriptors[3] = pipe.read
        }
        defer {
            FileDescriptor.close(stdinPipe?.read ?? -1)
            FileDescriptor.close(stdoutPipe?.write ?? -1)
            FileDescriptor.close(extraPipe?.read ?? -1)
            collector.closeWriteEnd()
        }
        do {
            process = try ChildProcess(spec, descriptors: descriptors)
        } catch {
            FileDescriptor.close(stdinPipe?.write ?? -1)
            FileDescriptor.close(stdoutPipe?.read ?? -1)
            collector.closeWriteEnd()  // before finish, which waits for end-of-file; the defer's close is then a no-op
            _ = collector.finish()
            throw error
        }
        input = stdinPipe?.write ?? -1
        output = stdoutPipe?.read ?? -1
        stderr = collector
    }
}
