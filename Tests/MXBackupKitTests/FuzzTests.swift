import Foundation
@testable import MXBackupKit
import Testing

/// A seeded random-mutation fuzzer over every FuzzTarget (docs/fault-injection.md, "Fuzzing"): valid seeds,
/// mutated by bit flips, truncation, insertion, deletion, duplication, splicing and length-field overwrites.
/// Each input must end in a return or a thrown MXError, within a bound far above its normal time: a crash
/// kills the test run, a hang fails it. `MXBACKUP_FUZZ_ITERATIONS` per target (CI default: about 60 s in
/// all), `MXBACKUP_FUZZ_SEED` to replay a run; the seed is printed.
@Suite struct FuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let iterations = environment["MXBACKUP_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 5000
    static let seed = environment["MXBACKUP_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
    /// A hang, not a slow machine: the seeds decode in milliseconds.
    static let bound: TimeInterval = 20

    @Test(arguments: FuzzTarget.allCases)
    func mutatedInputsAreRefusedCleanly(target: FuzzTarget) throws {
        let seed = Self.seed ^ UInt64(FuzzTarget.allCases.firstIndex(of: target)! + 1) &* 0x9E37_79B9_7F4A_7C15
        print("fuzz \(target.rawValue): MXBACKUP_FUZZ_SEED=\(Self.seed) (target seed \(seed)), \(Self.iterations) iterations")
        var random = SplitMix64(seed: seed)
        let seeds = try target.seeds()
        let donors = try FuzzTarget.allCases.flatMap { try $0.seeds() }
        var pool = seeds
        var refused = 0
        for iteration in 0..<Self.iterations {
            let input = Mutator.mutate(pool[random.below(pool.count)], donors: donors, random: &random)
            let outcome = Self.runBounded(target, input)
            switch outcome {
            case .accepted:
                if pool.count < 256 { pool.append(input) }  // still valid: worth mutating further
            case .refused(let error):
                refused += 1
                #expect(error is MXError, "\(target) iteration \(iteration): not an MXError: \(error); input (base64) \(input.base64EncodedString())")
            case .hung:
                Issue.record("\(target) iteration \(iteration): no answer within \(Self.bound) s; input (base64) \(input.base64EncodedString())")
                return
            }
        }
        print("fuzz \(target.rawValue): \(Self.iterations) inputs, \(refused) refused, \(Self.iterations - refused) accepted")
    }

    enum Outcome { case accepted, refused(Error), hung }

    /// Runs one input on its own thread; a thread that does not answer is left behind (the test fails anyway).
    static func runBounded(_ target: FuzzTarget, _ input: Data) -> Outcome {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        let thread = Thread {
            do { try target.run(input); result.set(.accepted) } catch { result.set(.refused(error)) }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        guard done.wait(timeout: .now() + bound) == .success else { return .hung }
        return result.get()
    }

    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var outcome = Outcome.hung
        func set(_ value: Outcome) { lock.withLock { outcome = value } }
        func get() -> Outcome { lock.withLock { outcome } }
    }
}

/// The mutations: one to four of them stacked on one input.
enum Mutator {
    static let interesting: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, UInt64.max]

    static func mutate(_ original: Data, donors: [Data], random: inout SplitMix64) -> Data {
        var bytes = [UInt8](original)
        for _ in 0...random.below(4) {
            switch random.below(9) {
            case 0 where !bytes.isEmpty:  // bit flip
                bytes[random.below(bytes.count)] ^= UInt8(1) << UInt8(random.below(8))
            case 1 where !bytes.isEmpty:  // an interesting byte
                bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: interesting[random.below(5)])
            case 2 where !bytes.isEmpty:  // truncation
                bytes.removeLast(1 + random.below(bytes.count))
            case 3:  // insertion of random bytes
                let insert = (0..<1 + random.below(64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                bytes.insert(contentsOf: insert, at: random.below(bytes.count + 1))
            case 4 where !bytes.isEmpty:  // deletion of a range
                let start = random.below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + random.below(128)))
            case 5 where !bytes.isEmpty:  // duplication of a range
                let start = random.below(bytes.count)
                let range = bytes[start..<min(bytes.count, start + 1 + random.below(512))]
                bytes.insert(contentsOf: range, at: random.below(bytes.count + 1))
            case 6:  // splice: our head, another input's tail
                let donor = [UInt8](donors[random.below(donors.count)])
                let cut = random.below(bytes.count + 1)
                bytes = Array(bytes[..<cut]) + Array(donor[random.below(donor.count + 1)...])
            case 7 where bytes.count >= 4:  // a length or count field: an interesting or nearby integer, either byte order
                let width = [2, 4, 8][random.below(3)]
                let at = random.below(bytes.count - min(width, bytes.count) + 1)
                let value = random.below(2) == 0 ? interesting[random.below(interesting.count)] : UInt64(bytes.count) &+ UInt64(random.below(5)) &- 2
                let bigEndian = random.below(2) == 0
                for i in 0..<min(width, bytes.count - at) {
                    let shift = UInt64(8 * (bigEndian ? width - 1 - i : i))
                    bytes[at + i] = UInt8(truncatingIfNeeded: value >> shift)
                }
            case 8 where !bytes.isEmpty:  // text: a separator, quote or escape where it hurts
                let tokens: [[UInt8]] = [[0x0A], [0x0D, 0x0A], [0x09], [0x5C, 0x2E], [0x22], [0x27], [0x3D], [0x23], [0x28], [0x29], [0x5C], [0xC3], [0xFF, 0xFE]]
                bytes.insert(contentsOf: tokens[random.below(tokens.count)], at: random.below(bytes.count + 1))
            default:  // the input was too short for the mutation drawn: append a random byte
                bytes.append(UInt8(truncatingIfNeeded: random.next()))
            }
        }
        return Data(bytes)
    }
}

/// A small, fast, seedable generator (Steele, Lea, Flood 2014): the same seed gives the same inputs.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}
