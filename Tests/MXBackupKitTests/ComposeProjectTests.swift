import Foundation
@testable import MXBackupKit
import Testing
import Yams

/// init --from takes Synapse's health URL from where the compose file publishes its port 8008.
@Suite struct ComposeProjectTests {
    private func url(_ ports: String) throws -> String? {
        ComposeProject.publishedURL(of: 8008, in: try Yams.compose(yaml: "ports:\n" + ports)?.mapping)
    }

    @Test func theShortAndLongSyntaxGiveTheHostAddress() throws {
        #expect(try url("  - \"127.0.0.1:8008:8008\"") == "http://127.0.0.1:8008")
        #expect(try url("  - \"18008:8008/tcp\"") == "http://127.0.0.1:18008")
        #expect(try url("  - \"0.0.0.0:9000:8008\"") == "http://127.0.0.1:9000")
        #expect(try url("  - \"10.0.0.5:8008:8008\"") == "http://10.0.0.5:8008")
        #expect(try url("  - \"::1:8448:8008\"") == "http://[::1]:8448")
        #expect(try url("  - target: 8008\n    published: \"8010\"\n    host_ip: 127.0.0.1") == "http://127.0.0.1:8010")
    }

    @Test func anUnpublishedOrOtherPortGivesNone() throws {
        #expect(try url("  - \"8008\"") == nil)           // container port only: nothing on the host
        #expect(try url("  - \"127.0.0.1:8448:8448\"") == nil)
        #expect(try url("  - \"8000-8010:8000-8010\"") == nil)
    }
}
