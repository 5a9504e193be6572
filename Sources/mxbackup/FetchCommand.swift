import ArgumentParser
import Foundation
import MXBackupKit

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a backup from a store into a local file (checked against its hashes), with its manifest.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Argument(help: "The stored backup's name, or 'latest' (default).")
    var name: String?

    @Option(help: ArgumentHelp("Directory to write into (default: the backup directory).", valueName: "DIR"))
    var output: String?

    func run() throws {
        try perform {
            let config = try global.load()
            guard store.from != nil else { throw MXError.configuration("fetch: name the store with --from telegram") }
            let source = try store.source(name, config: config, console: global.console)
            guard let manifest = source.manifest else { throw MXError.failed("\(source.name): no manifest") }
            let directory = output ?? config.backupDirectory
            // Only the backup directory is mxbackup's to tighten; --output is the operator's (/tmp keeps its sticky bit).
            try BackupDirectory.prepare(directory, console: global.console, owned: output == nil)
            let target = (directory as NSString).appendingPathComponent(manifest.file.name)
            let sink = try FileSink(finalPath: target)
            do {
                FaultPoint.reached("fetch: download")
                let (bytes, _) = try source.open()
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let n = try bytes.read(into: buffer)
                    if n == 0 { break }
                    try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
                try sink.finish()
                guard sink.sha256 == manifest.file.sha256 else { throw MXError.failed("\(target): the download does not match the manifest") }
                FaultPoint.reached("fetch: write the manifest")
                try FileSink.writeAtomically(try manifest.encoded(), to: Manifest.path(forBackup: target))
                FaultPoint.reached("fetch: rename into place")
                try sink.commit()
            } catch {
                sink.cancel()
                throw error
            }
            Console.writeOut("fetched \(source.name) to \(target) (\(Format.bytes(manifest.file.size)), SHA-256 \(manifest.file.sha256))\n")
        }
    }
}
