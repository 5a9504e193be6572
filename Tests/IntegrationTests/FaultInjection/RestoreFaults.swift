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

    /// Disaster recovery: the live database is gone (a new server), or is the empty one the postgres image
    /// makes (in its locale); the restore creates or replaces it. Interrupted, the server is left as it was:
    /// no database, or the empty one.
    static func ontoANewServer(empty: Bool) -> FaultScenario {
        FaultScenario(
            operation: empty ? "restore over an empty database" : "restore onto a new server", synapse: true,
            prepare: { world in
                try world.must(["backup"])
                world.backup = world.backups.first
                world.synapse?.stop()  // as on a new server: only PostgreSQL runs until the database is back
                let live = SQL.identifier(world.live)
                try world.box.cluster.superuser("DROP DATABASE \(live) WITH (FORCE)")
                if empty {
                    try world.box.cluster.superuser("CREATE DATABASE \(live) OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0")
                }
            },
            arguments: { world in ["restore", world.backup!, "--yes"] },
            rerunsWhenDone: false)
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
        ontoANewServer(empty: false),
        ontoANewServer(empty: true),
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
