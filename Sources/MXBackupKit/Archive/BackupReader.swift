import Foundation

/// Reads any backup mxbackup or the legacy scripts made and yields plain SQL: the layers are found
/// from the content (magic bytes), not the name. `.sql`, `.sql.gz`, `.sql.zst`, each optionally
/// GnuPG-encrypted, and custom-format dumps (`pg_dump -Fc`, turned into SQL by `pg_restore -f -`).
///
/// Every layer is strict: a truncated or corrupt stream, trailing data, a wrong key or a file that is not
/// a PostgreSQL dump is an error naming the file. Nothing is written anywhere: decrypted data only flows
/// through pipes.
public final class BackupReader: ByteSource {
    public enum Layer: String, Sendable, Codable {
        case gpg, gzip, zstd, custom, plain
    }

    public let path: String
    public private(set) var layers: [Layer] = []
    private let raw: HashingSource
    private var top: ByteSource
    private var filters: [ProcessFilter] = []
    private var done = false

    /// - Parameters:
    ///   - passphrase: for symmetrically encrypted backups.
    ///   - connection: where pg_restore runs for custom-format dumps (its version must read the dump).
    public init(source: BackupSource, gpg: GPG, passphrase: String?, connection: PostgresConnection) throws {
        path = source.name
        let (bytes, size) = try source.open()
        raw = HashingSource(bytes, size: size)
        guard raw.size > 0 else { throw MXError.refused("\(path): the file is empty: it is not a backup") }
        top = raw
        do {
            try detectLayers(gpg: gpg, passphrase: passphrase, connection: connection)
        } catch {
            // A layer below (gpg, pg_restore) usually knows the real cause of what the layer above saw.
            for filter in filters { try filter.finish() }
            throw error
        }
    }

    private func detectLayers(gpg: GPG, passphrase: String?, connection: PostgresConnection) throws {
        while true {
            let peek = PeekableSource(top)
            top = peek
            let head = try peek.peek(4096)
            guard let layer = Self.detect(head) else {
                if head.isEmpty {
                    throw MXError.refused("\(path): \(layers.isEmpty ? "the file" : "the content inside \(layers.map(\.rawValue).joined(separator: "+"))") is empty")
                }
                throw MXError.refused("\(path): not a PostgreSQL dump or a backup of one (\(layers.isEmpty ? "unknown content" : "unknown content inside " + layers.map(\.rawValue).joined(separator: "+")))")
            }
            guard layers.count < 4, !layers.contains(layer) else {
                throw MXError.refused("\(path): nested \(layer.rawValue) layers: not a backup mxbackup understands")
            }
            layers.append(layer)
            switch layer {
            case .plain:
                return
            case .gzip:
                top = try GzipDecoder(peek, name: path)
            case .zstd:
                top = try ZstdDecoder(peek, name: path)
            case .gpg:
                let file = path
                let keyring = gpg.home ?? ProcessInfo.processInfo.environment["GNUPGHOME"] ?? "~/.gnupg"
                var arguments = ["--decrypt", "--output", "-"]
                if passphrase != nil { arguments = ["--pinentry-mode", "loopback", "--passphrase-fd", "3"] + arguments }
                let filter = try ProcessFilter(gpg.spec(arguments), upstream: peek,
                                               extraInput: passphrase.map { Data(($0 + "\n").utf8) }) { status, stderr in
                    Self.explainDecryption(file: file, keyring: keyring, status: status, stderr: stderr)
                }
                filters.append(filter)
                top = filter
            case .custom:
                let file = path
                let filter = try ProcessFilter(connection.tool("pg_restore", ["--file=-"]), upstream: peek) { status, stderr in
                    MXError.refused("\(file): pg_restore cannot read this custom-format dump (\(status.description)): \(stderr.split(separator: "\n").last ?? ""): the file is damaged, or pg_restore is older than the pg_dump that made it")
                }
                filters.append(filter)
                top = filter
            }
        }
    }

    static func detect(_ head: Data) -> Layer? {
        let bytes = [UInt8](head.prefix(8))
        guard let first = bytes.first else { return nil }
        if bytes.starts(with: [0x1F, 0x8B]) { return .gzip }
        if bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        if bytes.starts(with: Array("PGDMP".utf8)) { return .custom }
        if head.starts(with: Data("-----BEGIN PGP MESSAGE-----".utf8)) { return .gpg }
        if first & 0x80 != 0 {
            // OpenPGP packet header: a message starts with a public-key (1) or symmetric (3) session key packet.
            let tag = first & 0x40 != 0 ? first & 0x3F : (first >> 2) & 0x0F
            if tag == 1 || tag == 3 { return .gpg }
        }
        let text = String(decoding: head, as: UTF8.self)
        if text.contains("-- PostgreSQL database dump") || text.hasPrefix("\\restrict ") { return .plain }
        return nil
    }

    static func explainDecryption(file: String, keyring: String, status: ChildProcess.Termination, stderr: String) -> MXError {
        let symmetric = stderr.contains("encrypted with 1 passphrase") && !stderr.contains("encrypted with ECDH") && !stderr.contains("encrypted with RSA")
        if symmetric && (stderr.contains("No secret key") || stderr.contains("Bad session key") || stderr.contains("bad passphrase")) {
            return .refused("\(file): cannot decrypt: it is encrypted with a passphrase, and the one given is wrong or missing (gpg.passphrase / passphrase_file)")
        }
        if stderr.contains("No secret key") {
            let keyID = stderr.split(separator: "\n").first { $0.contains("encrypted with") || $0.contains("ID ") }.map(String.init) ?? ""
            return .refused("\(file): cannot decrypt: no secret key for it in \(keyring) (\(keyID.trimmingCharacters(in: .whitespaces))): import the key it was encrypted to, or set gpg.home")
        }
        if stderr.contains("Bad session key") || stderr.contains("bad passphrase") || stderr.contains("No passphrase given") {
            return .refused("\(file): cannot decrypt: wrong or missing passphrase (gpg.passphrase / passphrase_file)")
        }
        let last = stderr.split(separator: "\n").last.map(String.init) ?? "no message"
        // gpg reports damage with exit status 2 and a message about the data; anything else (a signal, another
        // status, an error that is not about the data) is gpg failing, and says nothing about the file.
        guard status == .exited(2), damageReports.contains(where: { stderr.localizedCaseInsensitiveContains($0) }) else {
            return .failed("\(file): gpg failed while decrypting (\(status.description)): \(last): the file was not judged; "
                           + "check gpg (gpg.program, its agent, memory) and run again")
        }
        return .refused("\(file): decryption failed (\(status.description)): \(last): the file is damaged or truncated")
    }

    /// What gpg says about encrypted data that is truncated, altered or not OpenPGP.
    private static let damageReports = ["decryption failed", "manipulated", "problem reading source", "invalid packet",
                                        "packet", "checksum error", "crc error", "unexpected end", "no valid openpgp data",
                                        "decrypt_message failed", "block_filter", "invalid armor"]

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !done else { return 0 }
        let n: Int
        do {
            n = try top.read(into: buffer)
        } catch {
            // A layer below (gpg, pg_restore) usually knows the real cause of what this layer saw.
            for filter in filters { try filter.finish() }
            throw error
        }
        if n == 0 {
            done = true
            for filter in filters { try filter.finish() }
            // gpg stops at the end of its message; anything after it in the file is not ours.
            var probe = [UInt8](repeating: 0, count: 1)
            let more = try probe.withUnsafeMutableBytes { try raw.read(into: $0) }
            if more > 0 || raw.bytesRead != raw.size {
                throw MXError.refused("\(path): trailing data after the end of the backup (the file was altered or appended to)")
            }
        }
        return n
    }

    /// SHA-256 and size of the file's bytes; only after the content was read to its end.
    public func fileDigest() -> (sha256: String, size: Int64) { (raw.sha256(), raw.bytesRead) }

    /// Stops the children of an unfinished read.
    public func cancel() {
        for filter in filters { filter.cancel() }
    }
}
