import Foundation

/// What a restore is in the middle of, on disk (`<backup dir>/.<db>.restore-state.json`), so that after
/// kill -9 or a power cut the next run knows what was left and `restore --resume-cleanup` can finish it.
public struct RestoreState: Codable, Sendable {
    public enum Phase: String, Codable, Sendable {
        /// The scratch database exists and is being loaded; live database and services untouched.
        case loading
        /// Services may be stopped; the renames may or may not have happened.
        case swapping
        /// in-place: services stopped, one transaction loading (the server rolls it back if we die).
        case inPlace = "in-place"
        /// recreate: the live database may be dropped or half loaded; `safetyBackup` holds its previous content.
        case recreating
    }

    public var phase: Phase
    public var live: String
    public var scratch: String
    public var parked: String
    public var servicesStopped: Bool
    public var started: String
    public var safetyBackup: String? = nil

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
        return "a restore started \(state.started) was interrupted while \(state.phase.rawValue) (\(path)): run 'mxbackup restore --resume-cleanup'"
    }

    public static func load(_ path: String) -> RestoreState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(RestoreState.self, from: data)
    }
}
