import XCTest
@testable import Commands

/// Generic key commands against Redis 7.0 (checked with redis-server 7.0.15).
final class KeyCommandsTests: XCTestCase {
    let notInteger = Reply.error("ERR value is not an integer or out of range")
    let syntax = Reply.error("ERR syntax error")

    func testDelExistsTouchType() {
        let c = TestServer().client()
        c.call("SET", "a", "1")
        c.call("SET", "b", "2")
        c.call("RPUSH", "l", "x")
        // Repeated keys are counted each time by EXISTS and TOUCH, once by DEL.
        XCTAssertEqual(c.call("EXISTS", "a", "a", "missing"), .integer(2))
        XCTAssertEqual(c.call("TOUCH", "b", "b", "missing"), .integer(2))
        XCTAssertEqual(c.call("DEL", "a", "a", "missing"), .integer(1))
        XCTAssertEqual(c.call("UNLINK", "b", "l"), .integer(2))
        XCTAssertEqual(c.call("EXISTS", "a", "b", "l"), .integer(0))
        XCTAssertEqual(c.call("DEL"), .error("ERR wrong number of arguments for 'del' command"))
        c.call("SET", "s", "v")
        c.call("RPUSH", "l", "x")
        XCTAssertEqual(c.call("TYPE", "s"), .simple("string"))
        XCTAssertEqual(c.call("TYPE", "l"), .simple("list"))
        XCTAssertEqual(c.call("TYPE", "missing"), .simple("none"))
    }

    func testKeysPatterns() {
        let c = TestServer().client()
        for k in ["hello", "hallo", "hxllo", "hllo", "heeeello", "other"] { c.call("SET", k, "1") }
        func keys(_ pattern: String) -> [String] {
            (c.call("KEYS", pattern)?.elements ?? []).compactMap(\.string).sorted()
        }
        XCTAssertEqual(keys("*").count, 6)
        XCTAssertEqual(keys("h?llo"), ["hallo", "hello", "hxllo"])
        XCTAssertEqual(keys("h*llo"), ["hallo", "heeeello", "hello", "hllo", "hxllo"])
        XCTAssertEqual(keys("h[ae]llo"), ["hallo", "hello"])
        XCTAssertEqual(keys("h[^e]llo"), ["hallo", "hxllo"])
        XCTAssertEqual(keys("h[a-b]llo"), ["hallo"])
        XCTAssertEqual(keys("nomatch*"), [])
        // Expired keys are not listed.
        c.call("PEXPIRE", "other", "1")
        usleep(5000)
        XCTAssertEqual(keys("o*"), [])
    }

    /// Runs a whole SCAN iteration; fails if it does not end within a sane number of calls.
    private func scanAll(_ c: TestClient, _ options: [String]) -> (keys: [String], calls: Int) {
        var cursor = "0"
        var keys: [String] = []
        var calls = 0
        repeat {
            guard let reply = c.call(["SCAN", cursor] + options), reply.elements.count == 2,
                  let next = reply.elements[0].string else {
                XCTFail("bad SCAN reply")
                return (keys, calls)
            }
            cursor = next
            keys += reply.elements[1].elements.compactMap(\.string)
            calls += 1
        } while cursor != "0" && calls < 100_000
        XCTAssertEqual(cursor, "0")
        return (keys, calls)
    }

    func testScanFullIteration() {
        let c = TestServer().client()
        var strings = Set<String>()
        for i in 0..<2000 {
            let k = "key:\(i)"
            strings.insert(k)
            c.call("SET", k, "v")
        }
        var lists = Set<String>()
        for i in 0..<100 {
            lists.insert("list:\(i)")
            c.call("RPUSH", "list:\(i)", "x")
        }
        XCTAssertEqual(c.call("DBSIZE"), .integer(2100))

        let all = scanAll(c, [])
        XCTAssertEqual(Set(all.keys), strings.union(lists))
        XCTAssertGreaterThan(all.calls, 1, "COUNT 10 should need several calls for 2100 keys")

        let small = scanAll(c, ["COUNT", "7"])
        XCTAssertEqual(Set(small.keys), strings.union(lists))
        let big = scanAll(c, ["COUNT", "100000"])
        XCTAssertEqual(Set(big.keys), strings.union(lists))
        XCTAssertEqual(big.calls, 1)

        let matched = scanAll(c, ["MATCH", "key:1*", "COUNT", "50"])
        XCTAssertEqual(Set(matched.keys), strings.filter { $0.hasPrefix("key:1") })
        XCTAssertEqual(Set(matched.keys).count, 1111)

        let typed = scanAll(c, ["TYPE", "list"])
        XCTAssertEqual(Set(typed.keys), lists)
        let typedUpper = scanAll(c, ["type", "LIST", "match", "list:9*"])
        XCTAssertEqual(Set(typedUpper.keys), lists.filter { $0.hasPrefix("list:9") })
        XCTAssertEqual(scanAll(c, ["TYPE", "string", "COUNT", "1000"]).keys.count, 2000)
        XCTAssertEqual(scanAll(c, ["TYPE", "foo"]).keys, [])
    }

    func testScanErrors() {
        let c = TestServer().client()
        c.call("SET", "a", "1")
        XCTAssertEqual(c.call("SCAN", "x"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("SCAN", "18446744073709551616"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("SCAN", "0", "COUNT", "0"), syntax)
        XCTAssertEqual(c.call("SCAN", "0", "COUNT", "x"), notInteger)
        XCTAssertEqual(c.call("SCAN", "0", "MATCH"), syntax)
        XCTAssertEqual(c.call("SCAN", "0", "FOO", "bar"), syntax)
        XCTAssertEqual(c.call("SCAN", "18446744073709551615"), .array([.bulk("0"), .array([])]))
        XCTAssertEqual(c.call("SCAN", "0"), .array([.bulk("0"), bulks("a")]))
    }

    func testRandomkey() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("RANDOMKEY"), .null)
        c.call("SET", "only", "1")
        XCTAssertEqual(c.call("RANDOMKEY"), .bulk("only"))
        for i in 0..<20 { c.call("SET", "k\(i)", "1") }
        for _ in 0..<20 {
            guard case .bulk(let k)? = c.call("RANDOMKEY") else { return XCTFail("RANDOMKEY returned no key") }
            XCTAssertEqual(c.call("EXISTS", k), .integer(1))
        }
        // A database whose only key has expired is empty.
        c.call("FLUSHDB")
        c.call("SET", "gone", "1", "PX", "1")
        usleep(5000)
        XCTAssertEqual(c.call("RANDOMKEY"), .null)
    }

    func testRenameKeepsTTL() {
        let c = TestServer().client()
        let noKey = Reply.error("ERR no such key")
        XCTAssertEqual(c.call("RENAME", "missing", "x"), noKey)
        XCTAssertEqual(c.call("RENAMENX", "missing", "x"), noKey)
        XCTAssertEqual(c.call("RENAME", "missing", "missing"), noKey)
        c.call("SET", "a", "1")
        XCTAssertEqual(c.call("RENAME", "a", "a"), .simple("OK"))
        XCTAssertEqual(c.call("RENAMENX", "a", "a"), .integer(0))
        XCTAssertEqual(c.call("GET", "a"), .bulk("1"))
        c.call("PEXPIRE", "a", "100000")
        XCTAssertEqual(c.call("RENAME", "a", "b"), .simple("OK"))
        XCTAssertEqual(c.call("EXISTS", "a"), .integer(0))
        XCTAssertEqual(c.call("GET", "b"), .bulk("1"))
        XCTAssertEqual(c.call("TTL", "b"), .integer(100))
        c.call("SET", "c", "3")
        XCTAssertEqual(c.call("RENAMENX", "b", "c"), .integer(0))
        XCTAssertEqual(c.call("GET", "c"), .bulk("3"))
        XCTAssertEqual(c.call("RENAMENX", "b", "d"), .integer(1))
        XCTAssertEqual(c.call("TTL", "d"), .integer(100))
        // Overwriting a destination that had a TTL drops it for the source's (none).
        c.call("SET", "e", "5", "EX", "100")
        XCTAssertEqual(c.call("RENAME", "c", "e"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "e"), .bulk("3"))
        XCTAssertEqual(c.call("TTL", "e"), .integer(-1))
        // Any type moves, and overwrites any type.
        c.call("RPUSH", "l", "x", "y")
        XCTAssertEqual(c.call("RENAME", "l", "e"), .simple("OK"))
        XCTAssertEqual(c.call("LRANGE", "e", "0", "-1"), bulks("x", "y"))
    }

    func testMoveKeepsTTL() {
        let c = TestServer().client()
        c.call("SET", "e", "5", "EX", "100")
        XCTAssertEqual(c.call("MOVE", "e", "1"), .integer(1))
        XCTAssertEqual(c.call("EXISTS", "e"), .integer(0))
        XCTAssertEqual(c.call("SELECT", "1"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "e"), .bulk("5"))
        XCTAssertEqual(c.call("TTL", "e"), .integer(100))
        c.call("SET", "f", "local")
        c.call("SELECT", "0")
        c.call("SET", "f", "other")
        // Not moved when the destination has the key.
        XCTAssertEqual(c.call("MOVE", "f", "1"), .integer(0))
        XCTAssertEqual(c.call("GET", "f"), .bulk("other"))
        XCTAssertEqual(c.call("MOVE", "missing", "1"), .integer(0))
        XCTAssertEqual(c.call("MOVE", "f", "0"), .error("ERR source and destination objects are the same"))
        XCTAssertEqual(c.call("MOVE", "f", "16"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("MOVE", "f", "-1"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("MOVE", "f", "x"), notInteger)
        c.call("SELECT", "1")
        XCTAssertEqual(c.call("GET", "f"), .bulk("local"))
    }

    func testCopy() {
        let c = TestServer().client()
        c.call("SET", "h", "1", "EX", "100")
        XCTAssertEqual(c.call("COPY", "h", "i"), .integer(1))
        XCTAssertEqual(c.call("GET", "i"), .bulk("1"))
        XCTAssertEqual(c.call("TTL", "i"), .integer(100))
        XCTAssertEqual(c.call("COPY", "h", "i"), .integer(0))
        c.call("SET", "h", "2", "KEEPTTL")
        XCTAssertEqual(c.call("COPY", "h", "i", "REPLACE"), .integer(1))
        XCTAssertEqual(c.call("GET", "i"), .bulk("2"))
        XCTAssertEqual(c.call("COPY", "missing", "z"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
        XCTAssertEqual(c.call("COPY", "h", "h"), .error("ERR source and destination objects are the same"))
        XCTAssertEqual(c.call("COPY", "h", "i", "DB", "16"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("COPY", "h", "i", "DB", "-1"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("COPY", "h", "i", "DB", "x"), notInteger)
        XCTAssertEqual(c.call("COPY", "h", "i", "FOO"), syntax)
        XCTAssertEqual(c.call("COPY", "h", "i", "DB"), syntax)
        // Another database, with the TTL; the same name is fine there.
        XCTAssertEqual(c.call("COPY", "h", "h", "DB", "2"), .integer(1))
        XCTAssertEqual(c.call("COPY", "h", "h", "DB", "2"), .integer(0))
        XCTAssertEqual(c.call("COPY", "h", "h", "DB", "2", "REPLACE"), .integer(1))
        c.call("SELECT", "2")
        XCTAssertEqual(c.call("GET", "h"), .bulk("2"))
        XCTAssertEqual(c.call("TTL", "h"), .integer(100))
        c.call("SELECT", "0")
        // The copy of a collection is independent of the original.
        c.call("RPUSH", "l", "a", "b")
        XCTAssertEqual(c.call("COPY", "l", "l2"), .integer(1))
        c.call("RPUSH", "l2", "c")
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a", "b"))
        XCTAssertEqual(c.call("LRANGE", "l2", "0", "-1"), bulks("a", "b", "c"))
    }

    func testExpireOptions() {
        let c = TestServer().client()
        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("EXPIRE", "k", "100", "NX"), .integer(1))
        XCTAssertEqual(c.call("EXPIRE", "k", "200", "NX"), .integer(0))
        XCTAssertEqual(c.call("EXPIRE", "k", "50", "XX"), .integer(1))
        XCTAssertEqual(c.call("TTL", "k"), .integer(50))
        XCTAssertEqual(c.call("EXPIRE", "k", "40", "GT"), .integer(0))
        XCTAssertEqual(c.call("EXPIRE", "k", "60", "GT"), .integer(1))
        XCTAssertEqual(c.call("TTL", "k"), .integer(60))
        XCTAssertEqual(c.call("EXPIRE", "k", "70", "LT"), .integer(0))
        XCTAssertEqual(c.call("EXPIRE", "k", "30", "lt"), .integer(1))
        XCTAssertEqual(c.call("TTL", "k"), .integer(30))
        XCTAssertEqual(c.call("PERSIST", "k"), .integer(1))
        // Without a TTL: XX and GT refuse (no TTL is infinite), LT accepts.
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "XX"), .integer(0))
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "GT"), .integer(0))
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "LT"), .integer(1))
        XCTAssertEqual(c.call("TTL", "k"), .integer(10))
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "XX", "XX"), .integer(1))
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "NX", "XX"),
                       .error("ERR NX and XX, GT or LT options at the same time are not compatible"))
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "NX", "GT"),
                       .error("ERR NX and XX, GT or LT options at the same time are not compatible"))
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "GT", "LT"),
                       .error("ERR GT and LT options at the same time are not compatible"))
        XCTAssertEqual(c.call("EXPIRE", "k", "10", "FOO"), .error("ERR Unsupported option FOO"))
        XCTAssertEqual(c.call("EXPIRE", "k", "abc"), notInteger)
        XCTAssertEqual(c.call("EXPIRE", "k", "abc", "FOO"), .error("ERR Unsupported option FOO"))
        XCTAssertEqual(c.call("EXPIRE", "missing", "10"), .integer(0))
        XCTAssertEqual(c.call("PEXPIRE", "k", "10", "NX"), .integer(0))
    }

    func testExpireRangeAndPast() {
        let c = TestServer().client()
        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("EXPIRE", "k", "9223372036854775807"), .error("ERR invalid expire time in 'expire' command"))
        XCTAssertEqual(c.call("PEXPIRE", "k", "9223372036854775807"), .error("ERR invalid expire time in 'pexpire' command"))
        XCTAssertEqual(c.call("EXPIREAT", "k", "9223372036854775807"), .error("ERR invalid expire time in 'expireat' command"))
        XCTAssertEqual(c.call("PEXPIREAT", "k", "9223372036854775807"), .integer(1))
        XCTAssertEqual(c.call("PEXPIRETIME", "k"), .integer(9223372036854775807))
        // Zero, negative and past times delete the key and still answer 1.
        XCTAssertEqual(c.call("EXPIRE", "k", "-1"), .integer(1))
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("EXPIRE", "k", "0"), .integer(1))
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("PEXPIREAT", "k", "1"), .integer(1))
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("EXPIREAT", "k", "99999999999"), .integer(1))
        XCTAssertEqual(c.call("EXPIRETIME", "k"), .integer(99999999999))
        XCTAssertEqual(c.call("PEXPIRETIME", "k"), .integer(99999999999000))
    }

    func testTTLForms() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("TTL", "missing"), .integer(-2))
        XCTAssertEqual(c.call("PTTL", "missing"), .integer(-2))
        XCTAssertEqual(c.call("EXPIRETIME", "missing"), .integer(-2))
        XCTAssertEqual(c.call("PEXPIRETIME", "missing"), .integer(-2))
        c.call("SET", "p", "v")
        XCTAssertEqual(c.call("TTL", "p"), .integer(-1))
        XCTAssertEqual(c.call("PTTL", "p"), .integer(-1))
        XCTAssertEqual(c.call("EXPIRETIME", "p"), .integer(-1))
        XCTAssertEqual(c.call("PEXPIRETIME", "p"), .integer(-1))
        c.call("PEXPIRE", "p", "100000")
        guard case .integer(let pttl)? = c.call("PTTL", "p") else { return XCTFail("PTTL") }
        XCTAssertTrue((99_000...100_000).contains(pttl), "PTTL \(pttl)")
    }

    /// TTL rounds the remaining milliseconds to the nearest second, as Redis's (ttl+500)/1000.
    func testTTLRounding() {
        let c = TestServer().client()
        c.call("SET", "k", "v")
        c.call("PEXPIRE", "k", "1400")
        XCTAssertEqual(c.call("TTL", "k"), .integer(1))
        c.call("PEXPIRE", "k", "2600")
        XCTAssertEqual(c.call("TTL", "k"), .integer(3))
        c.call("PEXPIRE", "k", "400")
        XCTAssertEqual(c.call("TTL", "k"), .integer(0))
        c.call("PEXPIRE", "k", "700")
        XCTAssertEqual(c.call("TTL", "k"), .integer(1))
    }

    func testLazyExpiry() {
        let c = TestServer().client()
        c.call("SET", "k", "v")
        c.call("RPUSH", "l", "a")
        XCTAssertEqual(c.call("PEXPIRE", "k", "1"), .integer(1))
        XCTAssertEqual(c.call("PEXPIRE", "l", "1"), .integer(1))
        usleep(5000)
        XCTAssertEqual(c.call("GET", "k"), .null)
        XCTAssertEqual(c.call("TTL", "k"), .integer(-2))
        XCTAssertEqual(c.call("EXISTS", "k", "l"), .integer(0))
        XCTAssertEqual(c.call("TYPE", "l"), .simple("none"))
        XCTAssertEqual(c.call("DBSIZE"), .integer(0))
        // An expired key does not block NX writes, and writes start from nothing.
        c.call("SET", "n", "5", "PX", "1")
        c.call("SET", "m", "old", "PX", "1")
        c.call("RPUSH", "q", "old")
        c.call("PEXPIRE", "q", "1")
        usleep(5000)
        XCTAssertEqual(c.call("SET", "m", "new", "NX"), .simple("OK"))
        XCTAssertEqual(c.call("INCR", "n"), .integer(1))
        XCTAssertEqual(c.call("RPUSH", "q", "new"), .integer(1))
        XCTAssertEqual(c.call("RENAME", "gone", "x"), .error("ERR no such key"))
        c.call("SET", "gone", "1", "PX", "1")
        usleep(5000)
        XCTAssertEqual(c.call("RENAME", "gone", "x"), .error("ERR no such key"))
        XCTAssertEqual(c.call("PERSIST", "gone"), .integer(0))
    }

    func testObject() {
        let c = TestServer().client()
        c.call("SET", "i", "-12")
        c.call("SET", "z", "012")
        c.call("SET", "s", "abc")
        c.call("SET", "r", String(repeating: "x", count: 50))
        XCTAssertEqual(c.call("OBJECT", "ENCODING", "i"), .bulk("int"))
        XCTAssertEqual(c.call("OBJECT", "encoding", "z"), .bulk("embstr"))
        XCTAssertEqual(c.call("OBJECT", "ENCODING", "s"), .bulk("embstr"))
        XCTAssertEqual(c.call("OBJECT", "ENCODING", "r"), .bulk("raw"))
        XCTAssertEqual(c.call("OBJECT", "ENCODING", "missing"), .null)
        XCTAssertEqual(c.call("OBJECT", "REFCOUNT", "s"), .integer(1))
        XCTAssertEqual(c.call("OBJECT", "REFCOUNT", "missing"), .null)
        XCTAssertEqual(c.call("OBJECT", "IDLETIME", "s"), .integer(0))
        XCTAssertEqual(c.call("OBJECT", "IDLETIME", "missing"), .null)
        XCTAssertEqual(c.call("OBJECT", "FREQ", "s"), .error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."))
        XCTAssertEqual(c.call("OBJECT", "FREQ", "missing"), .null)
        XCTAssertEqual(c.call("OBJECT", "foo"), .error("ERR unknown subcommand 'foo'. Try OBJECT HELP."))
        XCTAssertEqual(c.call("OBJECT", "encoding"), .error("ERR wrong number of arguments for 'object|encoding' command"))
        XCTAssertEqual(c.call("OBJECT", "help", "x"), .error("ERR wrong number of arguments for 'object|help' command"))
        XCTAssertEqual(c.call("OBJECT", "HELP")?.elements.first, .simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"))
    }
}
