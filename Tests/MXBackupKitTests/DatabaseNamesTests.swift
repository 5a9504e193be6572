import Foundation
import MXBackupKit
import Testing

/// PostgreSQL cuts names at 63 bytes; the names mxbackup derives must never be cut, and every name of a
/// kind must start with the prefix its lookups use.
@Suite struct DatabaseNamesTests {
    let stamp = DatabaseNames.stamp(Date(timeIntervalSince1970: 1_764_058_500))

    @Test func shortNamesAreTheReadableOnes() {
        #expect(stamp == "20251125_081500")
        #expect(DatabaseNames.name("pre_restore", of: "synapse", stamp: stamp) == "synapse_pre_restore_20251125_081500")
    }

    @Test(arguments: [40, 48, 63, 100])
    func longNamesFitAndKeepTheirKindAndStamp(length: Int) {
        let live = String(repeating: "ü", count: length / 2) + String(repeating: "x", count: length - length / 2)
        for kind in ["restore", "pre_restore", "failed_restore", "rolled_back", "drill"] {
            let name = DatabaseNames.name(kind, of: live, stamp: stamp)
            #expect(name.utf8.count <= 63, "\(name)")
            #expect(name.hasPrefix(DatabaseNames.prefix(kind, of: live)) && name.hasSuffix("_\(kind)_\(stamp)"))
        }
    }

    @Test func twoLongNamesWithTheSameStartGetDifferentCopies() {
        let a = String(repeating: "a", count: 60) + "_one"
        let b = String(repeating: "a", count: 60) + "_two"
        #expect(DatabaseNames.prefix("pre_restore", of: a) != DatabaseNames.prefix("pre_restore", of: b))
        // A scratch prefix never matches a safety copy of the same database.
        #expect(!DatabaseNames.name("pre_restore", of: a, stamp: stamp).hasPrefix(DatabaseNames.prefix("restore", of: a)))
    }
}
