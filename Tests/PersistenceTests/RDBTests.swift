import DequeModule
import NIOCore
import XCTest
@testable import Keyspace
@testable import Persistence

/// Writing and reading RDB files: every type through the writer and back, Redis's string
/// encodings byte for byte, the compact encodings only Redis writes, a file written by a real
/// redis-server 7.0, and damaged files.
final class RDBTests: XCTestCase {
    // MARK: Helpers

    func buf(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
    func buf(_ b: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: b) }

    /// A comparable rendering of a value (sets and hashes sorted).
    func render(_ v: Value) -> String {
        func s(_ b: ByteBuffer) -> String { b.readableBytesView.map { String($0) }.joined(separator: ".") }
        switch v {
        case .string(let b): return "string:" + s(b.byteBuffer)
        case .list(let l): return "list:" + l.map { s($0.byteBuffer) }.joined(separator: ",")
        case .set(let m): return "set:" + m.map(s).sorted().joined(separator: ",")
        case .hash(let h): return "hash:" + h.map { s($0.key) + "=" + s($0.value) }.sorted().joined(separator: ",")
        case .zset(let z): return "zset:" + z.map { s($0.member) + "@" + String($0.score) }.joined(separator: ",")
        }
    }

    /// Every key of a keyspace as db → key → (rendered value, expiry).
    func contents(_ ks: Keyspace) -> [Int: [String: String]] {
        var out: [Int: [String: String]] = [:]
        for shard in ks.shards {
            for db in 0..<ks.databaseCount {
                for table in shard.dbs[db].tables {
                    for (k, e) in table {
                        out[db, default: [:]][k.byteBuffer.readableBytesView.map { String($0) }.joined(separator: ".")] = render(e.value) + " ttl:\(e.expireAt)"
                    }
                }
            }
        }
        return out
    }

    func write(_ ks: Keyspace, options: RDBWriter.Options = .init(), now: Int64 = 1_000) throws -> [UInt8] {
        var file: [UInt8] = []
        let writer = RDBWriter(options: options) { file.append(contentsOf: $0) }
        try writer.write(ks.snapshot(now: now), aux: [("redis-ver", "7.0.15"), ("redis-bits", "64")])
        return file
    }

    @discardableResult
    func load(_ file: [UInt8], into ks: Keyspace, now: Int64 = 1_000) throws -> RDBLoadSummary {
        try file.withUnsafeBytes { raw in
            try RDBReader(raw).load(databases: ks.databaseCount, now: now, clock: 0, insert: ks.insertLoaded)
        }
    }

    func put(_ ks: Keyspace, db: Int = 0, _ key: ByteBuffer, _ value: Value, expireAt: Int64 = 0) {
        XCTAssertTrue(ks.insertLoaded(db: db, key: key, entry: Entry(value: value, expireAt: expireAt)))
    }

    func sampleKeyspace() -> Keyspace {
        let ks = Keyspace(databases: 16)
        put(ks, buf("plain"), .string(copying: buf("hello world")))
        put(ks, buf("empty"), .string(copying: buf("")))
        put(ks, buf([0, 255, 13, 10]), .string(copying: buf([1, 0, 2, 0xfe])))
        for (i, n) in ["0", "-1", "127", "-128", "128", "32767", "-32768", "32768", "2147483647", "-2147483648",
                       "2147483648", "9223372036854775807", "-9223372036854775808", "007", "+1", "1.5"].enumerated() {
            put(ks, buf("int\(i)"), .string(copying: buf(n)))
        }
        put(ks, buf("compressible"), .string(copying: buf(String(repeating: "swiftlet ", count: 1000))))
        put(ks, buf("big"), .string(copying: ByteBuffer(bytes: (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) })))
        // Numbers, short elements (stored inline) and long ones (stored on the heap).
        put(ks, buf("list"), .list(Deque((0..<1000).map { CompactBytes(string: $0 % 3 == 0 ? "\($0)" : $0 % 3 == 1 ? "element-\($0)" : "a longer list element number \($0)") })))
        put(ks, buf("set"), .set(Set((0..<600).map { buf("m\($0)") })))
        put(ks, buf("hash"), .hash(Dictionary(uniqueKeysWithValues: (0..<300).map { (buf("f\($0)"), buf("\($0 * 7)")) })))
        var z = SortedSet()
        for i in 0..<500 { _ = z.insert(buf("z\(i)"), score: Double(i) * 0.25 - 40) }
        _ = z.insert(buf("top"), score: .infinity)
        _ = z.insert(buf("bottom"), score: -.infinity)
        _ = z.insert(buf("tiny"), score: 5e-324)
        put(ks, buf("zset"), .zset(z))
        put(ks, buf("ttl"), .string(copying: buf("v")), expireAt: 4_102_444_800_123)
        for db in 1..<16 { put(ks, db: db, buf("k"), .string(copying: buf("db\(db)"))) }
        return ks
    }

    // MARK: Round trips

    func testEveryTypeRoundTripsWithAndWithoutCompression() throws {
        let original = sampleKeyspace()
        for options in [RDBWriter.Options(), RDBWriter.Options(compression: false, checksum: false)] {
            let file = try write(original, options: options)
            XCTAssertEqual(Array(file.prefix(9)), Array("REDIS0010".utf8))
            let loaded = Keyspace(databases: 16)
            let summary = try load(file, into: loaded)
            XCTAssertEqual(summary.keysLoaded, 41)
            XCTAssertEqual(summary.aux["redis-ver"], "7.0.15")
            XCTAssertEqual(contents(loaded), contents(original))
        }
    }

    func testCompressionMakesRepetitiveFilesSmaller() throws {
        let ks = sampleKeyspace()
        let compressed = try write(ks)
        let plain = try write(ks, options: .init(compression: false))
        XCTAssertLessThan(compressed.count + 8000, plain.count)
    }

    func testExpiredKeysAreNeitherSavedNorLoaded() throws {
        let ks = Keyspace(databases: 16)
        put(ks, buf("gone"), .string(copying: buf("x")), expireAt: 500)
        put(ks, buf("kept"), .string(copying: buf("x")), expireAt: 5_000)
        let file = try write(ks, now: 1_000)
        let loaded = Keyspace(databases: 16)
        XCTAssertEqual(try load(file, into: loaded, now: 1_000).keysLoaded, 1)
        // Loaded after its expiry has passed: counted as expired, not inserted.
        let later = Keyspace(databases: 16)
        let summary = try load(file, into: later, now: 6_000)
        XCTAssertEqual(summary.keysLoaded, 0)
        XCTAssertEqual(summary.keysExpired, 1)
    }

    /// Redis's `rdbSaveRawString` choices, byte for byte.
    func testStringEncodingsMatchRedis() throws {
        func encoded(_ s: String) throws -> [UInt8] {
            var out: [UInt8] = []
            let w = RDBWriter { out.append(contentsOf: $0) }
            try w.writeString(buf(s))
            try w.write(KeyspaceSnapshot(databases: [], takenAt: 0), aux: [])   // flushes
            return Array(out.prefix(out.count - 18))   // drop header, EOF and checksum
        }
        XCTAssertEqual(try encoded("-1"), [0xC0, 0xFF])
        XCTAssertEqual(try encoded("300"), [0xC1, 0x2C, 0x01])
        XCTAssertEqual(try encoded("-2147483648"), [0xC2, 0x00, 0x00, 0x00, 0x80])
        XCTAssertEqual(try encoded("2147483648"), [10] + Array("2147483648".utf8))   // beyond 32 bits: text
        XCTAssertEqual(try encoded("007"), [3] + Array("007".utf8))                  // not canonical: text
        XCTAssertEqual(try encoded(String(repeating: "a", count: 64)).prefix(1), [0xC3])  // LZF
        XCTAssertEqual(try encoded(String(repeating: "a", count: 20)), [20] + Array(String(repeating: "a", count: 20).utf8))
        XCTAssertEqual(try encoded(String(repeating: "b", count: 16383)).prefix(1), [0xC3])
    }

    func testLengthEncodings() throws {
        var out: [UInt8] = []
        let w = RDBWriter { out.append(contentsOf: $0) }
        for n: UInt64 in [0, 63, 64, 16383, 16384, 1 << 32] { try w.writeLength(n) }
        try w.write(KeyspaceSnapshot(databases: [], takenAt: 0), aux: [])
        XCTAssertEqual(Array(out.prefix(22)), [0, 63, 0x40, 64, 0x7F, 0xFF, 0x80, 0, 0, 0x40, 0, 0x81, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45])
    }

    // MARK: Snapshot isolation

    func testSnapshotIsFrozenWhileTheKeyspaceChanges() throws {
        let ks = sampleKeyspace()
        let before = contents(ks)
        let snapshot = ks.snapshot(now: 1_000)
        // Writes of every kind after the snapshot: replace, delete, in-place collection edit, new key.
        let shard = ks.shard(for: buf("plain"))
        shard.dbs[0].set(buf("plain"), .string(copying: buf("changed")))
        ks.shard(for: buf("set")).dbs[0].remove(buf("set"))
        ks.shard(for: buf("list")).dbs[0].modify(buf("list")) { entry in
            if case .list(var l) = entry!.value { entry!.value = .string(copying: ByteBuffer()); l.removeAll(); l.append(CompactBytes(string: "only")); entry!.value = .list(l) }
        }
        put(ks, buf("new"), .string(copying: buf("after")))
        var file: [UInt8] = []
        try RDBWriter { file.append(contentsOf: $0) }.write(snapshot, aux: [])
        let loaded = Keyspace(databases: 16)
        try load(file, into: loaded)
        XCTAssertEqual(contents(loaded), before)
        XCTAssertNotEqual(contents(ks), before)
    }

    // MARK: Files written by Redis

    func testLoadsAFileWrittenByRedis70WithItsCompactEncodings() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/redis-7.0-encodings.rdb").path
        let file = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let ks = Keyspace(databases: 16)
        let summary = try load(Array(file), into: ks, now: currentTimeMillis())
        XCTAssertEqual(summary.keysLoaded, 17)
        XCTAssertEqual(summary.aux["redis-ver"], "7.0.15")
        let c = contents(ks)[0]!
        func key(_ s: String) -> String { Array(s.utf8).map { String($0) }.joined(separator: ".") }
        func str(_ s: String) -> String { Array(s.utf8).map { String($0) }.joined(separator: ".") }
        XCTAssertEqual(c[key("str")], "string:" + str("hello") + " ttl:0")
        XCTAssertEqual(c[key("int")], "string:" + str("123456") + " ttl:0")
        XCTAssertEqual(c[key("neg")], "string:" + str("-5") + " ttl:0")
        XCTAssertEqual(c[key("big64")], "string:" + str("9223372036854775807") + " ttl:0")
        XCTAssertEqual(c[key("lzf")], "string:" + str(String(repeating: "abcabcabc", count: 20)) + " ttl:0")
        XCTAssertEqual(c[key("smalllist")], "list:" + ["a", "1", "-200", "70000", "-8388608", "2147483648", "xyz", String(repeating: "q", count: 100)].map(str).joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("biglist")], "list:" + (0..<1000).map { str($0 % 3 != 0 ? "\($0)" : "elem\($0)") }.joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("bighash")], "hash:" + (0..<300).map { str("f\($0)") + "=" + str("v\($0)") }.sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("longhash")], "hash:" + [str("f") + "=" + str(String(repeating: "L", count: 100)), str("g") + "=" + str("1")].sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("bigset")], "set:" + (0..<600).map { str("m\($0)") }.sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("intset")], "set:" + ["1", "2", "3", "-40000", "5000000000"].map(str).sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("strset")], "set:" + ["a", "b", "c"].map(str).sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("smallhash")], "hash:" + [str("a") + "=" + str("1"), str("b") + "=" + str("two"), str("c") + "=" + str("-3")].sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("smallzset")], "zset:" + [str("c") + "@-3.0", str("a") + "@1.0", str("b") + "@2.5", str("d") + "@inf"].joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("bigzset")], "zset:" + (0..<200).map { str("z\($0)") + "@" + String(Double($0) * 0.5) }.joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[key("withttl")], "string:" + str("v") + " ttl:4102444800123")
        XCTAssertEqual(contents(ks)[7]?[Array("bin".utf8 + [1, 2] + "key".utf8).map { String($0) }.joined(separator: ".")], "string: ttl:0")
    }

    /// Encodings Redis 7.0 no longer writes but still reads (ziplist, zipmap, quicklist 1,
    /// intset widths), built byte by byte from their specification.
    func testLoadsOlderCompactEncodings() throws {
        func string(_ bytes: [UInt8]) -> [UInt8] { lengthPrefix(bytes.count) + bytes }
        func lengthPrefix(_ n: Int) -> [UInt8] { n < 64 ? [UInt8(n)] : [UInt8(n >> 8) | 0x40, UInt8(n & 0xff)] }
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func ziplist(_ entries: [[UInt8]]) -> [UInt8] {
            var body: [UInt8] = []
            var prev = 0
            for e in entries { let entry = [UInt8(prev)] + e; body += entry; prev = entry.count }
            let total = 10 + body.count + 1
            return le32(total) + le32(0) + [UInt8(entries.count), 0] + body + [0xFF]
        }
        let zl = ziplist([
            [0x03] + Array("abc".utf8),     // 6-bit string
            [0xC0, 0x2C, 0x01],             // int16 300
            [0xF0, 0x00, 0x00, 0x80],       // int24 -8388608
            [0xFE, 0x9C],                   // int8 -100
            [0xF5],                         // immediate 4
            [0xE0] + (0..<8).map { $0 == 7 ? 0x7F : 0xFF },   // int64 max
        ])
        let intset16: [UInt8] = le32(2) + le32(2) + [0x01, 0x00, 0xFF, 0xFF]   // 1, -1
        let zipmap: [UInt8] = [2, 1] + Array("a".utf8) + [2, 0] + Array("xy".utf8) + [1] + Array("b".utf8) + [1, 3] + Array("z".utf8) + [0, 0, 0, 0xFF]
        let zsetZiplist = ziplist([[0x01] + Array("m".utf8), [0x03] + Array("1.5".utf8), [0x01] + Array("n".utf8), [0xF3]])
        var file = Array("REDIS0009".utf8)
        file += [RDB.Opcode.selectDB, 0]
        file += [RDB.ValueType.listZiplist.rawValue] + string(Array("zl".utf8)) + string(zl)
        file += [RDB.ValueType.listQuicklist.rawValue] + string(Array("ql".utf8)) + [2] + string(zl) + string(zl)
        file += [RDB.ValueType.setIntset.rawValue] + string(Array("is".utf8)) + string(intset16)
        file += [RDB.ValueType.hashZipmap.rawValue] + string(Array("zm".utf8)) + string(zipmap)
        file += [RDB.ValueType.zsetZiplist.rawValue] + string(Array("zz".utf8)) + string(zsetZiplist)
        file += [RDB.ValueType.hashZiplist.rawValue] + string(Array("hz".utf8)) + string(ziplist([[0x01, 0x66], [0xF2]]))
        file += [RDB.Opcode.expireTimeSeconds] + le32(2_000_000_000) + [0] + string(Array("sec".utf8)) + string(Array("v".utf8))
        file += [RDB.Opcode.eof]
        file += [UInt8](repeating: 0, count: 8)   // checksum 0: not checked
        let ks = Keyspace(databases: 16)
        XCTAssertEqual(try load(file, into: ks).keysLoaded, 7)
        let c = contents(ks)[0]!
        func k(_ s: String) -> String { Array(s.utf8).map { String($0) }.joined(separator: ".") }
        let zlElements = ["abc", "300", "-8388608", "-100", "4", "9223372036854775807"].map(k).joined(separator: ",")
        XCTAssertEqual(c[k("zl")], "list:" + zlElements + " ttl:0")
        XCTAssertEqual(c[k("ql")], "list:" + zlElements + "," + zlElements + " ttl:0")
        XCTAssertEqual(c[k("is")], "set:" + [k("-1"), k("1")].sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[k("zm")], "hash:" + [k("a") + "=" + k("xy"), k("b") + "=" + k("z")].sorted().joined(separator: ",") + " ttl:0")
        XCTAssertEqual(c[k("zz")], "zset:" + k("m") + "@1.5," + k("n") + "@2.0 ttl:0")
        XCTAssertEqual(c[k("hz")], "hash:" + k("f") + "=" + k("1") + " ttl:0")
        XCTAssertEqual(c[k("sec")], "string:" + k("v") + " ttl:2000000000000")
    }

    // MARK: Damaged files

    func testEveryTruncationIsAnErrorNamingAnOffset() throws {
        let file = try write(sampleKeyspace())
        // Every prefix (sampled densely at the start and end) fails cleanly.
        let cuts = Array(0..<min(400, file.count)) + Array(stride(from: 400, to: file.count, by: 997)) + Array((file.count - 20)..<file.count)
        for cut in cuts {
            XCTAssertThrowsError(try load(Array(file.prefix(cut)), into: Keyspace(databases: 16)), "cut at \(cut)") { error in
                let e = error as? RDBLoadError
                XCTAssertNotNil(e)
                XCTAssertLessThanOrEqual(e?.offset ?? .max, cut)
            }
        }
    }

    func testCorruptionIsDetected() throws {
        let file = try write(sampleKeyspace())
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var damaged = file
            let at = Int.random(in: 9..<(file.count - 8), using: &rng)
            damaged[at] ^= UInt8.random(in: 1...255, using: &rng)
            XCTAssertThrowsError(try load(damaged, into: Keyspace(databases: 16)), "byte \(at) flipped")
        }
    }

    func testRefusesWhatItCannotHold() throws {
        var file = Array("REDIS0011".utf8) + [RDB.Opcode.eof] + [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(try load(file, into: Keyspace())) { XCTAssertTrue("\($0)".contains("version 11")) }
        file = Array("REDIS0010".utf8) + [RDB.Opcode.selectDB, 20, RDB.Opcode.eof] + [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(try load(file, into: Keyspace(databases: 16))) { XCTAssertTrue("\($0)".contains("database 20")) }
        file = Array("REDIS0010".utf8) + [RDB.ValueType.streamListpacks2.rawValue, 1, 0x73]
        XCTAssertThrowsError(try load(file, into: Keyspace())) { XCTAssertTrue("\($0)".contains("stream")) }
        // The same key twice.
        file = Array("REDIS0010".utf8) + [0, 1, 0x6B, 1, 0x61, 0, 1, 0x6B, 1, 0x62, RDB.Opcode.eof] + [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(try load(file, into: Keyspace())) { XCTAssertTrue("\($0)".contains("duplicate key")) }
        XCTAssertThrowsError(try load(Array("NOTRDB000".utf8), into: Keyspace()))
    }
}
