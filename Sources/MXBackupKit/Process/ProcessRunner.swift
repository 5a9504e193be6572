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
        let out = try FileDescriptor.pipe()
        let err = try StderrCollector(name: spec.name)
        var descriptors: [Int32: Int32] = [1: out.write, 2: err.writeEnd]
        var inputPipe: (read: Int32, write: Int32)?
        if input != nil {
            inputPipe = try FileDescriptor.pipe()
            descriptors[0] = inputPipe!.read
        }
        let child: ChildProcess
        do {
            child = try ChildProcess(spec, descriptors: descriptors)
        } catch {
            [out.read, out.write, inputPipe?.read ?? -1, inputPipe?.write ?? -1].forEach(FileDescriptor.close)
            err.closeWriteEnd()
            _ = err.finish()
            throw error
        }
        FileDescriptor.close(out.write)
        err.closeWriteEnd()
        var feeder: Worker?
        if let input, let pipe = inputPipe {
            FileDescriptor.close(pipe.read)
            feeder = Worker("stdin-\(spec.name)") {
                try? FileDescriptor.writeAll(pipe.write, input)
                FileDescriptor.close(pipe.write)
            }
        }
        let stdout = (try? FileDescriptor.readToEnd(out.read)) ?? Data()
        FileDescriptor.close(out.read)
        feeder?.join()
        let termination = child.wait()
        return Output(termination: termination, stdout: stdout, stderr: err.finish())
    }
}
