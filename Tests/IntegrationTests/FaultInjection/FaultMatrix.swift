import Foundation
import MXBackupKit
import Testing

/// The matrix driver: learns an operation's steps from one uninterrupted run (MXBACKUP_STEP_LOG), then
/// for each step (and aimed moment) × SIGKILL, SIGTERM, SIGINT interrupts it in a fresh world and checks
/// the invariants. CI runs a seeded sample; MXBACKUP_FAULT_FULL=1 runs every case (scripts/fault-matrix.sh).
enum FaultMatrix {
    static let signals: [(number: Int32, name: String)] = [(SIGKILL, "SIGKILL"), (SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")]
    private static let environment = ProcessInfo.processInfo.environment
    static let seed = environment["MXBACKUP_FAULT_SEED"].flatMap { UInt64($0) } ?? 20261203
    static let full = environment["MXBACKUP_FAULT_FULL"] == "1"
    /// Cases per operation in the sample.
    static let sample = environment["MXBACKUP_FAULT_SAMPLE"].flatMap { Int($0) } ?? 2
    /// Only these operations (comma-separated names as in the report); all when unset.
    static let only = environment["MXBACKUP_FAULT_OPERATIONS"].map { Set($0.split(separator: ",").map(String.init)) }

    static func run(_ scenario: FaultScenario, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let only, !only.contains(scenario.operation) { return }
        print("fault matrix: \(scenario.operation): seed \(seed) (MXBACKUP_FAULT_SEED), \(full ? "full matrix" : "sample of \(sample)")")
        let (steps, completed) = try learn(scenario, sourceLocation: sourceLocation)
        let moments = (scenario.atSteps ? steps : []).map { key in (key, { (world: FaultWorld) in Interruption.Moment.step(pausePrefix(key, world)) }) }
            + scenario.aimed.map { ($0.name, $0.moment) }
        var cases = moments.flatMap { moment in signals.map { (moment: moment, signal: $0) } }
        if !full {
            var random = SeededRandom(seed: seed ^ stableHash(scenario.operation))
            cases.shuffle(using: &random)
            cases = Array(cases.prefix(sample))
        }
        for (moment, signal) in cases {
            // An aimed moment can be missed (the COPY was over between two polls): tried three times, then said and not counted.
            for attempt in 1...3 {
                let world = try scenario.world()
                defer { world.close() }
                let before = try DatabaseFingerprint.of(world.live)
                let invariants = Invariants(world: world, before: before, completed: completed, backupsBefore: world.backups,
                                            produced: scenario.produced)
                let arguments = scenario.arguments(world)
                let outcome = try Interruption.run(world.box, arguments, environment: world.environment, at: moment.1(world), signal: signal.number)
                if case .notReached(let result) = outcome {
                    print("fault matrix: \(scenario.operation): '\(moment.0)' not reached (exit \(result.exitCode)), attempt \(attempt)")
                    if attempt == 3 { FaultTally.shared.record(.init(operation: scenario.operation, step: moment.0, signal: signal.name, verdict: nil, problems: [])) }
                    continue
                }
                let findings = try invariants.check(outcome, rerun: arguments, rerunsWhenDone: scenario.rerunsWhenDone)
                FaultTally.shared.record(.init(operation: scenario.operation, step: moment.0, signal: signal.name,
                                               verdict: findings.verdict, problems: findings.problems))
                #expect(findings.problems.isEmpty, "\(scenario.operation) at '\(moment.0)' with \(signal.name): \(findings.problems.joined(separator: " | "))",
                        sourceLocation: sourceLocation)
                break
            }
        }
        FaultTally.shared.publish()
    }

    /// One uninterrupted run: its steps (database names and stamps made generic) and what it leaves.
    private static func learn(_ scenario: FaultScenario, sourceLocation: SourceLocation) throws -> ([String], Invariants.Completed) {
        let world = try scenario.world()
        defer { world.close() }
        let log = world.box.root + "/steps.log"
        let produced = scenario.produced
        var environment = world.environment
        environment["MXBACKUP_STEP_LOG"] = log
        let result = try world.box.run(scenario.arguments(world), environment: environment, within: Interruption.bound)
        try #require(result.exitCode == 0, "\(scenario.operation): the uninterrupted run failed: \(result.stderr)", sourceLocation: sourceLocation)
        try #require(try produced(world) == nil, "\(scenario.operation): the uninterrupted run did not produce what it must", sourceLocation: sourceLocation)
        var steps: [String] = []
        for line in ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") {
            let key = withoutStamps(line.replacingOccurrences(of: world.live, with: "<db>"))
            if !steps.contains(key) { steps.append(key) }
        }
        print("fault matrix: \(scenario.operation): \(steps.count) steps: \(steps.joined(separator: " | "))")
        return (steps, .init(live: try DatabaseFingerprint.of(world.live), target: try world.target.flatMap { try DatabaseFingerprint.of($0) }))
    }

    /// The pause prefix of a learned step in a new world: its database, and the name up to its stamp.
    static func pausePrefix(_ key: String, _ world: FaultWorld) -> String {
        let named = key.replacingOccurrences(of: "<db>", with: world.live)
        return named.range(of: "<stamp>").map { String(named[..<$0.lowerBound]) } ?? named
    }

    private static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(14695981039346656037) { ($0 ^ UInt64($1)) &* 1099511628211 }
    }
}

/// SplitMix64: the sample is the same for the same seed on every machine.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
