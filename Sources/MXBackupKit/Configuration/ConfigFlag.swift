/// A command-line flag that sets one configuration key. It is validated like every other source, and
/// messages and `mxbackup config` name the flag ("from --services").
public struct ConfigFlag: Sendable {
    public var flag: String
    public var key: String
    public var value: ConfigValue

    public init(_ flag: String, _ key: String, _ value: ConfigValue) {
        self.flag = flag
        self.key = key
        self.value = value
    }

    var layer: ConfigLayer { ConfigLayer(origin: flag, values: [key: value]) }
}
