/// One stage of a byte pipeline: takes bytes, passes its output downstream.
///
/// Stages are chained (compressor → encryptor → file) and driven by one thread; `finish()` flushes
/// and cascades down the chain, `cancel()` stops without flushing (children killed, nothing completed).
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func finish() throws
    func cancel()
}
