import Foundation

/// Runs a short command to completion and collects its output (queries, version checks, key listings).
public enum ProcessRunner {
    public struct Output: Sendable {
        public var termination: ChildProcess.Termination
        public var stdout: Data
        public var stderr: String
        public var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    public static func run(_ spec: ProcessSpec, input: Data? = nil) throws -> Output {
        let child = try PipedChild(spec, input: input != nil, output: true)
        var feeder: Worker?
        if let input {
            let fd = child.input
            feeder = Worker("stdin-\(spec.name)") {
                try? FileDescriptor.writeAll(fd, input)
                FileDescriptor.close(fd)
            }
        }
        let stdout = (try? FileDescriptor.readToEnd(child.output)) ?? Data()
        FileDescriptor.close(child.output)
        feeder?.join()
        let termination = child.process.wait()
        return Output(termination: termination, stdout: stdout, stderr: child.stderr.finish())
    }
}
