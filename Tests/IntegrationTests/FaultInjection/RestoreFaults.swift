import Foundation
import MXBackupKit
import Testing

/// Scenario table: restore in each strategy, under Synapse's stand-in (services `kind: command`), from a
/// backup made before the live data changed; and aimed 10 ms into the COPY of a big table.
enum RestoreFaults {
    static func restore(_ strategy: [String], rows: Int = 0, table: String = "profiles", aimed: Bool = false) -> FaultScenario {
        let name = "restore " + strategy.joined(separator: " ").replacingOccurrences(of: "--strategy ", with: "") + (aimed ? " (big, aimed)" : "")
        let clone = strategy.contains("--target-db")
        return FaultScenario(
            operation: name, synapse: true, rows: rows,
            prepare: { world in
                try Prepare.backupThenChange(world)
                if clone { world.target = world.live + "_clone" }
            },
            arguments: { world in
                ["restore", world.backup!, "--yes"] + strategy.map { $0 == "--target-db" ? "--target-db=\(world.target!)" : $0 == "--tables" ? "--tables=\(table)" : $0 }
            },
            atSteps: !aimed,
            aimed: aimed ? [.init(name: "10 ms into the load's COPY \(table)") { Prepare.copyRunning(table, "FROM stdin", in: $0) }] : [],
            rerunsWhenDone: !clone)
    }

    static let scenarios = [
        restore(["--strategy", "swap"]),
        restore(["--strategy", "recreate"]),
        restore(["--strategy", "in-place"]),
        restore(["--tables"]),
        restore(["--target-db"]),
        restore(["--strategy", "swap"], rows: 100_000, table: "filler", aimed: true),
        restore(["--strategy", "recreate"], rows: 100_000, table: "filler", aimed: true),
        restore(["--strategy", "in-place"], rows: 100_000, table: "filler", aimed: true),
        restore(["--tables"], rows: 100_000, table: "filler", aimed: true),
    ]
}

extension FaultMatrixTests {
    @Suite struct Restore {
        @Test(arguments: RestoreFaults.scenarios.map(\.operation))
        func restore(_ operation: String) throws {
            try FaultMatrix.run(RestoreFaults.scenarios.first { $0.operation == operation }!)
        }
    }
}
