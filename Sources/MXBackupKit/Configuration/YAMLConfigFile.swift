import Foundation
import Yams

/// Reads mxbackup's YAML file strictly: every key must be known and of the right type, so a typo
/// is an error naming the file, line and key rather than a silently ignored setting.
public enum YAMLConfigFile {
    public static func load(path: String) throws -> ConfigLayer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MXError.configuration("\(path): cannot read the configuration file: check that it exists and is readable by this user")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path, loose: Secrets.looseness(path) != nil)
    }

    static func parse(_ text: String, path: String, loose: Bool) throws -> ConfigLayer {
        var layer = ConfigLayer(origin: path)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw MXError.configuration("\(path): not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let root else { return layer }  // an empty file sets nothing
        guard let sections = root.mapping else {
            throw MXError.configuration("\(path): the top level must be a mapping of sections (postgres:, backup:, gpg:, …)")
        }
        let knownSections = Array(Set(ConfigKey.all.map(\.section))).sorted()
        for (sectionNode, body) in sections {
            let section = sectionNode.string ?? ""
            guard knownSections.contains(section) else {
                throw MXError.configuration("\(path):\(line(sectionNode)): unknown section '\(section)' (known: \(knownSections.joined(separator: ", ")))")
            }
            if body.scalar != nil && body.null != nil { continue }  // "gpg:" with nothing under it
            guard let entries = body.mapping else {
                throw MXError.configuration("\(path):\(line(body)): '\(section)' must be a mapping of keys")
            }
            let known = ConfigKey.all.filter { $0.section == section }
            for (keyNode, valueNode) in entries {
                let name = keyNode.string ?? ""
                // `<secret>_file`; `legacy.env_file` is a key of its own.
                let fileVariant = name.hasSuffix("_file") && !known.contains { $0.name == name }
                let base = fileVariant ? String(name.dropLast(5)) : name
                guard let key = known.first(where: { $0.name == base }), !fileVariant || key.type == .secret else {
                    let names = known.flatMap { $0.type == .secret ? [$0.name, $0.name + "_file"] : [$0.name] }
                    throw MXError.configuration("\(path):\(line(keyNode)): unknown key '\(section).\(name)' (known in \(section): \(names.joined(separator: ", ")))")
                }
                let where_ = "\(path):\(line(valueNode)): \(section).\(name)"
                if fileVariant {
                    guard let file = valueNode.string, valueNode.null == nil else {
                        throw MXError.configuration("\(where_): expected the path of a file holding the secret")
                    }
                    let secret = try Secrets.read(file, key: "\(section).\(name)")
                    layer.entries[key.path] = .init(value: .string(secret))
                } else {
                    let value = try convert(valueNode, to: key.type, where: where_)
                    layer.entries[key.path] = .init(value: value, looseFile: key.type == .secret && loose ? path : nil)
                }
            }
        }
        return layer
    }

    private static func line(_ node: Node) -> Int { (node.mark?.line ?? 0) }

    private static func convert(_ node: Node, to type: ConfigKey.ValueType, where place: String) throws -> ConfigValue {
        if node.null != nil && node.scalar != nil {
            throw MXError.configuration("\(place): has no value: give one or remove the key")
        }
        switch type {
        case .string, .secret:
            guard let s = node.scalar?.string else { throw MXError.configuration("\(place): expected a text value") }
            return .string(s)
        case .int:
            guard let i = node.int else { throw MXError.configuration("\(place): expected a whole number, got '\(node.scalar?.string ?? "a structure")'") }
            guard i >= 0 else { throw MXError.configuration("\(place): must not be negative") }
            return .int(i)
        case .bool:
            guard let b = node.bool else { throw MXError.configuration("\(place): expected true or false, got '\(node.scalar?.string ?? "a structure")'") }
            return .bool(b)
        case .list:
            if let s = node.scalar?.string { return .list([s]) }
            guard let items = node.sequence else { throw MXError.configuration("\(place): expected a list") }
            return .list(try items.map {
                guard let s = $0.scalar?.string else { throw MXError.configuration("\(place): list items must be text") }
                return s
            })
        case .choice(let options):
            guard let s = node.scalar?.string, options.contains(s) else {
                throw MXError.configuration("\(place): must be one of \(options.joined(separator: ", ")), got '\(node.scalar?.string ?? "a structure")'")
            }
            return .string(s)
        }
    }
}
