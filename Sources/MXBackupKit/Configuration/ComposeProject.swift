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
    /// Where the main Synapse's client port 8008 is published on this host (`ports: ["127.0.0.1:8008:8008"]`),
    /// as an http URL for the health check; nil when it is not published.
    public var synapseURL: String?

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
        // Synapse's services run its image (matrixdotorg/synapse, ghcr.io/element-hq/synapse): not synapse-admin's.
        let repository = { (body: Node.Mapping?) in image(body).split(separator: "/").last?.split(separator: ":").first.map(String.init) }
        let isSynapse = { (name: String, body: Node.Mapping?) -> Bool in
            if body?["image"] != nil { return repository(body) == "synapse" }
            return name == "synapse" || name.hasPrefix("synapse-") || name.hasPrefix("synapse_")
        }
        let synapse = named.filter { isSynapse($0.0, $0.1) }.map(\.0)
        let main = named.first { $0.0 == "synapse" } ?? named.first { isSynapse($0.0, $0.1) }
        return ComposeProject(file: file, postgresContainer: container, postgresService: service,
                              synapseServices: synapse.filter { $0 == "synapse" } + synapse.filter { $0 != "synapse" },
                              synapseURL: main.flatMap { publishedURL(of: 8008, in: $0.1) })
    }

    /// The host address of a published container port, from the short (`[IP:]HOST:CONTAINER[/tcp]`) or the
    /// long syntax (`target`, `published`, `host_ip`). An unspecified or wildcard address is reached on loopback.
    static func publishedURL(of port: Int, in body: Node.Mapping?) -> String? {
        for entry in body?["ports"]?.sequence ?? [] {
            var hostIP = "", published: String?
            if let text = entry.string {
                var parts = text.split(separator: "/").first.map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
                guard parts.last == String(port), parts.count >= 2 else { continue }
                parts.removeLast()
                published = parts.removeLast()
                hostIP = parts.joined(separator: ":")
            } else if let long = entry.mapping, long["target"]?.int == port {
                published = long["published"]?.string
                hostIP = long["host_ip"]?.string ?? ""
            }
            guard let published, let hostPort = Int(published) else { continue }
            let host = ["", "0.0.0.0", "::", "[::]"].contains(hostIP) ? "127.0.0.1" : hostIP
            return "http://\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host):\(hostPort)"
        }
        return nil
    }
}
