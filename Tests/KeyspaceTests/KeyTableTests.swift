import Basics
import XCTest
@testable import Keyspace

final class KeyTableTests: XCTestCase {
    private func key(_ s: String) -> CompactBytes { CompactBytes(string: s) }

    private func find(_ table: KeyTable<Int>, _ s: String) -> Int? {
        key(s).withUnsafeBytes { raw in table.find(raw).map { table.slots[$0].payload } }
    }

    private func insert(_ table: inout KeyTable<Int>, _ s: String, _ v: Int) {
        let k = key(s)
        k.withUnsafeBytes { raw in
            let h = KeyTable<Int>.hash(raw)
            XCTAssertNil(table.find(raw, hash: h))
            table.append(k, v, hash: h)
        }
    }

    /// A random mix of inserts and removals agrees with a Dictionary at every step, across the
    /// index's growth and shrinking, with short (inline) and long (heap) keys.
    func testAgreesWithADictionary() {
        var table = KeyTable<Int>()
        var model: [String: Int] = [:]
        var rng = SplitMix64(seed: 7)
        for step in 0..<40_000 {
            let n = Int(rng.next() % 3000)
            let name = n % 3 == 0 ? "a-long-key-that-does-not-fit-inline-\(n)" : "k\(n)"
            if model[name] == nil, rng.next() % 3 != 0 || step < 5_000 {
                insert(&table, name, step)
                model[name] = step
            } else if model[name] != nil {
                let removed = key(name).withUnsafeBytes { table.remove($0) }
                XCTAssertEqual(removed?.payload, model[name])
                model[name] = nil
            }
            XCTAssertEqual(table.count, model.count)
        }
        for (name, value) in model { XCTAssertEqual(find(table, name), value, name) }
        XCTAssertNil(find(table, "absent"))
        XCTAssertEqual(Set(table.map { $0.key.string }), Set(model.keys))
        // Removing everything returns every byte.
        for name in model.keys { _ = key(name).withUnsafeBytes { table.remove($0) } }
        XCTAssertTrue(table.isEmpty)
        XCTAssertEqual(table.memory, 0)
    }

    /// A copy (what a snapshot holds) never sees later writes to the original.
    func testCopyIsAPointInTimeView() {
        var table = KeyTable<Int>()
        for i in 0..<100 { insert(&table, "k\(i)", i) }
        let snapshot = table
        for i in 0..<50 { _ = key("k\(i)").withUnsafeBytes { table.remove($0) } }
        for i in 100..<200 { insert(&table, "k\(i)", i) }
        XCTAssertEqual(snapshot.count, 100)
        for i in 0..<100 { XCTAssertEqual(find(snapshot, "k\(i)"), i) }
        XCTAssertNil(find(snapshot, "k150"))
        XCTAssertEqual(find(table, "k150"), 150)
        XCTAssertNil(find(table, "k10"))
    }

    /// The layout the memory figures rest on: a slot is the key (inline up to 22 bytes) and the
    /// entry, 64 bytes; a table that grew and shrank keeps its index at most 3/4 and at least
    /// 1/8 full.
    func testSlotLayoutAndIndexLoad() {
        XCTAssertEqual(MemoryLayout<KeyTable<Entry>.Slot>.stride, 64)
        var table = KeyTable<Int>()
        for i in 0..<1000 {
            insert(&table, "k\(i)", i)
            XCTAssertLessThanOrEqual(table.count * 4, table.buckets.count * 3)
        }
        for i in 0..<990 {
            _ = key("k\(i)").withUnsafeBytes { table.remove($0) }
            XCTAssertTrue(table.buckets.count <= 8 || table.count * 8 >= table.buckets.count, "index of \(table.buckets.count) for \(table.count)")
        }
        for i in 990..<1000 { XCTAssertEqual(find(table, "k\(i)"), i) }
        XCTAssertLessThanOrEqual(table.slots.capacity, 64, "the slot array shrank with the table")
    }
}
