import Foundation

/// `mxbackup rollback`: brings the newest `pre_restore` safety copy back, with the same service handling
/// and health check as a restore (and the same automatic reversal if unhealthy):
/// - a database `<db>_pre_restore_*` is swapped in; the current database is kept as `<db>_rolled_back_<UTC>`;
/// - a schema `public_pre_restore_*` (in-place) becomes `public` again in one transaction; the current
///   `public` is kept as `public_rolled_back_<UTC>`.
public struct RollbackOperation {
    public let connection: PostgresConnection
    public let services: ServiceController
    public let health: HealthCheck

    public init(connection: PostgresConnection, services: ServiceController, health: HealthCheck) {
        self.connection = connection
        self.services = services
        self.health = health
    }

    private var admin: DatabaseAdmin { DatabaseAdmin(connection) }

    /// The safety copy that would come back.
    public func candidate() throws -> SafetyCopy {
        let live = connection.database
        guard let copy = try SafetyCopies.list(admin, live: live).first(where: { $0.kind == "pre_restore" }) else {
            throw MXError.refused("no safety copy (database \(live)_pre_restore_* or schema public_pre_restore_* in \(live)) exists on the server: nothing to roll back to")
        }
        guard try admin.exists(live) else {
            throw MXError.refused("database \(live) does not exist: rename \(copy.name) by hand if it should be live")
        }
        return copy
    }

    /// What `run` will do, for the operator to confirm.
    public func plan(_ copy: SafetyCopy) -> String {
        let live = connection.database
        if copy.schemaOf != nil {
            return "schema \(copy.name) (from \(Format.localTime(copy.created))) becomes public in \(live); the current public is kept as public_rolled_back_<now>"
        }
        return "\(copy.name) (from \(Format.localTime(copy.created))) becomes \(live); the current \(live) is kept as \(live)_rolled_back_<now>"
    }

    public func run(_ copy: SafetyCopy, timeline: RestoreOperation.Timeline) throws -> DatabaseSwap.Result {
        let live = connection.database
        let swap = DatabaseSwap(admin: admin, services: services, health: health)
        guard copy.schemaOf != nil else {
            return try swap.run(live: live, incoming: copy.name, parked: DatabaseNames.name("rolled_back", of: live, stamp: DatabaseNames.stamp()), rejected: copy.name, timeline: timeline)
        }
        return try rollBackSchema(copy, swap: swap, timeline: timeline)
    }

    /// The schema form of `DatabaseSwap.run`: stop, exchange the schemas in one transaction, start and check;
    /// if unhealthy, exchange them back the same way.
    private func rollBackSchema(_ copy: SafetyCopy, swap: DatabaseSwap, timeline: RestoreOperation.Timeline) throws -> DatabaseSwap.Result {
        let live = connection.database
        let replaced = "public_rolled_back_\(DatabaseNames.stamp())"
        func exchange(keepingPublicAs parked: String, _ incoming: String) throws {
            try admin.terminateSessions(live)
            _ = try PostgresClient(connection).query("ALTER SCHEMA public RENAME TO \(SQL.identifier(parked)); ALTER SCHEMA \(SQL.identifier(incoming)) RENAME TO public;")
        }
        return try Interrupts.shared.critical {
            let started = Date()
            try timeline.measure("stop Synapse") { try services.stop() }
            do {
                try timeline.measure("end sessions, rename schemas") { try exchange(keepingPublicAs: replaced, copy.name) }
            } catch {
                // One transaction: nothing was renamed. Put Synapse back as it was.
                try? services.startMain()
                try? services.startWorkers()
                throw MXError.failed("the rollback failed and nothing was renamed; Synapse was started again on \(live): \((error as? MXError)?.message ?? "\(error)")")
            }
            guard let problem = swap.startAndCheck(timeline) else {
                return DatabaseSwap.Result(downtime: Date().timeIntervalSince(started), health: services is NoServices ? "not checked (services.kind none)" : "OK")
            }
            let rollbackProblem = try timeline.measure("roll back") { () throws -> String? in
                try? services.stop()
                try exchange(keepingPublicAs: copy.name, replaced)
                return swap.startAndCheck(timeline)
            }
            timeline.rolledBack = true
            throw MXError.failed("Synapse was not healthy on schema \(copy.name) (\(problem)); rolled back: public in \(live) is what it was before the rollback"
                                 + (rollbackProblem.map { ", but Synapse is still not healthy (\($0)): check its logs" } ?? " and Synapse is healthy"))
        }
    }
}
