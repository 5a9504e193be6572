import Foundation

/// What a restore is in the middle of, on disk (`<backup dir>/.<db>.restore-state.json`), so that after
/// kill -9 or a power cut the next run knows what was left and `restore --resume-cleanup` can finish it.
/// Written atomically by `RestoreJournal` at every phase change; each strategy reads its own records back.
public struct RestoreState: Codable, Sendable {
    public enum Strategy: String, Codable, Sendable {
        case swap, recreate, inPlace = "in-place", tables, clone
        /// `mxbackup rollback`: a safety database, or a safety schema, swapped back in.
        case rollback, schemaRollback = "schema rollback"
    }

    public enum Phase: String, Codable, Sendable {
        /// The scratch database is named here before CREATE DATABASE runs: it may or may not exist.
        case creating
        /// The scratch database exists and is being loaded; live database and services untouched.
        case loading
        /// Services are being stopped (`services` lists which); the live database is untouched.
        case stopping
        /// swap: the renames may or may not have happened.
        case swapping
        /// in-place: one transaction is loading; it committed whole exactly when the parked schema exists.
        case inPlace = "in-place"
        /// recreate: the live database may be dropped or half loaded; `safetyBackup` holds its previous content.
        case recreating
        /// The restored data is live and checked: a cleanup only starts Synapse, it never undoes this.
        case committed
        /// Synapse was not healthy on the restored data and the previous state is being put back: a
        /// cleanup finishes that rollback.
        case rollingBack = "rolling back"
        /// The previous state is back (Synapse started on it unless `servicesStopped`).
        case rolledBack = "rolled back"
    }

    /// Nil in files written before strategies were recorded: inferred from the phase.
    public var strategy: Strategy?
    public var phase: Phase
    public var live: String
    public var scratch: String
    public var parked: String
    /// swap: the name the restored database gets if Synapse rejects it.
    public var rejected: String? = nil
    public var servicesStopped: Bool
    /// The services that were (or were being) stopped, so that a cleanup starts exactly these.
    public var services: [String]? = nil
    public var started: String
    public var safetyBackup: String? = nil

    public init(strategy: Strategy, phase: Phase, live: String, scratch: String, parked: String) {
        self.strategy = strategy
        self.phase = phase
        self.live = live
        self.scratch = scratch
        self.parked = parked
        servicesStopped = false
        started = Format.iso8601(Date())
    }

    public var recordedStrategy: Strategy {
        strategy ?? (phase == .inPlace ? .inPlace : phase == .recreating ? .recreate : .swap)
    }

    public static func path(directory: String, database: String) -> String {
        (directory as NSString).appendingPathComponent(".\(database).restore-state.json")
    }

    public func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try FileSink.writeAtomically(try encoder.encode(self), to: path)
    }

    /// The line every command prints while an interrupted restore's state file exists.
    public static func leftoverWarning(directory: String, database: String) -> String? {
        let path = path(directory: directory, database: database)
        guard let state = load(path) else { return nil }
        let services = state.servicesStopped ? "; Synapse may be stopped" : ""
        return "a restore (\(state.recordedStrategy.rawValue)) started \(state.started) was interrupted while \(state.phase.rawValue)\(services) (\(path)): run 'mxbackup restore --resume-cleanup'"
    }

    public static func load(_ path: String) -> RestoreState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(RestoreState.self, from: data)
    }
}
