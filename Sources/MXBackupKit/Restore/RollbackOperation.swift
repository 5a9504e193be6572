import Foundation

/// `mxbackup rollback`: swaps the newest `<db>_pre_restore_*` safety copy back in, with the same
/// service handling and health check as a restore (and the same automatic reversal if unhealthy).
public struct RollbackOperation {
    public let connection: PostgresConnection
    public let services: ServiceController
    public let health: HealthCheck

    public init(connection: PostgresConnection, services: ServiceController, health: HealthCheck) {
        self.connection = connection
        self.services = services
        self.health = health
    }

    /// The safety copy that would come back.
    public func candidate() throws -> SafetyCopy {
        let admin = DatabaseAdmin(connection)
        guard let copy = try SafetyCopies.list(admin, live: connection.database).first(where: { $0.kind == "pre_restore" }) else {
            throw MXError.refused("no safety copy \(connection.database)_pre_restore_* exists on the server: nothing to roll back to")
        }
        guard try admin.exists(connection.database) else {
            throw MXError.refused("database \(connection.database) does not exist: rename \(copy.name) by hand if it should be live")
        }
        return copy
    }

    public func run(_ copy: SafetyCopy, timeline: RestoreOperation.Timeline) throws -> DatabaseSwap.Result {
        let live = connection.database
        return try DatabaseSwap(admin: DatabaseAdmin(connection), services: services, health: health)
            .run(live: live, incoming: copy.name, parked: DatabaseNames.name("rolled_back", of: live, stamp: DatabaseNames.stamp()), rejected: copy.name, timeline: timeline)
    }
}
