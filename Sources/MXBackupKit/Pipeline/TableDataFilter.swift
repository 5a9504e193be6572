import Foundation

/// Keeps only the data (COPY blocks) of the chosen tables from a plain SQL dump stream: the
/// `--tables` restore loads just these rows, whatever the backup's format (custom dumps arrive here
/// already turned into SQL by pg_restore).
public final class TableDataFilter: ByteSource {
    private let upstream: ByteSource
    private let tables: Set<String>
    private let name: String
    private var lines = LineAssembler()
    private var script = PsqlScript()
    private var inSelectedCopy = false
    private var pending = ByteQueue()
    private var ended = false
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    /// Tables whose COPY block was passed on.
    public private(set) var found: Set<String> = []

    /// - Parameters:
    ///   - tables: qualified names, `public.users`.
    ///   - name: the file, for a refusal of its SQL.
    public init(_ upstream: ByteSource, tables: Set<String>, name: String) {
        self.upstream = upstream
        self.tables = tables
        self.name = name
    }

    deinit { input.deallocate() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pending.isEmpty && !ended {
            let n = try upstream.read(into: input)
            do throws(PsqlScript.Refusal) {
                if n == 0 {
                    ended = true
                    try lines.finish { (text) throws(PsqlScript.Refusal) in try line(text) }
                } else {
                    try lines.feed(UnsafeRawBufferPointer(rebasing: input[0..<n])) { (text) throws(PsqlScript.Refusal) in try line(text) }
                }
            } catch {
                throw PsqlScript.refused(name, error)
            }
        }
        return pending.pop(into: buffer)
    }

    private func line(_ text: UnsafeRawBufferPointer) throws(PsqlScript.Refusal) {
        switch try script.line(text) {
        case .copyHeader(let table) where tables.contains(table):
            inSelectedCopy = true
            found.insert(table)
            pending.appendLine(text)
        case .copyRow where inSelectedCopy:
            pending.appendLine(text)
        case .copyEnd where inSelectedCopy:
            pending.appendLine(text)
            inSelectedCopy = false
        default:
            return
        }
    }
}
