import Foundation
import Yams

/// What mxbackup needs from a deployment's compose file (a Selfhost-Matrix checkout): the postgres
/// container and Synapse's services. Nothing else in the file is read.
public struct ComposeProject: Sendable, Equatable {
    public static let fileNames = ["docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"]

    /// The compose file that was read.
    public var file: String
    /// The postgres service's container: its `container_name`, else the name compose gives it.
    public var postgresContainer: String
    public var postgresService: String
    /// Synapse's services, the main process (`synapse`) first, then the workers in the file's order.
    public var synapseServices: [String]

    /// Reads the compose file in `directory`; every refusal names the file, what is wrong and what to do.
    public static func load(directory: String) throws -> ComposeProject {
        guard let name = fileNames.first(where: { FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0)) }) else {
            throw MXError.configuration("\(directory): no docker-compose.yml (nor \(fileNames.dropFirst().joined(separator: ", "))): point --from at the directory of the Selfhost-Matrix checkout")
        }
        let file = (directory as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw MXError.configuration("\(file): cannot read the compose file: check that it is readable by this user")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) } catch {
            throw MXError.configuration("\(file): not valid YAML (\(String(describing: error).split(separator: "\n").first ?? "")): fix the compose file (docker compose config shows where)")
        }
        guard let services = root?.mapping?["services"]?.mapping, !services.isEmpty else {
            throw MXError.configuration("\(file): has no services: section: not a compose file of a deployment")
        }
        let named = services.compactMap { key, body in key.string.map { ($0, body.mapping) } }
        let image = { (body: Node.Mapping?) in body?["image"]?.string?.lowercased() ?? "" }
        // The official image (postgres:16-alpine, docker.io/library/postgres…) or a service named for it.
        guard let postgres = named.first(where: { image($0.1).split(separator: "/").last?.hasPrefix("postgres") == true })
                ?? named.first(where: { ["postgres", "db", "database"].contains($0.0) }) else {
            throw MXError.configuration("\(file): no postgres service (none has a postgres image): mxbackup backs up Synapse's PostgreSQL; give the connection with --container or postgres.* instead")
        }
        let (service, body) = postgres
        // Without container_name compose names the container <project>-<service>-1, the project being the directory's name.
        let project = (URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent).lowercased()
        let container = body?["container_name"]?.string ?? "\(project)-\(service)-1"
        let synapse = named.map(\.0).filter { $0 == "synapse" || $0.hasPrefix("synapse-") || $0.hasPrefix("synapse_") }
        return ComposeProject(file: file, postgresContainer: container, postgresService: service,
                              synapseServices: synapse.filter { $0 == "synapse" } + synapse.filter { $0 != "synapse" })
    }
}
