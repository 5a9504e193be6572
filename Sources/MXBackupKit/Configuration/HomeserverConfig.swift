import Foundation
import Yams

/// Takes the database connection from Synapse's own homeserver.yaml (`database.args`), so the operator
/// need not repeat it. Everything else in that file is Synapse's business and is ignored.
public enum HomeserverConfig {
    public static func load(path: String) throws -> ConfigLayer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MXError.configuration("\(path): cannot read Synapse's homeserver.yaml: check --homeserver-config")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) } catch {
            throw MXError.configuration("\(path): not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let database = root?.mapping?["database"]?.mapping else {
            throw MXError.configuration("\(path): has no 'database' section: Synapse is not configured for PostgreSQL there")
        }
        if let name = database["name"]?.string, name != "psycopg2" {
            throw MXError.configuration("\(path): database.name is '\(name)', not psycopg2: mxbackup backs up PostgreSQL only")
        }
        var layer = ConfigLayer(origin: path)
        guard let args = database["args"]?.mapping else { return layer }
        if let v = args["user"]?.string { layer["postgres.user"] = .string(v) }
        if let v = args["database"]?.string ?? args["dbname"]?.string { layer["postgres.database"] = .string(v) }
        if let v = args["host"]?.string { layer["postgres.host"] = .string(v) }
        if let node = args["port"] {
            guard let port = node.int else { throw MXError.configuration("\(path): database.args.port is not a number") }
            layer["postgres.port"] = .int(port)
        }
        if let v = args["password"]?.string {
            layer.entries["postgres.password"] = .init(value: .string(v), looseFile: Secrets.looseness(path))
        }
        if let v = args["passfile"]?.string { layer["postgres.passfile"] = .string(v) }
        if let serverName = root?.mapping?["server_name"]?.string { layer["synapse.server_name"] = .string(serverName) }
        return layer
    }
}
