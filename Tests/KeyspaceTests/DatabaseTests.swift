import NIOCore
import XCTest
@testable import Keyspace

final class DatabaseTests: XCTestCase {
    func testSetModifyRemoveKeepCountsAndExpiries() {
        var db = Database()
        XCTAssertTrue(db.set(ByteBuffer(string: "a"), .string(copying: ByteBuffer(string: "1")), expireAt: 100))
        XCTAssertFalse(db.set(ByteBuffer(string: "a"), .string(copying: ByteBuffer(string: "2")), keepTTL: true))
        XCTAssertEqual(db.count, 1)
        XCTAssertEqual(db.expiresCount, 1)
        XCTAssertEqual(db.entry(ByteBuffer(string: "a"))?.expireAt, 100)
        db.set(ByteBuffer(string: "a"), .string(copying: ByteBuffer(string: "3")))
        XCTAssertEqual(db.expiresCount, 0, "SET without KEEPTTL clears the expiry")
        db.modify(ByteBuffer(string: "l")) { entry in
            XCTAssertNil(entry)
            entry = Entry(value: .list([CompactBytes(string: "x")]), expireAt: 5)
        }
        XCTAssertEqual(db.count, 2)
        XCTAssertEqual(db.expiresCount, 1)
        db.modify(ByteBuffer(string: "l")) { $0 = nil }
        XCTAssertEqual(db.count, 1)
        XCTAssertEqual(db.expiresCount, 0)
        XCTAssertNotNil(db.remove(ByteBuffer(string: "a")))
        XCTAssertEqual(db.count, 0)
    }

    func testSnapshotCopyIsIndependent() {
        var db = Database()
        db.set(ByteBuffer(string: "k"), .string(copying: ByteBuffer(string: "v1")))
        let snapshot = db
        db.set(ByteBuffer(string: "k"), .string(copying: ByteBuffer(string: "v2")))
        db.set(ByteBuffer(string: "new"), .string(copying: ByteBuffer(string: "x")))
        guard case .string(let old) = snapshot.entry(ByteBuffer(string: "k"))!.value else { return XCTFail() }
        XCTAssertEqual(old.string, "v1")
        XCTAssertNil(snapshot.entry(ByteBuffer(string: "new")))
        XCTAssertEqual(snapshot.count, 1)
    }

    /// Address of the stored string's bytes, without keeping a reference to them.
    private func storedAddress(_ db: Database, _ key: String) -> Int? {
        guard case .string(let s)? = db.entry(ByteBuffer(string: key))?.value else { return nil }
        return s.withUnsafeBytes { Int(bitPattern: $0.baseAddress) }
    }

    private func stored(_ db: Database, _ key: String) -> String? {
        guard case .string(let s)? = db.entry(ByteBuffer(string: key))?.value else { return nil }
        return s.string
    }

    /// (Values of up to 22 bytes live inline in the entry; these are long enough for the heap.)
    func testSetStringOverwritesInPlaceButNeverUnderASnapshot() {
        var db = Database()
        let key = ByteBuffer(string: "k")
        XCTAssertTrue(db.setString(key, copying: ByteBuffer(string: "first value, longer than 22 bytes"), expireAt: 50))
        let before = storedAddress(db, "k")
        XCTAssertFalse(db.setString(key, copying: ByteBuffer(string: "again value, longer than 22 bytes"), keepTTL: true))
        XCTAssertEqual(storedAddress(db, "k"), before, "a string only the entry holds is overwritten in place")
        XCTAssertEqual(stored(db, "k"), "again value, longer than 22 bytes")
        XCTAssertEqual(db.entry(key)?.expireAt, 50)

        let snapshot = db   // shares the stored buffer, as a BGSAVE snapshot does
        db.setString(key, copying: ByteBuffer(string: "third value, longer than 22 bytes"))
        XCTAssertEqual(stored(snapshot, "k"), "again value, longer than 22 bytes", "the snapshot keeps the old bytes")
        XCTAssertEqual(stored(db, "k"), "third value, longer than 22 bytes")
        XCTAssertEqual(db.expiresCount, 0)

        // A much larger old buffer is not kept for a small value.
        db.setString(key, copying: ByteBuffer(repeating: 7, count: 4096))
        db.setString(key, copying: ByteBuffer(string: "s"))
        guard case .string(let small)? = db.entry(key)?.value else { return XCTFail() }
        XCTAssertEqual(small.heapBytes, 0, "a small value is stored inline, the large array freed")
        XCTAssertEqual(stored(db, "k"), "s")
        // Over a value of another type the bytes are simply stored.
        db.set(key, .list([CompactBytes(string: "x")]))
        db.setString(key, copying: ByteBuffer(string: "back"))
        XCTAssertEqual(stored(db, "k"), "back")
        XCTAssertEqual(db.count, 1)
    }

    func testOverwriteCopyingReusesOnlyAnUnsharedBufferOfFittingSize() {
        var value = ByteBuffer(string: "first value")
        let address = value.withUnsafeReadableBytes { $0.baseAddress }
        value.overwrite(copying: ByteBuffer(string: "second"))
        XCTAssertEqual(value, ByteBuffer(string: "second"))
        XCTAssertEqual(value.withUnsafeReadableBytes { $0.baseAddress }, address, "unshared: written in place")

        let holder = value   // a snapshot's reference
        value.overwrite(copying: ByteBuffer(string: "third"))
        XCTAssertEqual(holder, ByteBuffer(string: "second"), "the other holder keeps its bytes")
        XCTAssertEqual(value, ByteBuffer(string: "third"))

        var big = ByteBuffer(repeating: 1, count: 4096)
        big.overwrite(copying: ByteBuffer(string: "s"))
        XCTAssertEqual(big, ByteBuffer(string: "s"))
        XCTAssertLessThanOrEqual(big.capacity, 64, "a much larger buffer is not kept for a small value")
    }

    func testSlotPlacementIsStableAndSpread() {
        XCTAssertEqual(KeySlot.slot(ByteBuffer(string: "foo")), KeySlot.slot(ByteBuffer(string: "foo")))
        var shards = Set<Int>()
        for i in 0..<1000 { shards.insert(KeySlot.shard(ByteBuffer(string: "key:\(i)"))) }
        XCTAssertEqual(shards.count, KeySlot.shardCount, "1000 keys should reach every shard")
    }

    /// The slot hash reads eight bytes at a time: keys that differ only in their tail, or only in
    /// length (zero bytes), or in a byte inside a word, must still spread evenly over the slots.
    func testSlotHashSpreadsSimilarKeysEvenly() {
        var counts = [Int](repeating: 0, count: KeySlot.slotCount)
        let keys = 163_840   // 10 per slot on average
        for i in 0..<keys {
            counts[KeySlot.slot(ByteBuffer(string: "user:\(i):profile"))] += 1
        }
        XCTAssertLessThan(counts.max()!, 40, "a slot got far more than its share")
        XCTAssertLessThan(counts.filter { $0 == 0 }.count, 50, "too many empty slots")
        XCTAssertNotEqual(KeySlot.hash(ByteBuffer(bytes: [0])), KeySlot.hash(ByteBuffer(bytes: [0, 0])))
        XCTAssertNotEqual(KeySlot.hash(ByteBuffer(string: "abcdefgh1")), KeySlot.hash(ByteBuffer(string: "abcdefgh2")))
    }

    func testStrictIntegerParsing() {
        func p(_ s: String) -> Int64? { ByteBuffer(string: s).int64Value }
        XCTAssertEqual(p("0"), 0)
        XCTAssertEqual(p("-9223372036854775808"), Int64.min)
        XCTAssertEqual(p("9223372036854775807"), Int64.max)
        XCTAssertNil(p("9223372036854775808"))
        XCTAssertNil(p("01"))
        XCTAssertNil(p("-0"))
        XCTAssertNil(p("+1"))
        XCTAssertNil(p(" 1"))
        XCTAssertNil(p(""))
    }

    func testLongDoubleFormattingLikeIncrByFloat() {
        XCTAssertEqual(formatLongDouble(parseLongDouble(ByteBuffer(string: "10.5"))! + parseLongDouble(ByteBuffer(string: "-1.1"))!), "9.4")
        XCTAssertEqual(formatLongDouble(3.0), "3")
        XCTAssertNil(parseLongDouble(ByteBuffer(string: "abc")))
        XCTAssertNil(parseLongDouble(ByteBuffer(string: " 1")))
    }
}
