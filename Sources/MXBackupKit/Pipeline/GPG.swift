import Foundation

/// How a backup is encrypted.
public enum Encryption: Sendable, Equatable {
    case none
    /// Public-key encryption to these key ids/fingerprints; only the secret keys can decrypt.
    case recipients([String])
    /// Symmetric, with a passphrase (given to gpg through a pipe on fd 3, never argv).
    case symmetric(passphrase: String)
}

/// The GnuPG program and keyring mxbackup uses (GNUPGHOME is honoured when `home` is not set).
public struct GPG: Sendable {
    public var program: String
    public var home: String?

    public init(program: String = "gpg", home: String? = nil) {
        self.program = program
        self.home = home
    }

    public func spec(_ arguments: [String]) -> ProcessSpec {
        ProcessSpec(program, ["--batch", "--no-tty"] + (home.map { ["--homedir", $0] } ?? []) + arguments, inherits: .gnupg)
    }

    private var keyring: String {
        home ?? ProcessInfo.processInfo.environment["GNUPGHOME"] ?? "~/.gnupg"
    }

    /// Resolves each recipient to the fingerprint of one usable public key, and proves that encryption to
    /// all of them works now (fail closed: a backup is never written unencrypted or to a dead key).
    public func usableRecipients(_ recipients: [String]) throws -> [String] {
        var fingerprints: [String] = []
        for recipient in recipients {
            let listing = try ProcessRunner.run(spec(["--with-colons", "--fixed-list-mode", "--list-keys", "--", recipient]))
            guard listing.termination.succeeded else {
                throw MXError.refused("gpg.recipients: no public key '\(recipient)' in the keyring \(keyring): import it with 'gpg --import KEYFILE' (nothing was written)")
            }
            let records = listing.text.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
            let keys = records.enumerated().filter { $0.element.first == "pub" }
            guard keys.count == 1, let (index, pub) = keys.first, pub.count > 11 else {
                throw MXError.refused("gpg.recipients: '\(recipient)' matches \(keys.count) keys in \(keyring): give the full fingerprint")
            }
            switch pub[1] {
            case "e": throw MXError.refused("gpg.recipients: key '\(recipient)' has expired: extend it (gpg --quick-set-expire) or configure another key (nothing was written)")
            case "r": throw MXError.refused("gpg.recipients: key '\(recipient)' is revoked: configure another key (nothing was written)")
            case "i", "d", "n": throw MXError.refused("gpg.recipients: key '\(recipient)' is not valid or disabled (validity '\(pub[1])') (nothing was written)")
            default: break
            }
            guard pub[11].contains("E") else {
                throw MXError.refused("gpg.recipients: key '\(recipient)' has no usable encryption subkey (expired or revoked subkey?) (nothing was written)")
            }
            guard let fpr = records[(index + 1)...].first(where: { $0.first == "fpr" }), fpr.count > 9 else {
                throw MXError.refused("gpg.recipients: cannot read the fingerprint of '\(recipient)'")
            }
            fingerprints.append(fpr[9])
        }
        let trial = try ProcessRunner.run(spec(encryptArguments(.recipients(fingerprints))), input: Data("probe".utf8))
        guard trial.termination.succeeded else {
            throw MXError.refused("gpg.recipients: a trial encryption failed: \(trial.stderr.split(separator: "\n").last ?? "") (nothing was written)")
        }
        return fingerprints
    }

    /// How a message was encrypted, from its first bytes (its session-key packets, listed without
    /// decrypting anything): "symmetric", or "recipients" with each key's primary fingerprint where this
    /// keyring has the key, else the key id the message names.
    public func encryptionInfo(head: Data) throws -> Manifest.EncryptionInfo {
        let listing = try ProcessRunner.run(spec(["--list-only", "--list-packets"]), input: head)
        var recipients: [String] = []
        for line in listing.text.split(separator: "\n") where line.hasPrefix(":pubkey enc packet:") {
            guard let keyID = line.components(separatedBy: "keyid ").last.map({ $0.trimmingCharacters(in: .whitespaces) }), !keyID.isEmpty else { continue }
            let key = try ProcessRunner.run(spec(["--with-colons", "--list-keys", "--", keyID]))
            let fingerprint = key.termination.succeeded
                ? key.text.split(separator: "\n").first { $0.hasPrefix("fpr:") }?.split(separator: ":", omittingEmptySubsequences: false).dropFirst(9).first.map(String.init)
                : nil
            recipients.append(fingerprint ?? keyID)
        }
        if !recipients.isEmpty { return .init(mode: "recipients", recipients: recipients) }
        if listing.text.contains(":symkey enc packet:") { return .init(mode: "symmetric", recipients: []) }
        throw MXError.refused("gpg lists no session key in the encrypted file: it is not an OpenPGP message mxbackup can read")
    }

    func encryptArguments(_ encryption: Encryption) -> [String] {
        switch encryption {
        case .none:
            return []
        case .recipients(let fingerprints):
            // --trust-model always: an imported public key is not "trusted" in the web-of-trust sense,
            // but the operator named it explicitly. --compress-algo none: the data is compressed already.
            return ["--trust-model", "always", "--compress-algo", "none", "--encrypt"]
                + fingerprints.flatMap { ["--recipient", $0] } + ["--output", "-"]
        case .symmetric:
            return ["--pinentry-mode", "loopback", "--passphrase-fd", "3", "--symmetric", "--cipher-algo", "AES256",
                    "--compress-algo", "none", "--output", "-"]
        }
    }
}

/// The encryption stage: bytes written here go to gpg's stdin; a worker thread moves gpg's output
/// to the downstream sink. The first real error wins: a failed file write (e.g. disk full) is reported
/// as such, not as the broken pipe it causes upstream.
public final class GPGEncryptor: ByteSink, @unchecked Sendable {
    private let child: ChildProcess
    private var input: Int32
    private let reader: Worker
    private let readerError: Box<Error?>
    private let stderr: StderrCollector
    private let downstream: ByteSink
    private let lifecycle = StageLifecycle("gpg encryption")
    /// gpg's outcome once it was waited for (nil inside: it succeeded); waited for once only.
    private var outcome: Error??

    public init(gpg: GPG, encryption: Encryption, downstream: ByteSink) throws {
        self.downstream = downstream
        var passphrase: Data?
        if case .symmetric(let text) = encryption { passphrase = Data((text + "\n").utf8) }
        let gpgChild = try PipedChild(gpg.spec(gpg.encryptArguments(encryption)), input: true, output: true, extraInput: passphrase)
        child = gpgChild.process
        stderr = gpgChild.stderr
        input = gpgChild.input
        let output = gpgChild.output
        let error = Box<Error?>(nil)
        readerError = error
        let sink = UncheckedSink(downstream)
        reader = Worker("gpg-output") {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate(); FileDescriptor.close(output) }
            do {
                while true {
                    let n = try FileDescriptor.read(output, into: buffer)
                    if n == 0 { break }
                    try sink.value.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
            } catch let failure {
                error.value = failure  // closing our read end (defer) makes gpg fail with EPIPE and stop
            }
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try lifecycle.requireOpen()
        do {
            try FileDescriptor.writeAll(input, bytes)
        } catch {
            throw end() ?? MXError.failed("gpg stopped reading its input")
        }
    }

    public func finish() throws {
        try lifecycle.finish {
            if let failure = end() { throw failure }
            try downstream.finish()
        }
    }

    public func cancel() {
        lifecycle.cancel {
            if outcome == nil { child.signalGroup(SIGKILL) }
            _ = end()
            downstream.cancel()
        }
    }

    /// Ends gpg's input and waits for gpg and the output worker, the first time; the error to report, if any.
    private func end() -> Error? {
        if let outcome { return outcome }
        FileDescriptor.close(input)
        input = -1
        reader.join()
        let termination = child.wait()
        let message = stderr.finish()
        let result: Error? = readerError.value ?? (termination.succeeded ? nil
            : MXError.failed("gpg encryption failed (\(termination.description)): \(message.split(separator: "\n").last ?? "")"))
        outcome = .some(result)
        return result
    }
}

/// Hands a non-Sendable sink to the one worker thread that uses it until `join()`.
struct UncheckedSink: @unchecked Sendable {
    let value: ByteSink
    init(_ value: ByteSink) { self.value = value }
}
