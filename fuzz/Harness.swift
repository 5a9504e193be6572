import Foundation
@testable import MXBackupKit

// The libFuzzer entry points for one FuzzTarget (Tests/MXBackupKitTests/FuzzTargets.swift), chosen by
// MXFUZZ_TARGET; built and run by scripts/fuzz.sh. A thrown MXError is a clean refusal; any other error
// traps, as a crash does. With MXFUZZ_SEEDS=DIR the target's seeds are written to DIR and the run ends.

nonisolated(unsafe) var target = FuzzTarget.gzip

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    let environment = ProcessInfo.processInfo.environment
    guard let name = environment["MXFUZZ_TARGET"], let chosen = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("set MXFUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))\n".utf8))
        exit(2)
    }
    target = chosen
    if let directory = environment["MXFUZZ_SEEDS"] {
        do {
            for (index, seed) in try target.seeds().enumerated() {
                try seed.write(to: URL(fileURLWithPath: "\(directory)/seed-\(index)"))
            }
        } catch {
            FileHandle.standardError.write(Data("cannot write the seeds: \(error)\n".utf8))
            exit(1)
        }
        exit(0)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = start.map { Data(bytes: $0, count: count) } ?? Data()
    do {
        try target.run(input)
    } catch is MXError {
    } catch {
        fatalError("\(target.rawValue): not an MXError: \(error)")
    }
    return 0
}
