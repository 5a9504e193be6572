import Foundation

/// Keeps only the data (COPY blocks) of the chosen tables from a plain SQL dump stream: the
/// `--tables` restore loads just these rows, whatever the backup's format (custom dumps arrive here
/// already turned into SQL by pg_restore).
public final class TableDataFilter: ByteSource {
    private let upstream: ByteSource
    private let tables: Set<String>
    private var lines = LineAssembler()
    private var inSelectedCopy = false
    private var inOtherCopy = false
    private var pending = ByteQueue()
    private var ended = false
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    /// Tables whose COPY block was passed on.
    public private(set) var found: Set<String> = []

    /// - Parameter tables: qualified names, `public.users`.
    public init(_ upstream: ByteSource, tables: Set<String>) {
        self.upstream = upstream
        self.tables = tables
    }

    deinit { input.deallocate() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pending.isEmpty && !ended {
            let n = try upstream.read(into: input)
            if n == 0 { ended = true; break }
            lines.feed(UnsafeRawBufferPointer(rebasing: input[0..<n])) { line($0) }
        }
        return pending.pop(into: buffer)
    }

    private func line(_ text: UnsafeRawBufferPointer) {
        if inSelectedCopy || inOtherCopy {
            if inSelectedCopy { pending.appendLine(text) }
            if text.count == 2 && text[0] == 0x5C && text[1] == 0x2E { inSelectedCopy = false; inOtherCopy = false }
            return
        }
        guard let table = CopyHeader.table(in: text) else { return }
        if tables.contains(table) {
            inSelectedCopy = true
            found.insert(table)
            pending.appendLine(text)
        } else {
            inOtherCopy = true
        }
    }
}
