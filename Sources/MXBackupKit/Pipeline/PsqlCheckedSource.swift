import Foundation

/// Passes SQL through to psql unchanged after reading every line as psql will (`PsqlScript`): the read
/// that completes a line psql would run as a backslash command throws instead of returning it. psql acts
/// on whole lines only and the loader kills it on an input error, so it never sees the command.
public final class PsqlCheckedSource: ByteSource {
    private let upstream: ByteSource
    private let name: String
    private var script = PsqlScript()
    private var lines = LineAssembler()
    private var ended = false

    /// - Parameter name: the file, for the refusal.
    public init(_ upstream: ByteSource, name: String) {
        self.upstream = upstream
        self.name = name
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if ended { return 0 }
        let n = try upstream.read(into: buffer)
        do throws(PsqlScript.Refusal) {
            if n > 0 {
                try lines.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { (line) throws(PsqlScript.Refusal) in _ = try script.line(line) }
            } else {
                ended = true
                try lines.finish { (line) throws(PsqlScript.Refusal) in _ = try script.line(line) }
            }
        } catch {
            throw PsqlScript.refused(name, error)
        }
        return n
    }
}
