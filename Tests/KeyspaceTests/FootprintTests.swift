import DequeModule
import NIOCore
import XCTest
@testable import Keyspace

final class FootprintTests: XCTestCase {
    /// What `Database.memory` should be, recomputed from scratch: every table's storage, every
    /// key and value, the expiry index.
    private func recomputed(_ db: Database) -> Int {
        var total = db.volatile.footprint
        for table in db.tables {
            total += table.memory
            for (key, entry) in table {
                total += Footprint.key(length: key.count) + Int(Footprint.stored(entry.value))
                XCTAssertEqual(entry.footprint, Footprint.stored(entry.value), "stale footprint for \(key.string)")
            }
        }
        return total
    }

    /// The incremental accounting agrees with a recount after a random mix of every way a
    /// database changes: string writes and overwrites, collections created, grown, shrunk and
    /// emptied in place, expiries set and cleared, deletes, and loads of new keys.
    func testIncrementalAccountingMatchesARecount() {
        var db = Database()
        var rng = SystemRandomNumberGenerator()
        let clock = AccessClock(seconds: 100)
        for step in 0..<20_000 {
            let key = ByteBuffer(string: "k\(Int.random(in: 0..<500, using: &rng))")
            switch Int.random(in: 0..<8, using: &rng) {
            case 0:
                db.setString(key, copying: ByteBuffer(string: String(repeating: "v", count: Int.random(in: 0..<300, using: &rng))),
                             access: clock)
            case 1:
                db.set(key, .string(copying: ByteBuffer(string: "x")), expireAt: Int64(step + 1), access: clock)
            case 2, 3:
                db.modify(key, access: clock) { slot in
                    var list: Deque<CompactBytes>
                    if let e = slot, case .list(let l) = e.value { list = l } else { list = [] }
                    if Bool.random(using: &rng) || list.isEmpty {
                        list.append(CompactBytes(string: String(repeating: "e", count: Int.random(in: 0..<60, using: &rng))))
                    } else {
                        list.removeFirst()
                    }
                    slot = list.isEmpty ? nil : Entry(value: .list(list), expireAt: slot?.expireAt ?? 0)
                }
            case 4:
                db.modify(key, access: clock) { slot in
                    var hash: [ByteBuffer: ByteBuffer]
                    if let e = slot, case .hash(let h) = e.value { hash = h } else { hash = [:] }
                    hash[ByteBuffer(string: "f\(Int.random(in: 0..<40, using: &rng))")] = ByteBuffer(string: "value")
                    slot = Entry(value: .hash(hash), expireAt: slot?.expireAt ?? 0)
                }
            case 5:
                db.setExpire(key, Bool.random(using: &rng) ? 0 : Int64(step + 1))
            case 6:
                db.remove(key)
            default:
                _ = db.insertNew(ByteBuffer(string: "loaded\(step)"), Entry(value: .set([ByteBuffer(string: "m")]), expireAt: 5))
            }
        }
        XCTAssertGreaterThan(db.count, 0)
        XCTAssertEqual(db.memory, recomputed(db))
    }

    /// Deleting every key gives every table's storage back: an emptied database (by DEL,
    /// emptied collections or eviction) accounts for nothing, so eviction can always get a
    /// server under maxmemory by removing keys.
    func testEmptiedDatabaseAccountsForNothing() {
        var db = Database()
        let clock = AccessClock(seconds: 100)
        for i in 0..<2000 {
            db.set(ByteBuffer(string: "k\(i)"), .string(copying: ByteBuffer(string: "v")), access: clock)
            _ = db.modify(ByteBuffer(string: "l\(i)"), access: clock) { slot in slot = Entry(value: .list([CompactBytes(string: "x")])) }
        }
        XCTAssertGreaterThan(db.tableBytes, 0)
        for i in 0..<2000 {
            db.remove(ByteBuffer(string: "k\(i)"))
            _ = db.modify(ByteBuffer(string: "l\(i)"), access: clock) { slot in slot = nil }
        }
        XCTAssertEqual(db.count, 0)
        XCTAssertEqual(db.tableBytes, 0)
        XCTAssertEqual(db.memory, 0)
        XCTAssertEqual(db.memory, recomputed(db))
    }

    /// The footprint lives in what was padding: an entry is no larger than before it existed.
    func testEntryFootprintCostsNoSpace() {
        XCTAssertEqual(MemoryLayout<Entry>.stride, 40)
    }

    func testMallocChunkModelsGlibc() {
        XCTAssertEqual(Footprint.chunk(0), 32)
        XCTAssertEqual(Footprint.chunk(24), 32)
        XCTAssertEqual(Footprint.chunk(25), 48)
        XCTAssertEqual(Footprint.chunk(100), 112)
        // Keys up to 22 bytes live in their table slot; longer ones in a [UInt8] (32-byte header).
        XCTAssertEqual(Footprint.key(length: 22), 0)
        XCTAssertEqual(Footprint.key(length: 23), Footprint.chunk(55))
    }

    /// Redis's LFU rules: new keys start at 5; the counter rises at once from there, ever more
    /// slowly above; it loses one per `lfu-decay-time` minutes and never goes below zero.
    func testLFUCounterIncrementsAndDecays() {
        let minute: UInt32 = 60
        var clock = AccessClock(seconds: 1000 * minute, lfu: .init(logFactor: 10, decayMinutes: 1, random: 0))
        let fresh = clock.initial
        XCTAssertEqual(fresh & 0xFF, 5)
        // random 0 always passes the probability test.
        XCTAssertEqual(clock.touched(fresh) & 0xFF, 6)
        // With random just under 2^32 only p = 1 passes: counter 5 (base 0) still rises, 6 does not.
        clock.lfu!.random = UInt32.max
        XCTAssertEqual(clock.touched(fresh) & 0xFF, 6)
        let six = clock.touched(fresh)
        XCTAssertEqual(clock.touched(six) & 0xFF, 6)
        // Ten minutes later the counter has lost ten, floored at zero.
        let later = AccessClock(seconds: 1010 * minute, lfu: clock.lfu)
        XCTAssertEqual(later.decayedCount(six, decayMinutes: 1), 0)
        XCTAssertEqual(later.decayedCount(six, decayMinutes: 5), 4)
        XCTAssertEqual(later.decayedCount(six, decayMinutes: 0), 6)
        // Saturates at 255.
        let top = AccessClock(seconds: 1000 * minute, lfu: .init(logFactor: 0, decayMinutes: 0, random: 0))
        XCTAssertEqual(top.touched(top.initial & ~0xFF | 255) & 0xFF, 255)
    }

    /// LRU: an access stamps the clock's seconds; idle time is measured from it.
    func testLRUStampAndIdleTime() {
        let clock = AccessClock(seconds: 500)
        XCTAssertEqual(clock.initial, 500)
        XCTAssertEqual(clock.touched(12), 500)
        XCTAssertEqual(AccessClock(seconds: 530).idleSeconds(500), 30)
        XCTAssertEqual(AccessClock(seconds: 400).idleSeconds(500), 0)
    }

    /// A database's eviction sample names existing keys with their fields, and only keys
    /// with an expiry when asked.
    func testSampleKeysNamesExistingKeys() {
        var db = Database()
        for i in 0..<1000 { db.set(ByteBuffer(string: "p\(i)"), .string(copying: ByteBuffer(string: "v")), access: AccessClock(seconds: UInt32(i))) }
        for i in 0..<10 { db.set(ByteBuffer(string: "t\(i)"), .string(copying: ByteBuffer(string: "v")), expireAt: Int64(1000 + i)) }
        var rng = SystemRandomNumberGenerator()
        var seen = 0
        db.sampleKeys(5, volatileOnly: false, using: &rng) { key, access, _ in
            seen += 1
            XCTAssertEqual(db.entry(key())?.lastAccess, access)
        }
        XCTAssertEqual(seen, 5)
        seen = 0
        db.sampleKeys(5, volatileOnly: true, using: &rng) { key, _, expireAt in
            seen += 1
            XCTAssertTrue(key().string.hasPrefix("t"))
            XCTAssertEqual(db.entry(key())?.expireAt, expireAt)
        }
        XCTAssertEqual(seen, 5)
    }
}
