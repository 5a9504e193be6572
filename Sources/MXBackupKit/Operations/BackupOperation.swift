import Foundation

/// `mxbackup backup`: pg_dump → (scan) → compress → [gpg] → NAME.partial, hashed on the way;
/// then manifest, fsync, rename. Preconditions (lock, encryption keys, server, tool versions) are
/// checked before the dump starts, so a refused run writes nothing.
public struct BackupOperation {
    public struct Options: Sendable {
        public var compression: Compression
        public var level: Int?
        public var threads: Int
        public var encryption: Encryption
        public var includeOneTimeKeys: Bool
        public var directory: String
        public var serverName: String?
        /// `.safety`: a restore's copy of the live database before it replaces it, named and marked so that
        /// it is never taken for a backup; whole (its own safety schemas included), to be reloaded as it was.
        public var kind: BackupName.Kind = .backup

        public init(_ config: Configuration) {
            compression = config.compression
            level = config.settings.backup.level
            threads = config.settings.backup.threads
            encryption = config.encryption
            includeOneTimeKeys = config.settings.backup.includeOneTimeKeys
            directory = config.backupDirectory
            serverName = config.settings.synapse.serverName
        }
    }

    public struct Result: Sendable {
        public var path: String
        public var manifestPath: String
        public var manifest: Manifest
        public var seconds: Double
    }

    /// Synapse's backup advice: restored one-time keys are handed out twice and break E2E decryption.
    public static let oneTimeKeysTable = "public.e2e_one_time_keys_json"

    public let connection: PostgresConnection
    public let gpg: GPG
    public let options: Options
    public let console: Console

    public init(connection: PostgresConnection, gpg: GPG, options: Options, console: Console) {
        self.connection = connection
        self.gpg = gpg
        self.options = options
        self.console = console
    }

    /// - Parameter takeLock: false when the caller (a restore making its safety backup) holds the lock.
    public func run(commandLine: String, takeLock: Bool = true) throws -> Result {
        let started = Date()
        FaultPoint.reached("backup: lock")
        try BackupDirectory.prepare(options.directory, console: console)
        let lock = takeLock ? try OperationLock(directory: options.directory, connection: connection, command: commandLine) : nil
        defer { lock?.release() }
        if let stale = lock?.staleHolder { console.warn("took over a stale lock left by: \(stale)") }
        if takeLock {
            for leftover in BackupDirectory.removeAbandonedPartials(options.directory) {
                console.info("removed \(leftover), left by an interrupted run")
            }
        }
        if takeLock, let leftover = RestoreState.leftoverWarning(directory: options.directory, database: connection.database) {
            console.warn(leftover)
        }

        // Fail closed: the keys are checked before anything is dumped.
        FaultPoint.reached("backup: check encryption")
        let encryption: Encryption
        let recipients: [String]
        switch options.encryption {
        case .recipients(let ids):
            recipients = try gpg.usableRecipients(ids)
            encryption = .recipients(recipients)
        case .symmetric, .none:
            recipients = []
            encryption = options.encryption
        }

        FaultPoint.reached("backup: check server")
        let client = PostgresClient(connection)
        let server = try ServerInfo.fetch(client)
        let dumpTool = try ServerInfo.toolVersion("pg_dump", connection: connection)
        try server.requireDumpTool("pg_dump", major: dumpTool.major, version: dumpTool.version)
        try Interrupts.shared.checkpoint()

        let name = BackupName.make(date: started, compression: options.compression, encrypted: encryption != .none, kind: options.kind)
        let path = (options.directory as NSString).appendingPathComponent(name)
        console.info("backing up \(connection.display) (PostgreSQL \(server.version), \(Format.bytes(server.databaseSize))) to \(path)")

        let written = Box<Int64>(0)
        let pipeline = try WritePipeline(finalPath: path, progress: written, compression: options.compression, level: options.level,
                                         threads: options.threads, encryption: encryption, gpg: gpg)
        let file = pipeline.file
        let scanner = DumpScanner()
        do {
            FaultPoint.reached("backup: dump")
            try dump(into: pipeline, scanner: scanner, written: written, started: started)
        } catch {
            pipeline.cancel()
            if let signal = Interrupts.shared.signal {
                throw MXError(.interrupted(signal: signal), "backup interrupted by signal \(signal): no backup written, \(file.partialPath) removed")
            }
            throw error
        }

        let manifest = Manifest(
            manifestFormat: Manifest.currentFormat, mxbackupVersion: MXBackupVersion.current,
            createdAt: Format.iso8601(started), host: ProcessInfo.processInfo.hostName,
            database: connection.database, serverVersion: server.version, pgDumpVersion: dumpTool.version,
            schemaVersion: scanner.schemaVersion, schemaCompatVersion: scanner.schemaCompatVersion,
            serverName: scanner.firstUserID.flatMap(Self.serverName(of:)) ?? options.serverName,
            rowCounts: .init(users: scanner.tableRows["public.users"] ?? 0, rooms: scanner.tableRows["public.rooms"] ?? 0,
                             events: scanner.tableRows["public.events"] ?? 0,
                             localMediaRepository: scanner.tableRows["public.local_media_repository"] ?? 0),
            tableRows: scanner.tableRows, maxStreamOrdering: scanner.maxStreamOrdering,
            databaseSize: server.databaseSize, dumpFormat: "plain", dumpSize: scanner.bytes,
            excludedTableData: options.includeOneTimeKeys ? [] : [Self.oneTimeKeysTable],
            compression: options.compression.rawValue,
            compressionLevel: options.level ?? options.compression.defaultLevel,
            encryption: .init(mode: Self.mode(of: encryption), recipients: recipients),
            file: .init(name: name, size: file.bytesWritten, sha256: file.sha256 ?? ""),
            purpose: options.kind == .safety ? Manifest.safetyPurpose : nil,
            excludedSchemas: excludedSchemas.isEmpty ? nil : excludedSchemas)
        let manifestPath = Manifest.path(forBackup: path)
        do {
            // Manifest first: a crash between the two renames leaves an orphan manifest (harmless,
            // pruned), never a backup that looks like a legacy file.
            FaultPoint.reached("backup: manifest")
            try FileSink.writeAtomically(try manifest.encoded(), to: manifestPath)
            try Interrupts.shared.checkpoint()
            FaultPoint.reached("backup: rename into place")
            try pipeline.commit()
        } catch {
            pipeline.cancel()
            unlink(manifestPath)
            throw error
        }
        return Result(path: path, manifestPath: manifestPath, manifest: manifest, seconds: Date().timeIntervalSince(started))
    }

    /// Runs pg_dump and pushes its output through the scanner into `sink`, then finishes the chain.
    private func dump(into sink: ByteSink, scanner: DumpScanner, written: Box<Int64>, started: Date) throws {
        // What restore would refuse must not become a backup that looks good.
        let refused = { (refusal: PsqlScript.Refusal) in
            MXError.failed("pg_dump's output for \(connection.database), line \(refusal.line), \(refusal.reason): a restore would refuse it, so no backup is written; please report this")
        }
        var arguments = ["--format=plain", "--no-owner", "--no-privileges"] + excludedSchemas.map { "--exclude-schema=\($0)" }
        if !options.includeOneTimeKeys { arguments.append("--exclude-table-data=\(Self.oneTimeKeysTable)") }
        let spec = connection.tool("pg_dump", arguments)
        let pgDump: PipedChild
        do {
            pgDump = try PipedChild(spec, input: false, output: true)
        } catch {
            sink.cancel()
            throw error
        }
        let child = pgDump.process
        let stderr = pgDump.stderr
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate(); FileDescriptor.close(pgDump.output) }
        var lastProgress = Date()
        do {
            while true {
                let n = try FileDescriptor.read(pgDump.output, into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                if scanner.bytes == 0 { FaultPoint.reached("backup: dump: streaming") }
                do {
                    try scanner.scan(chunk)
                } catch {
                    throw refused(error)
                }
                try sink.write(chunk)
                if Date().timeIntervalSince(lastProgress) >= 0.5 {
                    lastProgress = Date()
                    let elapsed = lastProgress.timeIntervalSince(started)
                    console.progress("dumped \(Format.bytes(scanner.bytes)), written \(Format.bytes(written.value)), "
                                     + "\(Format.bytes(Int64(Double(scanner.bytes) / max(elapsed, 0.001))))/s, \(Format.duration(elapsed))")
                }
            }
        } catch {
            child.signalGroup(SIGTERM)
            child.wait()
            _ = stderr.finish()
            console.endProgress()
            sink.cancel()
            throw error
        }
        console.endProgress()
        let termination = child.wait()
        let message = stderr.finish()
        guard termination.succeeded else {
            sink.cancel()
            if Interrupts.shared.signal == nil, !message.isEmpty {
                throw PostgresClient.explain(message, connection: connection, tool: "pg_dump")
            }
            throw MXError.failed("pg_dump failed (\(termination.description)) after \(Format.bytes(scanner.bytes))\(message.isEmpty ? "" : ": " + message)")
        }
        do {
            try scanner.finish()
        } catch {
            sink.cancel()
            throw refused(error)
        }
        guard scanner.complete else {
            sink.cancel()
            throw MXError.failed("pg_dump ended without its completion line after \(Format.bytes(scanner.bytes)): the dump is incomplete, no backup written")
        }
        try sink.finish()
    }

    /// A restore's safety copies inside the database are not Synapse's data: a backup leaves them out.
    private var excludedSchemas: [String] { options.kind == .safety ? [] : SafetyCopies.schemaPatterns }

    static func serverName(of userID: String) -> String? {
        guard let colon = userID.firstIndex(of: ":") else { return nil }
        return String(userID[userID.index(after: colon)...])
    }

    static func mode(of encryption: Encryption) -> String {
        switch encryption {
        case .none: return "none"
        case .recipients: return "recipients"
        case .symmetric: return "symmetric"
        }
    }
}
