import ArgumentParser
import Foundation
import MXBackupKit

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a backup from a store into a local file (checked against its hashes), with its manifest.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Argument(help: "The stored backup's name, 'latest' (default), or a Telegram message link or id (a backup sent whole by the legacy script).")
    var name: String?

    @Option(help: ArgumentHelp("Directory to write into (default: the backup directory).", valueName: "DIR"))
    var output: String?

    func run() throws {
        try perform {
            let config = try global.load()
            guard store.from != nil else { throw MXError.configuration("fetch: name the store with --from telegram") }
            let source = try store.source(name, config: config, console: global.console)
            let directory = output ?? config.backupDirectory
            // Only the backup directory is mxbackup's to tighten; --output is the operator's (/tmp keeps its sticky bit).
            try BackupDirectory.prepare(directory, console: global.console, owned: output == nil)
            let target = (directory as NSString).appendingPathComponent(source.fileName)
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
                if let manifest = source.manifest {
                    guard sink.sha256 == manifest.file.sha256 else { throw MXError.failed("\(target): the download does not match the manifest") }
                    FaultPoint.reached("fetch: write the manifest")
                    try FileSink.writeAtomically(try manifest.encoded(), to: Manifest.path(forBackup: target))
                } else {
                    // A legacy document has no checksum: it is kept only once it reads like a sound legacy file.
                    let verdict = BackupVerifier(gpg: config.gpg, passphrase: config.settings.gpg.passphrase, connection: config.postgres)
                        .verify(try .file(sink.partialPath))
                    guard verdict.ok else { throw MXError.refused("\(source.name): \(verdict.detail): not fetched") }
                }
                FaultPoint.reached("fetch: rename into place")
                try sink.commit()
            } catch {
                sink.cancel()
                throw error
            }
            Console.writeOut("fetched \(source.name) to \(target) (\(Format.bytes(sink.bytesWritten)), SHA-256 \(sink.sha256 ?? "")\(source.manifest == nil ? "; legacy file, no manifest: its content was checked, not a checksum" : ""))\n")
        }
    }
}
