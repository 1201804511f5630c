import NIOCore
import XCTest
@testable import Commands
@testable import Keyspace
import RESP

/// Hash commands through the real dispatcher. Expected replies and error strings were checked
/// against redis-server 7.0.15.
final class HashCommandsTests: XCTestCase {
    let wrongType = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    let notInteger = Reply.error("ERR value is not an integer or out of range")

    /// The server's change counter (what `ctx.changed` feeds): tells effective writes from no-ops.
    func dirty(_ s: TestServer) -> Int { s.runtime.stats.changesSinceSave.load(ordering: .relaxed) }

    /// A flat field/value reply (RESP2 HGETALL, HSCAN page) as a dictionary.
    func pairs(_ flat: [Reply], file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
        XCTAssertEqual(flat.count % 2, 0, "odd number of elements", file: file, line: line)
        var out: [String: String] = [:]
        for i in stride(from: 0, to: flat.count - 1, by: 2) {
            XCTAssertNil(out[flat[i].string!], "field \(flat[i]) repeated", file: file, line: line)
            out[flat[i].string!] = flat[i + 1].string!
        }
        return out
    }

    func sortedStrings(_ r: Reply?) -> [String] { (r?.elements ?? []).compactMap(\.string).sorted() }

    // MARK: HSET, HMSET, HSETNX, HGET, HMGET

    /// An overwritten field reuses its value's buffer, except while a snapshot (BGSAVE) shares the
    /// hash: the snapshot must keep the old value.
    func testHSetOverwriteLeavesASnapshotUntouched() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("HSET", "h", "f", "old", "g", "other"), .integer(2))
        let snapshot = s.runtime.keyspace.snapshot(now: 0)
        XCTAssertEqual(c.call("HSET", "h", "f", "new"), .integer(0))
        XCTAssertEqual(c.call("HSET", "h", "f", String(repeating: "long ", count: 40)), .integer(0))
        XCTAssertEqual(c.call("HSET", "h", "f", "newer"), .integer(0))
        XCTAssertEqual(c.call("HGET", "h", "f"), .bulk("newer"))
        var saved: [String: String] = [:]
        for db in snapshot.databases where db.index == 0 {
            snapshot.forEachEntry(in: db) { key, entry in
                guard key.string == "h", case .hash(let h) = entry.value else { return }
                for (field, value) in h { saved[field.string] = value.string }
            }
        }
        XCTAssertEqual(saved, ["f": "old", "g": "other"])
    }

    func testHSetCountsNewFieldsAndOverwrites() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("HSET", "h", "a", "1", "b", "2"), .integer(2))
        XCTAssertEqual(c.call("HSET", "h", "a", "3", "c", "4"), .integer(1))
        XCTAssertEqual(c.call("HGET", "h", "a"), .bulk("3"))
        XCTAssertEqual(c.call("HGET", "h", "c"), .bulk("4"))
        XCTAssertEqual(c.call("HGET", "h", "nope"), .null)
        XCTAssertEqual(c.call("HGET", "nokey", "a"), .null)
        XCTAssertEqual(c.call("HLEN", "h"), .integer(3))
        // Same field twice in one call: one new field, the last value wins.
        XCTAssertEqual(c.call("HSET", "h2", "f", "x", "f", "y"), .integer(1))
        XCTAssertEqual(c.call("HGET", "h2", "f"), .bulk("y"))
        // Empty field names and values are legal.
        XCTAssertEqual(c.call("HSET", "h2", "", ""), .integer(1))
        XCTAssertEqual(c.call("HGET", "h2", ""), .bulk(""))
    }

    func testHSetArityErrors() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("HSET", "h", "a"), .error("ERR wrong number of arguments for 'hset' command"))
        XCTAssertEqual(c.call("HSET", "h", "a", "1", "b"), .error("ERR wrong number of arguments for 'hset' command"))
        XCTAssertEqual(c.call("HMSET", "h", "a", "1", "b"), .error("ERR wrong number of arguments for 'hmset' command"))
        XCTAssertEqual(c.call("EXISTS", "h"), .integer(0), "a rejected HSET must not create the key")
        XCTAssertEqual(dirty(s), 0)
    }

    func testHMSetRepliesOK() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("HMSET", "h", "a", "1", "b", "2"), .simple("OK"))
        XCTAssertEqual(c.call("hmset", "h", "a", "5"), .simple("OK"))
        XCTAssertEqual(c.call("HMGET", "h", "a", "b"), bulks("5", "2"))
    }

    func testHSetNX() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("HSETNX", "h", "a", "1"), .integer(1))
        let before = dirty(s)
        XCTAssertEqual(c.call("HSETNX", "h", "a", "2"), .integer(0))
        XCTAssertEqual(dirty(s), before, "HSETNX on an existing field changes nothing")
        XCTAssertEqual(c.call("HGET", "h", "a"), .bulk("1"))
        XCTAssertEqual(c.call("HSETNX", "h", "b", "2"), .integer(1))
        XCTAssertEqual(c.call("HLEN", "h"), .integer(2))
    }

    func testHMGet() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1", "c", "3")
        XCTAssertEqual(c.call("HMGET", "h", "a", "nope", "c"), .array([.bulk("1"), .null, .bulk("3")]))
        XCTAssertEqual(c.call("HMGET", "nokey", "a", "b"), .array([.null, .null]))
        let c3 = TestServer().client(proto: .resp3)
        XCTAssertEqual(c3.call("HMGET", "nokey", "a"), .array([.null]))
    }

    // MARK: whole-hash reads

    func testHGetAllRESP2IsAFlatArray() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
        guard case .array(let flat)? = c.call("HGETALL", "h") else { return XCTFail("not an array") }
        XCTAssertEqual(pairs(flat), ["a": "1", "b": "2", "c": "3"])
        XCTAssertEqual(c.call("HGETALL", "nokey"), .array([]))
    }

    func testHGetAllRESP3IsAMap() {
        let c = TestServer().client(proto: .resp3)
        c.call("HSET", "h", "a", "1", "b", "2")
        guard case .map(let flat)? = c.call("HGETALL", "h") else { return XCTFail("not a map") }
        XCTAssertEqual(pairs(flat), ["a": "1", "b": "2"])
        XCTAssertEqual(c.call("HGETALL", "nokey"), .map([]))
    }

    func testHKeysAndHVals() {
        let c = TestServer().client(proto: .resp3)
        c.call("HSET", "h", "a", "1", "b", "2")
        guard case .array? = c.call("HKEYS", "h") else { return XCTFail("HKEYS is an array in RESP3 too") }
        XCTAssertEqual(sortedStrings(c.call("HKEYS", "h")), ["a", "b"])
        XCTAssertEqual(sortedStrings(c.call("HVALS", "h")), ["1", "2"])
        XCTAssertEqual(c.call("HKEYS", "nokey"), .array([]))
        XCTAssertEqual(c.call("HVALS", "nokey"), .array([]))
        // Keys and values come in the same order.
        let keys = c.call("HKEYS", "h")!.elements.compactMap(\.string)
        let vals = c.call("HVALS", "h")!.elements.compactMap(\.string)
        XCTAssertEqual(keys.map { $0 == "a" ? "1" : "2" }, vals)
    }

    func testHLenHStrlenHExists() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "hello", "n", "12345")
        XCTAssertEqual(c.call("HLEN", "h"), .integer(2))
        XCTAssertEqual(c.call("HLEN", "nokey"), .integer(0))
        XCTAssertEqual(c.call("HSTRLEN", "h", "a"), .integer(5))
        XCTAssertEqual(c.call("HSTRLEN", "h", "n"), .integer(5))
        XCTAssertEqual(c.call("HSTRLEN", "h", "nope"), .integer(0))
        XCTAssertEqual(c.call("HSTRLEN", "nokey", "a"), .integer(0))
        XCTAssertEqual(c.call("HEXISTS", "h", "a"), .integer(1))
        XCTAssertEqual(c.call("HEXISTS", "h", "nope"), .integer(0))
        XCTAssertEqual(c.call("HEXISTS", "nokey", "a"), .integer(0))
    }

    // MARK: HDEL

    func testHDelRemovesFieldsAndTheEmptyKey() {
        let s = TestServer()
        let c = s.client()
        c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
        XCTAssertEqual(c.call("HDEL", "h", "a", "nope", "a"), .integer(1))
        XCTAssertEqual(c.call("HLEN", "h"), .integer(2))
        let before = dirty(s)
        XCTAssertEqual(c.call("HDEL", "h", "nope"), .integer(0))
        XCTAssertEqual(dirty(s), before, "deleting nothing is not a change")
        XCTAssertEqual(c.call("HDEL", "h", "b", "c", "d"), .integer(2))
        XCTAssertEqual(c.call("EXISTS", "h"), .integer(0), "an emptied hash is deleted")
        XCTAssertEqual(c.call("HDEL", "h", "a"), .integer(0))
        XCTAssertEqual(c.call("HDEL", "h"), .error("ERR wrong number of arguments for 'hdel' command"))
    }

    // MARK: HINCRBY

    func testHIncrBy() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("HINCRBY", "h", "n", "5"), .integer(5))
        XCTAssertEqual(c.call("HINCRBY", "h", "n", "-7"), .integer(-2))
        XCTAssertEqual(c.call("HGET", "h", "n"), .bulk("-2"))
        c.call("HSET", "h", "big", "9223372036854775807", "s", "  1", "z", "01", "f", "1.5", "p", "+1")
        XCTAssertEqual(c.call("HINCRBY", "h", "big", "1"), .error("ERR increment or decrement would overflow"))
        XCTAssertEqual(c.call("HINCRBY", "h", "big", "0"), .integer(9_223_372_036_854_775_807))
        XCTAssertEqual(c.call("HINCRBY", "h", "neg", "-9223372036854775808"), .integer(Int.min))
        XCTAssertEqual(c.call("HINCRBY", "h", "neg", "-1"), .error("ERR increment or decrement would overflow"))
        XCTAssertEqual(c.call("HGET", "h", "neg"), .bulk("-9223372036854775808"), "a failed increment stores nothing")
        for field in ["s", "z", "f", "p"] {
            XCTAssertEqual(c.call("HINCRBY", "h", field, "1"), .error("ERR hash value is not an integer"), field)
        }
        XCTAssertEqual(c.call("HINCRBY", "h", "n", "x"), notInteger)
        XCTAssertEqual(c.call("HINCRBY", "h", "n", "1.0"), notInteger)
        XCTAssertEqual(c.call("HINCRBY", "h", "n", "99999999999999999999"), notInteger)
        XCTAssertEqual(c.call("HINCRBY", "fresh", "n", "x"), notInteger)
        XCTAssertEqual(c.call("EXISTS", "fresh"), .integer(0), "a rejected increment must not create the key")
    }

    // MARK: HINCRBYFLOAT

    func testHIncrByFloatUsesLongDoubleText() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "n", "10.5"), .bulk("10.5"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "n", "-1.1"), .bulk("9.4"))
        XCTAssertEqual(c.call("HGET", "h", "n"), .bulk("9.4"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "n", "0.1"), .bulk("9.5"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "e", "1e3"), .bulk("1000"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "e", "-1000"), .bulk("0"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "tiny", "1e-20"), .bulk("0"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "i", "3"), .bulk("3"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "i", "-3.0"), .bulk("0"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "x", ".5"), .bulk("0.5"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "x", "+1"), .bulk("1.5"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "x", "-0"), .bulk("1.5"))
        // strtold reads hexadecimal, in the stored value and in the increment.
        c.call("HSET", "h", "hex", "0x10")
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "hex", "1"), .bulk("17"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "hex2", "0x10"), .bulk("16"))
        // An integer produced by HINCRBY is a fine starting point.
        c.call("HINCRBY", "h", "int", "7")
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "int", "0.25"), .bulk("7.25"))
    }

    func testHIncrByFloatErrors() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1", "s", "abc", "lead", " 1", "trail", "1 ", "inf", "inf", "nan", "nan")
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "a", "x"), .error("ERR value is not a valid float"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "a", "nan"), .error("ERR value is not a valid float"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "a", "1 "), .error("ERR value is not a valid float"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "a", " 1"), .error("ERR value is not a valid float"))
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "a", "1e5000"), .error("ERR value is not a valid float"))
        for inf in ["inf", "-inf", "+inf", "Infinity"] {
            XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "a", inf), .error("ERR value is NaN or Infinity"), inf)
        }
        for field in ["s", "lead", "trail", "nan"] {
            XCTAssertEqual(c.call("HINCRBYFLOAT", "h", field, "1"), .error("ERR hash value is not a float"), field)
        }
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "inf", "1"), .error("ERR increment would produce NaN or Infinity"))
        XCTAssertEqual(c.call("HGET", "h", "a"), .bulk("1"), "failed increments store nothing")
        XCTAssertEqual(c.call("HINCRBYFLOAT", "fresh", "f", "inf"), .error("ERR value is NaN or Infinity"))
        XCTAssertEqual(c.call("EXISTS", "fresh"), .integer(0))
    }

    func testHIncrByFloatOverflowToInfinity() {
        let c = TestServer().client()
        guard case .bulk(let text)? = c.call("HINCRBYFLOAT", "h", "big", "1e4932") else {
            return XCTFail("1e4932 fits a long double")
        }
        XCTAssertTrue(text.hasPrefix("1000000000000000000006"), "printed with %.17Lf: \(text.prefix(30))")
        XCTAssertEqual(text.count, 4933)
        XCTAssertEqual(c.call("HINCRBYFLOAT", "h", "big", "1e4932"), .error("ERR increment would produce NaN or Infinity"))
    }

    // MARK: HRANDFIELD

    func testHRandFieldWithoutCount() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("HRANDFIELD", "nokey"), .null)
        c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
        var seen: Set<String> = []
        for _ in 0..<200 {
            guard case .bulk(let f)? = c.call("HRANDFIELD", "h") else { return XCTFail("not a bulk") }
            seen.insert(f)
        }
        XCTAssertEqual(seen, ["a", "b", "c"], "every field comes up eventually")
    }

    func testHRandFieldPositiveCountIsDistinct() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("HRANDFIELD", "nokey", "3"), .array([]))
        XCTAssertEqual(c.call("HRANDFIELD", "nokey", "3", "WITHVALUES"), .array([]))
        var args = ["HSET", "h"]
        for i in 0..<10 { args += ["f\(i)", "v\(i)"] }
        c.call(args)
        XCTAssertEqual(c.call("HRANDFIELD", "h", "0"), .array([]))
        for count in [1, 3, 9] {
            let fields = c.call("HRANDFIELD", "h", String(count))!.elements.compactMap(\.string)
            XCTAssertEqual(fields.count, count)
            XCTAssertEqual(Set(fields).count, count, "distinct fields")
            XCTAssertTrue(fields.allSatisfy { $0.hasPrefix("f") })
        }
        XCTAssertEqual(sortedStrings(c.call("HRANDFIELD", "h", "10")), (0..<10).map { "f\($0)" }.sorted())
        XCTAssertEqual(sortedStrings(c.call("HRANDFIELD", "h", "100")), (0..<10).map { "f\($0)" }.sorted())
        // Distinct picks cover the whole hash over many calls.
        var seen: Set<String> = []
        for _ in 0..<100 { seen.formUnion(c.call("HRANDFIELD", "h", "3")!.elements.compactMap(\.string)) }
        XCTAssertEqual(seen.count, 10)
    }

    func testHRandFieldNegativeCountRepeats() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1")
        XCTAssertEqual(c.call("HRANDFIELD", "h", "-5"), bulks("a", "a", "a", "a", "a"))
        c.call("HSET", "h", "b", "2")
        let fields = c.call("HRANDFIELD", "h", "-100")!.elements.compactMap(\.string)
        XCTAssertEqual(fields.count, 100)
        XCTAssertEqual(Set(fields), ["a", "b"])
    }

    func testHRandFieldWithValuesRESP2IsFlat() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
        let expected = ["a": "1", "b": "2", "c": "3"]
        guard case .array(let flat)? = c.call("HRANDFIELD", "h", "2", "WITHVALUES") else { return XCTFail() }
        XCTAssertEqual(flat.count, 4)
        for (f, v) in pairs(flat) { XCTAssertEqual(expected[f], v) }
        XCTAssertEqual(pairs(c.call("HRANDFIELD", "h", "5", "withvalues")!.elements), expected)
        guard case .array(let repeated)? = c.call("HRANDFIELD", "h", "-4", "WITHVALUES") else { return XCTFail() }
        XCTAssertEqual(repeated.count, 8)
        for i in stride(from: 0, to: 8, by: 2) { XCTAssertEqual(expected[repeated[i].string!], repeated[i + 1].string) }
    }

    func testHRandFieldWithValuesRESP3NestsPairs() {
        let c = TestServer().client(proto: .resp3)
        c.call("HSET", "h", "a", "1")
        XCTAssertEqual(c.call("HRANDFIELD", "h", "1", "WITHVALUES"), .array([bulks("a", "1")]))
        XCTAssertEqual(c.call("HRANDFIELD", "h", "5", "WITHVALUES"), .array([bulks("a", "1")]))
        XCTAssertEqual(c.call("HRANDFIELD", "h", "-2", "WITHVALUES"), .array([bulks("a", "1"), bulks("a", "1")]))
        XCTAssertEqual(c.call("HRANDFIELD", "h", "-2"), bulks("a", "a"), "without values it stays flat")
        XCTAssertEqual(c.call("HRANDFIELD", "nokey"), .null)
    }

    func testHRandFieldErrors() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1")
        XCTAssertEqual(c.call("HRANDFIELD", "h", "x"), notInteger)
        XCTAssertEqual(c.call("HRANDFIELD", "h", "1.5"), notInteger)
        XCTAssertEqual(c.call("HRANDFIELD", "h", "x", "WITHVALUES"), notInteger)
        XCTAssertEqual(c.call("HRANDFIELD", "h", "1", "WITHVALUE"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("HRANDFIELD", "h", "1", "WITHVALUES", "x"), .error("ERR syntax error"))
        let range = Reply.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        XCTAssertEqual(c.call("HRANDFIELD", "h", "-9223372036854775808"), range)
        XCTAssertEqual(c.call("HRANDFIELD", "nokey", "-9223372036854775808"), range)
        XCTAssertEqual(c.call("HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"), range)
        XCTAssertEqual(c.call("HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"), .error("ERR value is out of range"))
        XCTAssertEqual(c.call("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"), .error("ERR value is out of range"))
        XCTAssertEqual(c.call("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"), .error("ERR value is out of range"))
        XCTAssertEqual(c.call("HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"), bulks("a", "1"))
    }

    // MARK: HSCAN

    func testHScanSmallHashComesWhole() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1", "b", "2", "c", "3")
        // A listpack-encoded hash is returned whole whatever the cursor and COUNT, as in Redis.
        for cursor in ["0", "17", "18446744073709551615"] {
            guard case .array(let reply)? = c.call("HSCAN", "h", cursor, "COUNT", "1"), reply.count == 2 else {
                return XCTFail("not a two-element array")
            }
            XCTAssertEqual(reply[0], .bulk("0"))
            XCTAssertEqual(pairs(reply[1].elements), ["a": "1", "b": "2", "c": "3"])
        }
        XCTAssertEqual(c.call("HSCAN", "h", "0", "MATCH", "b*"), .array([.bulk("0"), bulks("b", "2")]))
        XCTAssertEqual(c.call("HSCAN", "h", "0", "MATCH", "z*"), .array([.bulk("0"), .array([])]))
        XCTAssertEqual(c.call("HSCAN", "nokey", "0"), .array([.bulk("0"), .array([])]))
    }

    /// Redis's guarantee: an element present for the whole iteration is returned at least once,
    /// and the cursor comes back to 0.
    func testHScanFullIterationOver1000Fields() {
        let c = TestServer().client()
        var expected: [String: String] = [:]
        var args = ["HSET", "h"]
        for i in 0..<1000 {
            expected["field:\(i)"] = "value:\(i)"
            args += ["field:\(i)", "value:\(i)"]
        }
        XCTAssertEqual(c.call(args), .integer(1000))
        for count in [nil, "1", "7", "100", "5000"] {
            var seen: [String: String] = [:]
            var cursor = "0"
            var calls = 0
            repeat {
                var call = ["HSCAN", "h", cursor]
                if let count { call += ["COUNT", count] }
                guard case .array(let reply)? = c.call(call), reply.count == 2,
                      case .bulk(let next) = reply[0], case .array(let flat) = reply[1] else {
                    return XCTFail("bad HSCAN reply")
                }
                XCTAssertEqual(flat.count % 2, 0)
                for i in stride(from: 0, to: flat.count, by: 2) { seen[flat[i].string!] = flat[i + 1].string! }
                cursor = next
                calls += 1
            } while cursor != "0" && calls < 5000
            XCTAssertEqual(cursor, "0", "iteration ends")
            XCTAssertEqual(seen, expected, "COUNT \(count ?? "default")")
            if count == "1" { XCTAssertGreaterThan(calls, 100, "a large hash is paged") }
        }
    }

    func testHScanMatchOnLargeHash() {
        let c = TestServer().client()
        var args = ["HSET", "h"]
        for i in 0..<300 { args += ["k\(i)", "\(i)"] }
        c.call(args)
        var seen: Set<String> = []
        var cursor = "0"
        repeat {
            let reply = c.call("HSCAN", "h", cursor, "MATCH", "k1?", "COUNT", "20")!.elements
            cursor = reply[0].string!
            let flat = reply[1].elements
            for i in stride(from: 0, to: flat.count, by: 2) {
                XCTAssertEqual(flat[i].string, "k" + flat[i + 1].string!, "values travel with their fields")
                seen.insert(flat[i].string!)
            }
        } while cursor != "0"
        XCTAssertEqual(seen, Set((10..<20).map { "k\($0)" }))
    }

    func testHScanErrors() {
        let c = TestServer().client()
        c.call("HSET", "h", "a", "1")
        c.call("SET", "str", "x")
        XCTAssertEqual(c.call("HSCAN", "h", "x"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("HSCAN", "h", "18446744073709551616"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("HSCAN", "nokey", "x"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("HSCAN", "h", "0", "COUNT", "0"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("HSCAN", "h", "0", "COUNT", "x"), notInteger)
        XCTAssertEqual(c.call("HSCAN", "h", "0", "COUNT"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("HSCAN", "h", "0", "MATCH"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("HSCAN", "h", "0", "TYPE", "string"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("HSCAN", "h", "0", "NOVALUES"), .error("ERR syntax error"), "NOVALUES is Redis 7.4")
        XCTAssertEqual(c.call("HSCAN", "str", "0"), wrongType)
        // Redis replies for a missing key before it parses the options.
        XCTAssertEqual(c.call("HSCAN", "nokey", "0", "COUNT", "0"), .array([.bulk("0"), .array([])]))
    }

    // MARK: types, expiry, change tracking

    func testEveryHashCommandRejectsOtherTypes() {
        let c = TestServer().client()
        c.call("SET", "str", "x")
        let calls: [[String]] = [
            ["HSET", "str", "a", "1"], ["HMSET", "str", "a", "1"], ["HSETNX", "str", "a", "1"],
            ["HGET", "str", "a"], ["HMGET", "str", "a"], ["HGETALL", "str"], ["HKEYS", "str"], ["HVALS", "str"],
            ["HDEL", "str", "a"], ["HLEN", "str"], ["HSTRLEN", "str", "a"], ["HEXISTS", "str", "a"],
            ["HINCRBY", "str", "a", "1"], ["HINCRBYFLOAT", "str", "a", "1"], ["HRANDFIELD", "str"],
            ["HRANDFIELD", "str", "0"], ["HRANDFIELD", "str", "-3", "WITHVALUES"], ["HSCAN", "str", "0"],
        ]
        for call in calls { XCTAssertEqual(c.call(call), wrongType, call.joined(separator: " ")) }
        XCTAssertEqual(c.call("GET", "str"), .bulk("x"), "the string is untouched")
        // Argument errors come before the type check where Redis checks them first.
        XCTAssertEqual(c.call("HINCRBY", "str", "a", "x"), notInteger)
        XCTAssertEqual(c.call("HINCRBYFLOAT", "str", "a", "x"), .error("ERR value is not a valid float"))
        XCTAssertEqual(c.call("HRANDFIELD", "str", "x"), notInteger)
        XCTAssertEqual(c.call("HSET", "str", "a"), .error("ERR wrong number of arguments for 'hset' command"))
        XCTAssertEqual(c.call("HSCAN", "str", "x"), .error("ERR invalid cursor"))
    }

    func testExpiredHashIsMissing() {
        let s = TestServer()
        let c = s.client()
        c.call("HSET", "h", "a", "1")
        let key = ByteBuffer(string: "h")
        _ = s.runtime.keyspace.shard(for: key).dbs[0].setExpire(key, currentTimeMillis() - 1)
        XCTAssertEqual(c.call("HGET", "h", "a"), .null)
        XCTAssertEqual(c.call("HSET", "h", "b", "2"), .integer(1))
        XCTAssertEqual(c.call("HLEN", "h"), .integer(1), "a fresh hash, not the expired one")
    }

    func testWritesKeepTheTTL() {
        let s = TestServer()
        let c = s.client()
        c.call("HSET", "h", "a", "1")
        let key = ByteBuffer(string: "h")
        let at = currentTimeMillis() + 100_000
        _ = s.runtime.keyspace.shard(for: key).dbs[0].setExpire(key, at)
        c.call("HSET", "h", "b", "2")
        c.call("HINCRBY", "h", "n", "1")
        c.call("HDEL", "h", "a")
        XCTAssertEqual(s.runtime.keyspace.shard(for: key).dbs[0].entry(key)?.expireAt, at)
    }

    func testChangeCountingFollowsRedis() {
        let s = TestServer()
        let c = s.client()
        c.call("HSET", "h", "a", "1", "b", "2")
        XCTAssertEqual(dirty(s), 2, "one change per pair")
        c.call("HSET", "h", "a", "1")
        XCTAssertEqual(dirty(s), 3, "rewriting the same value still counts")
        c.call("HINCRBY", "h", "n", "1")
        c.call("HINCRBYFLOAT", "h", "n", "1.5")
        XCTAssertEqual(dirty(s), 5)
        c.call("HINCRBY", "h", "a", "x")
        c.call("HGET", "h", "a")
        c.call("HGETALL", "h")
        c.call("HRANDFIELD", "h", "-3")
        XCTAssertEqual(dirty(s), 5, "errors and reads change nothing")
        c.call("HDEL", "h", "a", "b", "zz")
        XCTAssertEqual(dirty(s), 7)
    }

    func testWriteInvalidatesWatch() {
        let s = TestServer()
        let c = s.client()
        c.call("HSET", "h", "a", "1")
        let key = ByteBuffer(string: "h")
        let token = WatchToken()
        s.runtime.keyspace.shard(for: key).addWatcher(token, db: 0, key: key)
        c.call("HSETNX", "h", "a", "2")
        c.call("HDEL", "h", "zz")
        XCTAssertFalse(token.dirty.load(ordering: .relaxed), "no-op writes do not touch watchers")
        c.call("HSETNX", "h", "b", "2")
        XCTAssertTrue(token.dirty.load(ordering: .relaxed))
    }
}
