import NIOCore
import RESP
import XCTest
@testable import Commands
@testable import Keyspace

/// Expected replies were taken from redis-server 7.0.15.
final class SortedSetCommandsTests: XCTestCase {
    private let wrongType = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    private let syntax = Reply.error("ERR syntax error")
    private let notInteger = Reply.error("ERR value is not an integer or out of range")
    private let notFloat = Reply.error("ERR value is not a valid float")
    private let badScoreRange = Reply.error("ERR min or max is not a float")
    private let badLexRange = Reply.error("ERR min or max not valid string range item")

    private func d(_ text: String) -> Reply { .double(text) }

    /// Writes straight into the keyspace: no change notification, no blocked client served.
    private func put(_ server: TestServer, _ key: String, _ value: Value) {
        let k = ByteBuffer(string: key)
        server.runtime.keyspace.shards[KeySlot.shard(k)].dbs[0].set(k, value)
    }

    private func entry(_ server: TestServer, _ key: String) -> Entry? {
        let k = ByteBuffer(string: key)
        return server.runtime.keyspace.shards[KeySlot.shard(k)].dbs[0].entry(k)
    }

    private func plainSet(_ members: String...) -> Value { .set(Set(members.map { ByteBuffer(string: $0) })) }
    private func pair(_ member: String, _ score: String) -> Reply { .array([.bulk(member), .double(score)]) }

    // MARK: ZADD / ZINCRBY

    func testZaddBasicsAndFlags() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("ZADD", "z", "1", "a", "2", "b", "3", "c"), .integer(3))
        XCTAssertEqual(c.call("ZADD", "z", "1", "a", "5", "d"), .integer(1))
        XCTAssertEqual(c.call("ZADD", "z", "CH", "9", "a", "5", "d", "6", "e"), .integer(2))
        XCTAssertEqual(c.call("ZADD", "z", "NX", "0", "a", "7", "f"), .integer(1))
        XCTAssertEqual(c.call("ZSCORE", "z", "a"), .bulk("9"))
        XCTAssertEqual(c.call("ZADD", "z", "XX", "CH", "1", "a", "1", "nope"), .integer(1))
        XCTAssertEqual(c.call("ZSCORE", "z", "nope"), .null)
        XCTAssertEqual(c.call("ZADD", "z", "GT", "CH", "0", "b", "4", "c"), .integer(1))
        XCTAssertEqual(c.call("ZSCORE", "z", "b"), .bulk("2"))
        XCTAssertEqual(c.call("ZSCORE", "z", "c"), .bulk("4"))
        XCTAssertEqual(c.call("ZADD", "z", "LT", "CH", "10", "b", "-1", "c", "0.5", "new"), .integer(2))
        XCTAssertEqual(c.call("ZSCORE", "z", "c"), .bulk("-1"))
        XCTAssertEqual(c.call("ZADD", "z", "XX", "GT", "100", "a"), .integer(0))
        XCTAssertEqual(c.call("ZSCORE", "z", "a"), .bulk("100"))
        XCTAssertEqual(c.call("ZADD", "missing", "XX", "1", "a"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "missing"), .integer(0))
        XCTAssertEqual(c.call("ZADD", "z", "inf", "i", "-inf", "j", "1e3", "k", "0x10", "h"), .integer(4))
        XCTAssertEqual(c.call("ZMSCORE", "z", "i", "j", "k", "h"), bulks("inf", "-inf", "1000", "16"))
    }

    func testZaddErrors() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("ZADD", "z", "1"), .error("ERR wrong number of arguments for 'zadd' command"))
        XCTAssertEqual(c.call("ZADD", "z", "1", "a", "2"), syntax)
        XCTAssertEqual(c.call("ZADD", "z", "NX", "CH"), syntax)
        XCTAssertEqual(c.call("ZADD", "z", "NX", "XX", "1", "a"), .error("ERR XX and NX options at the same time are not compatible"))
        XCTAssertEqual(c.call("ZADD", "z", "NX", "GT", "1", "a"), .error("ERR GT, LT, and/or NX options at the same time are not compatible"))
        XCTAssertEqual(c.call("ZADD", "z", "GT", "LT", "1", "a"), .error("ERR GT, LT, and/or NX options at the same time are not compatible"))
        XCTAssertEqual(c.call("ZADD", "z", "INCR", "1", "a", "2", "b"), .error("ERR INCR option supports a single increment-element pair"))
        for bad in ["x", "nan", "1e400", " 1", "1 ", ""] {
            XCTAssertEqual(c.call("ZADD", "z", bad, "a"), notFloat, bad)
        }
        // Every score is checked before anything is added.
        XCTAssertEqual(c.call("ZADD", "z", "1", "a", "x", "b"), notFloat)
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
        XCTAssertEqual(c.call("SET", "s", "v"), .simple("OK"))
        XCTAssertEqual(c.call("ZADD", "s", "x", "a"), notFloat)
        XCTAssertEqual(c.call("ZADD", "s", "1", "a"), wrongType)
        // Denormals are valid scores (strtod underflow that is not zero).
        XCTAssertEqual(c.call("ZADD", "z", "1.5e-320", "den"), .integer(1))
        XCTAssertEqual(c.call("ZSCORE", "z", "den"), .bulk("1.4999833007740245e-320"))
    }

    func testZaddIncrAndZincrby() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("ZADD", "z", "INCR", "1.5", "a"), .bulk("1.5"))
        XCTAssertEqual(c.call("ZADD", "z", "INCR", "1", "a"), .bulk("2.5"))
        XCTAssertEqual(c.call("ZINCRBY", "z", "-0.5", "a"), .bulk("2"))
        XCTAssertEqual(c.call("ZINCRBY", "z", "3", "b"), .bulk("3"))
        XCTAssertEqual(c.call("ZADD", "z", "INCR", "NX", "1", "a"), .null)
        XCTAssertEqual(c.call("ZADD", "z", "XX", "INCR", "1", "zz"), .null)
        XCTAssertEqual(c.call("ZADD", "z", "GT", "INCR", "-5", "a"), .null)
        XCTAssertEqual(c.call("ZADD", "z", "LT", "INCR", "-5", "a"), .bulk("-3"))
        XCTAssertEqual(c.call("ZADD", "z", "INCR", "inf", "a"), .bulk("inf"))
        XCTAssertEqual(c.call("ZADD", "z", "INCR", "-inf", "a"), .error("ERR resulting score is not a number (NaN)"))
        XCTAssertEqual(c.call("ZINCRBY", "z", "-inf", "a"), .error("ERR resulting score is not a number (NaN)"))
        XCTAssertEqual(c.call("ZSCORE", "z", "a"), .bulk("inf"))
        XCTAssertEqual(c.call("ZINCRBY", "z", "x", "a"), notFloat)
        XCTAssertEqual(c.call("ZINCRBY", "z", "NX", "a"), syntax)
        XCTAssertEqual(c.call("ZINCRBY", "z", "1"), .error("ERR wrong number of arguments for 'zincrby' command"))
        // The reply shows the computed -0; the stored score has no sign, as in Redis.
        XCTAssertEqual(c.call("ZINCRBY", "n", "-0", "m"), .bulk("-0"))
        XCTAssertEqual(c.call("ZSCORE", "n", "m"), .bulk("0"))
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZINCRBY", "s", "1", "a"), wrongType)
    }

    func testZaddIncrResp3ReturnsDouble() {
        let c = TestServer().client(proto: .resp3)
        XCTAssertEqual(c.call("ZADD", "z", "INCR", "1.5", "a"), d("1.5"))
        XCTAssertEqual(c.call("ZINCRBY", "z", "1", "a"), d("2.5"))
        XCTAssertEqual(c.call("ZADD", "z", "XX", "INCR", "1", "zz"), .null)
    }

    // MARK: ZREM / ZCARD / ZSCORE / ZMSCORE / ZRANK

    func testRemoveCardScoreRank() {
        let c = TestServer().client()
        c.call("ZADD", "z", "0", "a", "1", "b", "2", "c", "3", "d")
        XCTAssertEqual(c.call("ZCARD", "z"), .integer(4))
        XCTAssertEqual(c.call("ZRANK", "z", "c"), .integer(2))
        XCTAssertEqual(c.call("ZREVRANK", "z", "c"), .integer(1))
        XCTAssertEqual(c.call("ZRANK", "z", "nope"), .null)
        XCTAssertEqual(c.call("ZRANK", "nokey", "a"), .null)
        XCTAssertEqual(c.call("ZRANK", "z", "c", "WITHSCORE"), .error("ERR wrong number of arguments for 'zrank' command"))
        XCTAssertEqual(c.call("ZSCORE", "z", "nope"), .null)
        XCTAssertEqual(c.call("ZSCORE", "nokey", "a"), .null)
        XCTAssertEqual(c.call("ZMSCORE", "z", "a", "nope", "b"), .array([.bulk("0"), .null, .bulk("1")]))
        XCTAssertEqual(c.call("ZMSCORE", "nokey", "a", "b"), .array([.null, .null]))
        XCTAssertEqual(c.call("ZMSCORE", "z"), .error("ERR wrong number of arguments for 'zmscore' command"))
        XCTAssertEqual(c.call("ZREM", "z", "nope", "a", "c", "a"), .integer(2))
        XCTAssertEqual(c.call("ZREM", "nokey", "a"), .integer(0))
        XCTAssertEqual(c.call("ZCARD", "z"), .integer(2))
        XCTAssertEqual(c.call("ZCARD", "nokey"), .integer(0))
        XCTAssertEqual(c.call("ZREM", "z", "b", "d"), .integer(2))
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
        c.call("SET", "s", "v")
        for command in [["ZCARD", "s"], ["ZREM", "s", "a"], ["ZSCORE", "s", "a"], ["ZMSCORE", "s", "a"],
                        ["ZRANK", "s", "a"], ["ZREVRANK", "s", "a"]] {
            XCTAssertEqual(c.call(command), wrongType, command.joined(separator: " "))
        }
    }

    func testScoresInResp3() {
        let c = TestServer().client(proto: .resp3)
        c.call("ZADD", "z", "1", "a", "0.1", "b")
        XCTAssertEqual(c.call("ZSCORE", "z", "a"), d("1"))
        XCTAssertEqual(c.call("ZSCORE", "z", "b"), d("0.10000000000000001"))
        XCTAssertEqual(c.call("ZMSCORE", "z", "a", "x"), .array([d("1"), .null]))
        XCTAssertEqual(c.call("ZRANK", "z", "x"), .null)
    }

    // MARK: ranges

    func testZrangeByRank() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1"), bulks("a", "b", "c", "d", "e"))
        XCTAssertEqual(c.call("ZRANGE", "z", "-100", "100"), bulks("a", "b", "c", "d", "e"))
        XCTAssertEqual(c.call("ZRANGE", "z", "1", "2", "WITHSCORES"), bulks("b", "2", "c", "3"))
        XCTAssertEqual(c.call("ZRANGE", "z", "3", "1"), bulks())
        XCTAssertEqual(c.call("ZRANGE", "z", "5", "10"), bulks())
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1", "REV"), bulks("e", "d", "c", "b", "a"))
        XCTAssertEqual(c.call("ZREVRANGE", "z", "0", "1", "WITHSCORES"), bulks("e", "5", "d", "4"))
        XCTAssertEqual(c.call("ZREVRANGE", "z", "-2", "-1"), bulks("b", "a"))
        XCTAssertEqual(c.call("ZRANGE", "nokey", "0", "-1"), bulks())
        XCTAssertEqual(c.call("ZRANGE", "z", "a", "b"), notInteger)
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "1", "foo"), syntax)
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "1", "LIMIT", "1", "2"),
                       .error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"))
        XCTAssertEqual(c.call("ZRANGE", "nokey", "0", "1", "LIMIT", "1", "1"),
                       .error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"))
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "1", "LIMIT", "1"), syntax)
        // Redis cannot tell "LIMIT x -1" from no LIMIT at all.
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"), bulks("a", "b", "c", "d", "e"))
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"), syntax)
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1", "REV", "REV"), syntax)
        XCTAssertEqual(c.call("ZREVRANGE", "z", "0", "-1", "REV"), syntax)
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZRANGE", "s", "0", "1"), wrongType)
        XCTAssertEqual(c.call("ZRANGE", "s", "a", "1"), notInteger)
    }

    func testZrangeByScore() {
        let c = TestServer().client()
        c.call("ZADD", "z", "0", "a", "1", "b", "2", "c", "3", "d")
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "(1", "+inf"), bulks("c", "d"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "-inf", "(inf"), bulks("a", "b", "c", "d"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "1", "1"), bulks("b"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "(1", "(1"), bulks())
        // zslParseRange is looser than a score: empty is 0, leading spaces and overflow are fine.
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "", "1"), bulks("a", "b"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "(", "1"), bulks("b"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", " 1", " 2"), bulks("b", "c"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "-1e400", "2"), bulks("a", "b", "c"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0x1", "2"), bulks("b", "c"))
        for (min, max) in [("1 ", "2"), ("-inf", "nan"), ("[1", "2"), ("x", "1")] {
            XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", min, max), badScoreRange)
        }
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "nokey", "a", "1"), badScoreRange)
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "3", "LIMIT", "-1", "2"), bulks())
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "3", "LIMIT", "1", "-1"), bulks("b", "c", "d"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "3", "LIMIT", "1", "0"), bulks())
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "3", "LIMIT", "5", "1"), bulks())
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "3", "LIMIT", "x", "1"), notInteger)
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "3", "WITHSCORES", "LIMIT", "1", "2", "WITHSCORES"),
                       bulks("b", "1", "c", "2"))
        XCTAssertEqual(c.call("ZREVRANGEBYSCORE", "z", "3", "1"), bulks("d", "c", "b"))
        XCTAssertEqual(c.call("ZREVRANGEBYSCORE", "z", "1", "3"), bulks())
        XCTAssertEqual(c.call("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", "1", "2"),
                       bulks("c", "2", "b", "1"))
        XCTAssertEqual(c.call("ZRANGE", "z", "(0", "2", "BYSCORE", "WITHSCORES"), bulks("b", "1", "c", "2"))
        XCTAssertEqual(c.call("ZRANGE", "z", "3", "1", "BYSCORE", "REV", "LIMIT", "1", "5"), bulks("c", "b"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"), syntax)
    }

    func testZrangeByLex() {
        let c = TestServer().client()
        c.call("ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d")
        XCTAssertEqual(c.call("ZRANGEBYLEX", "z", "-", "+"), bulks("a", "b", "c", "d"))
        XCTAssertEqual(c.call("ZRANGEBYLEX", "z", "[b", "(d"), bulks("b", "c"))
        XCTAssertEqual(c.call("ZRANGEBYLEX", "z", "+", "-"), bulks())
        XCTAssertEqual(c.call("ZRANGEBYLEX", "z", "[", "+"), bulks("a", "b", "c", "d"))
        XCTAssertEqual(c.call("ZRANGEBYLEX", "z", "(b", "(b"), bulks())
        XCTAssertEqual(c.call("ZRANGEBYLEX", "z", "[b", "[b"), bulks("b"))
        XCTAssertEqual(c.call("ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "1", "2"), bulks("c", "b"))
        XCTAssertEqual(c.call("ZRANGE", "z", "[e", "[b", "BYLEX", "REV", "LIMIT", "1", "10"), bulks("c", "b"))
        for (min, max) in [("a", "b"), ("", "+"), ("-a", "+"), ("[a", "++")] {
            XCTAssertEqual(c.call("ZRANGEBYLEX", "z", min, max), badLexRange, "\(min) \(max)")
        }
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1", "REV", "BYLEX"), badLexRange)
        XCTAssertEqual(c.call("ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"),
                       .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX"))
        XCTAssertEqual(c.call("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"),
                       .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX"))
        XCTAssertEqual(c.call("ZLEXCOUNT", "z", "-", "+"), .integer(4))
        XCTAssertEqual(c.call("ZLEXCOUNT", "z", "[b", "(d"), .integer(2))
        XCTAssertEqual(c.call("ZLEXCOUNT", "nokey", "-", "+"), .integer(0))
        XCTAssertEqual(c.call("ZLEXCOUNT", "nokey", "a", "+"), badLexRange)
    }

    func testZcount() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
        XCTAssertEqual(c.call("ZCOUNT", "z", "(1", "3"), .integer(2))
        XCTAssertEqual(c.call("ZCOUNT", "z", "-inf", "+inf"), .integer(3))
        XCTAssertEqual(c.call("ZCOUNT", "z", "3", "1"), .integer(0))
        XCTAssertEqual(c.call("ZCOUNT", "nokey", "0", "1"), .integer(0))
        XCTAssertEqual(c.call("ZCOUNT", "nokey", "a", "1"), badScoreRange)
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZCOUNT", "s", "0", "1"), wrongType)
        XCTAssertEqual(c.call("ZLEXCOUNT", "s", "-", "+"), wrongType)
    }

    func testWithScoresResp3IsArrayOfPairs() {
        let c = TestServer().client(proto: .resp3)
        c.call("ZADD", "z", "1", "a", "2", "b", "2.5", "c")
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1", "WITHSCORES"), .array([pair("a", "1"), pair("b", "2"), pair("c", "2.5")]))
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1"), bulks("a", "b", "c"))
        XCTAssertEqual(c.call("ZRANGEBYSCORE", "z", "0", "5", "WITHSCORES", "LIMIT", "1", "1"), .array([pair("b", "2")]))
        XCTAssertEqual(c.call("ZREVRANGE", "z", "0", "0", "WITHSCORES"), .array([pair("c", "2.5")]))
    }

    func testZrangestore() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "z", "5", "1", "BYSCORE", "REV", "LIMIT", "1", "2"), .integer(2))
        XCTAssertEqual(c.call("ZRANGE", "d", "0", "-1", "WITHSCORES"), bulks("c", "3", "d", "4"))
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "-1"), .integer(4))
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "z", "[b", "[d", "BYLEX"), .integer(3))
        XCTAssertEqual(c.call("ZRANGE", "d", "0", "-1"), bulks("b", "c", "d"))
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"), syntax)
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "z", "0", "-1", "BYLEX"), badLexRange)
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "z", "-2", "-1"), .integer(2))
        XCTAssertEqual(c.call("ZRANGE", "d", "0", "-1", "WITHSCORES"), bulks("d", "4", "e", "5"))
        // An empty result deletes the destination, whatever it held.
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "z", "5", "6"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "d"), .integer(0))
        c.call("ZADD", "d", "1", "x")
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "nokey", "0", "-1"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "d"), .integer(0))
        // The destination may hold any type; the source may be the destination.
        c.call("SET", "str", "v")
        XCTAssertEqual(c.call("ZRANGESTORE", "str", "z", "0", "1"), .integer(2))
        XCTAssertEqual(c.call("ZCARD", "str"), .integer(2))
        XCTAssertEqual(c.call("ZRANGESTORE", "z", "z", "0", "0"), .integer(1))
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1"), bulks("a"))
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZRANGESTORE", "d", "s", "0", "-1"), wrongType)
        let c3 = TestServer().client(proto: .resp3)
        c3.call("ZADD", "z", "1", "a")
        XCTAssertEqual(c3.call("ZRANGESTORE", "d", "z", "0", "-1"), .integer(1))
    }

    func testRemoveRanges() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        XCTAssertEqual(c.call("ZREMRANGEBYRANK", "z", "x", "1"), notInteger)
        XCTAssertEqual(c.call("ZREMRANGEBYRANK", "z", "10", "20"), .integer(0))
        XCTAssertEqual(c.call("ZREMRANGEBYRANK", "z", "-2", "-1"), .integer(2))
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1"), bulks("a", "b", "c"))
        XCTAssertEqual(c.call("ZREMRANGEBYSCORE", "z", "(1", "2"), .integer(1))
        XCTAssertEqual(c.call("ZREMRANGEBYSCORE", "z", "x", "2"), badScoreRange)
        XCTAssertEqual(c.call("ZREMRANGEBYLEX", "z", "a", "b"), badLexRange)
        XCTAssertEqual(c.call("ZREMRANGEBYLEX", "z", "-", "(b"), .integer(1))
        XCTAssertEqual(c.call("ZRANGE", "z", "0", "-1"), bulks("c"))
        XCTAssertEqual(c.call("ZREMRANGEBYRANK", "nokey", "0", "1"), .integer(0))
        XCTAssertEqual(c.call("ZREMRANGEBYSCORE", "nokey", "x", "1"), badScoreRange)
        XCTAssertEqual(c.call("ZREMRANGEBYLEX", "z", "-", "+"), .integer(1))
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZREMRANGEBYRANK", "s", "0", "1"), wrongType)
        XCTAssertEqual(c.call("ZREMRANGEBYRANK", "s", "x", "1"), notInteger)
    }

    // MARK: pops

    func testZpopminZpopmax() {
        let c = TestServer().client()
        c.call("ZADD", "z", "0", "a", "1", "b", "2", "c", "3", "d")
        XCTAssertEqual(c.call("ZPOPMIN", "z", "0"), bulks())
        XCTAssertEqual(c.call("ZPOPMIN", "z", "-1"), .error("ERR value is out of range, must be positive"))
        XCTAssertEqual(c.call("ZPOPMIN", "z", "x"), .error("ERR value is out of range, must be positive"))
        XCTAssertEqual(c.call("ZPOPMIN", "z", "1", "2"), syntax)
        XCTAssertEqual(c.call("ZPOPMIN", "nokey"), bulks())
        XCTAssertEqual(c.call("ZPOPMIN", "nokey", "2"), bulks())
        XCTAssertEqual(c.call("ZPOPMAX", "z"), bulks("d", "3"))
        XCTAssertEqual(c.call("ZPOPMIN", "z", "2"), bulks("a", "0", "b", "1"))
        XCTAssertEqual(c.call("ZPOPMAX", "z", "10"), bulks("c", "2"))
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZPOPMIN", "s", "0"), wrongType)

        let c3 = TestServer().client(proto: .resp3)
        c3.call("ZADD", "z", "1", "a", "2", "b", "2.5", "c")
        XCTAssertEqual(c3.call("ZPOPMIN", "z"), .array([.bulk("a"), d("1")]))
        XCTAssertEqual(c3.call("ZPOPMIN", "z", "1"), .array([pair("b", "2")]))
        XCTAssertEqual(c3.call("ZPOPMAX", "z", "5"), .array([pair("c", "2.5")]))
    }

    func testZmpop() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "2.5", "c")
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZMPOP", "0", "z", "MIN"), .error("ERR numkeys should be greater than 0"))
        XCTAssertEqual(c.call("ZMPOP", "x", "z", "MIN"), .error("ERR numkeys should be greater than 0"))
        XCTAssertEqual(c.call("ZMPOP", "1", "z", "foo"), syntax)
        XCTAssertEqual(c.call("ZMPOP", "2", "z", "MIN"), syntax)
        XCTAssertEqual(c.call("ZMPOP", "1", "z", "MIN", "COUNT", "0"), .error("ERR count should be greater than 0"))
        XCTAssertEqual(c.call("ZMPOP", "1", "z", "MIN", "COUNT", "x"), .error("ERR count should be greater than 0"))
        XCTAssertEqual(c.call("ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"), syntax)
        XCTAssertEqual(c.call("ZMPOP", "1", "z", "MIN", "foo"), syntax)
        XCTAssertEqual(c.call("ZMPOP", "2", "nokey", "s", "MIN"), wrongType)
        XCTAssertEqual(c.call("ZMPOP", "2", "s", "z", "MIN"), wrongType)
        XCTAssertEqual(c.call("ZMPOP", "2", "z", "s", "min"), .array([.bulk("z"), .array([bulks("a", "1")])]))
        XCTAssertEqual(c.call("ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "5"),
                       .array([.bulk("z"), .array([bulks("c", "2.5"), bulks("b", "2")])]))
        XCTAssertEqual(c.call("ZMPOP", "1", "z", "MIN"), .nullArray)

        let c3 = TestServer().client(proto: .resp3)
        c3.call("ZADD", "z", "1", "a", "2", "b")
        XCTAssertEqual(c3.call("ZMPOP", "1", "z", "MIN", "COUNT", "2"), .array([.bulk("z"), .array([pair("a", "1"), pair("b", "2")])]))
        XCTAssertEqual(c3.call("ZMPOP", "1", "z", "MIN"), .null)
    }

    func testBlockingPopsServeImmediatelyAndValidate() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("BZPOPMIN", "nokey", "z", "0"), bulks("z", "a", "1"))
        XCTAssertEqual(c.call("BZPOPMAX", "z", "s", "0"), bulks("z", "c", "3"))
        XCTAssertEqual(c.call("BZPOPMIN", "nokey", "s", "0"), wrongType)
        XCTAssertEqual(c.call("BZPOPMIN", "z", "x"), .error("ERR timeout is not a float or out of range"))
        XCTAssertEqual(c.call("BZPOPMIN", "z", "-1"), .error("ERR timeout is negative"))
        XCTAssertEqual(c.call("BZMPOP", "x", "0", "z", "MIN"), .error("ERR numkeys should be greater than 0"))
        XCTAssertEqual(c.call("BZMPOP", "x", "1", "z", "foo"), syntax)
        XCTAssertEqual(c.call("BZMPOP", "0", "1", "z", "MIN", "COUNT", "0"), .error("ERR count should be greater than 0"))
        XCTAssertEqual(c.call("BZMPOP", "x", "1", "z", "MIN"), .error("ERR timeout is not a float or out of range"))
        XCTAssertEqual(c.call("BZMPOP", "-1", "1", "z", "MIN"), .error("ERR timeout is negative"))
        c.call("ZADD", "z", "1", "a", "2.5", "c")
        XCTAssertEqual(c.call("BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "5"),
                       .array([.bulk("z"), .array([bulks("a", "1"), bulks("b", "2"), bulks("c", "2.5")])]))
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
    }

    func testBzpopminBlockedClientIsWokenByZadd() {
        let server = TestServer()
        let waiter = server.client()
        let writer = server.client()
        XCTAssertNil(waiter.call("BZPOPMIN", "z1", "z2", "0"))
        XCTAssertTrue(waiter.blocked)
        XCTAssertEqual(writer.call("ZADD", "z2", "5", "m", "7", "n"), .integer(2))
        XCTAssertFalse(waiter.blocked)
        XCTAssertEqual(waiter.pushed, [bulks("z2", "m", "5")])
        XCTAssertEqual(writer.call("ZRANGE", "z2", "0", "-1"), bulks("n"))
    }

    func testBlockedPopTakesFirstNonEmptyKeyInArgumentOrder() {
        let server = TestServer()
        let waiter = server.client()
        let writer = server.client()
        XCTAssertNil(waiter.call("BZPOPMAX", "z1", "z2", "0"))
        var early = SortedSet()
        early.insert(ByteBuffer(string: "a"), score: 1)
        early.insert(ByteBuffer(string: "b"), score: 2)
        put(server, "z1", .zset(early))
        XCTAssertTrue(waiter.blocked)
        XCTAssertEqual(writer.call("ZADD", "z2", "1", "late"), .integer(1))
        XCTAssertEqual(waiter.pushed, [bulks("z1", "b", "2")])
        XCTAssertEqual(writer.call("ZCARD", "z2"), .integer(1))
    }

    func testBlockedPopIgnoresOtherTypesAndKeepsWaiting() {
        let server = TestServer()
        let waiter = server.client(proto: .resp3)
        let writer = server.client()
        XCTAssertNil(waiter.call("BZMPOP", "0", "1", "k", "MAX", "COUNT", "2"))
        XCTAssertEqual(writer.call("SET", "k", "x"), .simple("OK"))
        XCTAssertTrue(waiter.blocked)
        XCTAssertEqual(waiter.pushed, [])
        writer.call("DEL", "k")
        XCTAssertEqual(writer.call("ZADD", "k", "1", "a", "2", "b", "3", "c"), .integer(3))
        XCTAssertEqual(waiter.pushed, [.array([.bulk("k"), .array([pair("c", "3"), pair("b", "2")])])])
        XCTAssertEqual(writer.call("ZRANGE", "k", "0", "-1"), bulks("a"))
    }

    // MARK: ZRANDMEMBER

    func testZrandmember() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
        let scores = ["a": "1", "b": "2", "c": "3"]
        XCTAssertEqual(c.call("ZRANDMEMBER", "nokey"), .null)
        XCTAssertEqual(c.call("ZRANDMEMBER", "nokey", "1"), bulks())
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "0"), bulks())
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "0", "WITHSCORES"), bulks())
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "1", "WITHSCORE"), syntax)
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "1", "WITHSCORES", "x"), syntax)
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "x"), notInteger)
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "-9223372036854775808"),
                       .error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"))
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES"), .error("ERR value is out of range"))
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"), .error("ERR value is out of range"))
        // A count past the size returns the whole set (Redis's order is unspecified).
        XCTAssertEqual(c.call("ZRANDMEMBER", "z", "4611686018427387903", "WITHSCORES")?.sortedPairs, bulks("a", "1", "b", "2", "c", "3"))
        if case .bulk(let m)? = c.call("ZRANDMEMBER", "z") { XCTAssertNotNil(scores[m]) } else { XCTFail("no member") }
        for _ in 0..<20 {
            let distinct = c.call("ZRANDMEMBER", "z", "2")?.elements.compactMap(\.string) ?? []
            XCTAssertEqual(distinct.count, 2)
            XCTAssertEqual(Set(distinct).count, 2)
            XCTAssertTrue(distinct.allSatisfy { scores[$0] != nil })
            let repeated = c.call("ZRANDMEMBER", "z", "-7", "WITHSCORES")?.elements.compactMap(\.string) ?? []
            XCTAssertEqual(repeated.count, 14)
            for i in stride(from: 0, to: repeated.count, by: 2) { XCTAssertEqual(scores[repeated[i]], repeated[i + 1]) }
        }
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZRANDMEMBER", "s"), wrongType)
        XCTAssertEqual(c.call("ZRANDMEMBER", "s", "1"), wrongType)
    }

    func testZrandmemberDistinctSamplingOnLargerSet() {
        let c = TestServer().client()
        c.call(["ZADD", "z"] + (0..<100).flatMap { [String($0), "m\($0)"] })
        for count in [5, 40, 99] {
            let members = c.call("ZRANDMEMBER", "z", String(count))?.elements.compactMap(\.string) ?? []
            XCTAssertEqual(members.count, count)
            XCTAssertEqual(Set(members).count, count)
            XCTAssertTrue(members.allSatisfy { $0.hasPrefix("m") })
        }
        let c3 = TestServer().client(proto: .resp3)
        c3.call("ZADD", "z", "1", "a")
        XCTAssertEqual(c3.call("ZRANDMEMBER", "z", "1", "WITHSCORES"), .array([pair("a", "1")]))
        XCTAssertEqual(c3.call("ZRANDMEMBER", "z", "-2", "WITHSCORES"), .array([pair("a", "1"), pair("a", "1")]))
        XCTAssertEqual(c3.call("ZRANDMEMBER", "z", "-2"), bulks("a", "a"))
    }

    // MARK: set operations

    func testUnionInterDiff() {
        let server = TestServer()
        let c = server.client()
        c.call("ZADD", "a", "1", "x", "2", "y", "inf", "z")
        c.call("ZADD", "b", "10", "y", "20", "w", "-inf", "z")
        put(server, "s", plainSet("x", "w", "q"))
        XCTAssertEqual(c.call("ZUNION", "2", "a", "b", "WITHSCORES"), bulks("z", "0", "x", "1", "y", "12", "w", "20"))
        XCTAssertEqual(c.call("ZUNION", "2", "a", "b", "WEIGHTS", "0", "1", "WITHSCORES"), bulks("z", "-inf", "x", "0", "y", "10", "w", "20"))
        XCTAssertEqual(c.call("ZUNION", "3", "a", "b", "s", "WITHSCORES"), bulks("z", "0", "q", "1", "x", "2", "y", "12", "w", "21"))
        XCTAssertEqual(c.call("ZUNION", "2", "a", "b"), bulks("z", "x", "y", "w"))
        XCTAssertEqual(c.call("ZINTER", "2", "a", "b", "WITHSCORES"), bulks("z", "0", "y", "12"))
        XCTAssertEqual(c.call("ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"), bulks("z", "-inf", "y", "2"))
        XCTAssertEqual(c.call("ZINTER", "2", "a", "b", "aggregate", "max", "withscores"), bulks("y", "10", "z", "inf"))
        XCTAssertEqual(c.call("ZINTER", "3", "a", "b", "s", "WITHSCORES"), bulks())
        XCTAssertEqual(c.call("ZINTER", "2", "a", "s", "WITHSCORES", "WEIGHTS", "2", "3"), bulks("x", "5"))
        XCTAssertEqual(c.call("ZINTER", "2", "a", "nokey"), bulks())
        XCTAssertEqual(c.call("ZDIFF", "2", "a", "b", "WITHSCORES"), bulks("x", "1"))
        XCTAssertEqual(c.call("ZDIFF", "2", "s", "a", "WITHSCORES"), bulks("q", "1", "w", "1"))
        XCTAssertEqual(c.call("ZDIFF", "2", "a", "nokey", "WITHSCORES"), bulks("x", "1", "y", "2", "z", "inf"))
        XCTAssertEqual(c.call("ZDIFF", "1", "nokey"), bulks())
        XCTAssertEqual(c.call("ZUNION", "1", "a", "WEIGHTS", "-1", "WITHSCORES"), bulks("z", "-inf", "y", "-2", "x", "-1"))
        XCTAssertEqual(c.call("ZUNION", "2", "a", "a", "WITHSCORES", "AGGREGATE", "SUM"), bulks("x", "2", "y", "4", "z", "inf"))
        XCTAssertEqual(c.call("ZINTER", "1", "a", "WITHSCORES", "WEIGHTS", "inf"), bulks("x", "inf", "y", "inf", "z", "inf"))
        XCTAssertEqual(c.call("ZINTER", "2", "s", "s", "WITHSCORES"), bulks("q", "2", "w", "2", "x", "2"))
        XCTAssertEqual(c.call("ZUNION", "1", "a", "WITHSCORES", "WITHSCORES"), bulks("x", "1", "y", "2", "z", "inf"))
        c.call("ZADD", "big", "1e308", "m")
        XCTAssertEqual(c.call("ZUNION", "2", "big", "big", "WITHSCORES"), bulks("m", "inf"))

        let c3 = TestServer().client(proto: .resp3)
        c3.call("ZADD", "a", "1", "x", "2", "y")
        XCTAssertEqual(c3.call("ZUNION", "1", "a", "WITHSCORES"), .array([pair("x", "1"), pair("y", "2")]))
        XCTAssertEqual(c3.call("ZDIFF", "1", "a"), bulks("x", "y"))
    }

    func testSetOperationErrors() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a")
        c.call("SET", "str", "v")
        XCTAssertEqual(c.call("ZINTER", "0", "z"), .error("ERR at least 1 input key is needed for 'zinter' command"))
        XCTAssertEqual(c.call("ZUNION", "-1", "z"), .error("ERR at least 1 input key is needed for 'zunion' command"))
        XCTAssertEqual(c.call("ZUNIONSTORE", "d", "0", "z"), .error("ERR at least 1 input key is needed for 'zunionstore' command"))
        XCTAssertEqual(c.call("ZINTERCARD", "0", "z"), .error("ERR at least 1 input key is needed for 'zintercard' command"))
        XCTAssertEqual(c.call("ZUNION", "x", "z"), notInteger)
        XCTAssertEqual(c.call("ZUNION", "2", "z"), syntax)
        XCTAssertEqual(c.call("ZUNION", "1", "z", "WEIGHTS", "x"), .error("ERR weight value is not a float"))
        XCTAssertEqual(c.call("ZUNION", "1", "z", "WEIGHTS", "1e400"), .error("ERR weight value is not a float"))
        XCTAssertEqual(c.call("ZUNION", "1", "z", "WEIGHTS", "1", "2"), syntax)
        XCTAssertEqual(c.call("ZUNION", "1", "z", "AGGREGATE", "foo"), syntax)
        XCTAssertEqual(c.call("ZUNION", "1", "z", "AGGREGATE"), syntax)
        XCTAssertEqual(c.call("ZUNION", "1", "z", "foo"), syntax)
        XCTAssertEqual(c.call("ZUNIONSTORE", "d", "1", "z", "WITHSCORES"), syntax)
        XCTAssertEqual(c.call("ZDIFF", "1", "z", "WEIGHTS", "1"), syntax)
        XCTAssertEqual(c.call("ZDIFF", "1", "z", "AGGREGATE", "SUM"), syntax)
        XCTAssertEqual(c.call("ZINTERCARD", "1", "z", "WEIGHTS", "1"), syntax)
        // Input types are checked before the options.
        XCTAssertEqual(c.call("ZUNION", "2", "z", "str", "WEIGHTS", "x"), wrongType)
        XCTAssertEqual(c.call("ZUNION", "2", "z", "str", "x"), wrongType)
        XCTAssertEqual(c.call("ZINTERCARD", "2", "z", "str"), wrongType)
        XCTAssertEqual(c.call("ZUNIONSTORE", "d", "2", "z", "str"), wrongType)
    }

    func testStoreForms() {
        let server = TestServer()
        let c = server.client()
        c.call("ZADD", "a", "1", "x", "2", "y", "inf", "z")
        c.call("ZADD", "b", "10", "y", "20", "w", "-inf", "z")
        put(server, "s", plainSet("x", "w", "q"))
        c.call("SET", "str", "v", "EX", "100")
        XCTAssertEqual(c.call("ZUNIONSTORE", "str", "2", "a", "b"), .integer(4))
        XCTAssertEqual(c.call("ZCARD", "str"), .integer(4))
        XCTAssertEqual(entry(server, "str")?.expireAt, 0)
        XCTAssertEqual(c.call("ZUNIONSTORE", "str", "2", "nokey", "nokey2"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "str"), .integer(0))
        XCTAssertEqual(c.call("ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "1", "AGGREGATE", "MAX"), .integer(2))
        XCTAssertEqual(c.call("ZRANGE", "d", "0", "-1", "WITHSCORES"), bulks("y", "10", "z", "inf"))
        XCTAssertEqual(c.call("ZDIFFSTORE", "d", "1", "s"), .integer(3))
        XCTAssertEqual(c.call("ZRANGE", "d", "0", "-1", "WITHSCORES"), bulks("q", "1", "w", "1", "x", "1"))
        // The destination can be one of the inputs.
        XCTAssertEqual(c.call("ZUNIONSTORE", "a", "2", "a", "a"), .integer(3))
        XCTAssertEqual(c.call("ZRANGE", "a", "0", "-1", "WITHSCORES"), bulks("x", "2", "y", "4", "z", "inf"))
        XCTAssertEqual(c.call("ZINTERSTORE", "d", "2", "a", "nokey"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "d"), .integer(0))
    }

    func testZintercard() {
        let server = TestServer()
        let c = server.client()
        c.call("ZADD", "a", "1", "x", "2", "y", "inf", "z")
        c.call("ZADD", "b", "10", "y", "20", "w", "-inf", "z")
        put(server, "s", plainSet("x", "y", "z"))
        XCTAssertEqual(c.call("ZINTERCARD", "2", "a", "b"), .integer(2))
        XCTAssertEqual(c.call("ZINTERCARD", "3", "a", "b", "s"), .integer(2))
        XCTAssertEqual(c.call("ZINTERCARD", "2", "a", "b", "LIMIT", "1"), .integer(1))
        XCTAssertEqual(c.call("ZINTERCARD", "2", "a", "b", "LIMIT", "0"), .integer(2))
        XCTAssertEqual(c.call("ZINTERCARD", "2", "a", "nokey"), .integer(0))
        XCTAssertEqual(c.call("ZINTERCARD", "2", "a", "b", "LIMIT", "-1"), .error("ERR LIMIT can't be negative"))
        XCTAssertEqual(c.call("ZINTERCARD", "2", "a", "b", "LIMIT", "x"), .error("ERR LIMIT can't be negative"))
        XCTAssertEqual(c.call("ZINTERCARD", "x", "a"), notInteger)
    }

    // MARK: ZSCAN

    func testZscan() {
        let c = TestServer().client()
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "0.1", "d", "1e300", "e", "-3.5", "f")
        guard case .array(let reply)? = c.call("ZSCAN", "z", "0", "COUNT", "100"), reply.count == 2,
              case .array(let items) = reply[1] else { return XCTFail("bad ZSCAN reply") }
        XCTAssertEqual(reply[0], .bulk("0"))
        var seen: [String: String] = [:]
        for i in stride(from: 0, to: items.count, by: 2) { seen[items[i].string!] = items[i + 1].string! }
        XCTAssertEqual(seen, ["a": "1", "b": "2", "c": "3", "d": "0.10000000000000001", "e": "1.0000000000000001e+300", "f": "-3.5"])

        // A full iteration in small pages sees every member exactly once here (no writes).
        var cursor = "0"
        var members: [String] = []
        repeat {
            guard let page = c.call("ZSCAN", "z", cursor, "COUNT", "2")?.elements, page.count == 2 else { return XCTFail("bad page") }
            cursor = page[0].string!
            members += stride(from: 0, to: page[1].elements.count, by: 2).map { page[1].elements[$0].string! }
        } while cursor != "0"
        XCTAssertEqual(members.sorted(), ["a", "b", "c", "d", "e", "f"])

        let matched = c.call("ZSCAN", "z", "0", "MATCH", "[ab]", "COUNT", "100")?.elements ?? []
        XCTAssertEqual(matched.first, .bulk("0"))
        XCTAssertEqual(matched.last?.sortedPairs, bulks("a", "1", "b", "2"))
        XCTAssertEqual(c.call("ZSCAN", "z", "x"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("ZSCAN", "nokey", "x"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("ZSCAN", "nokey", "0", "foo"), .array([.bulk("0"), .array([])]))
        XCTAssertEqual(c.call("ZSCAN", "z", "0", "COUNT", "0"), syntax)
        XCTAssertEqual(c.call("ZSCAN", "z", "0", "COUNT", "x"), notInteger)
        XCTAssertEqual(c.call("ZSCAN", "z", "0", "foo"), syntax)
        XCTAssertEqual(c.call("ZSCAN", "z", "0", "TYPE", "zset"), syntax)
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("ZSCAN", "s", "0"), wrongType)
    }

    // MARK: keys, notifications to WATCH

    /// Effective writes touch WATCHers of the key (and wake blocked clients); no-ops do not.
    func testWritesInvalidateWatchAndNoOpsDoNot() {
        let server = TestServer()
        let c = server.client()
        c.call("ZADD", "z", "1", "a")
        let key = ByteBuffer(string: "z")
        let shard = server.runtime.keyspace.shards[KeySlot.shard(key)]
        let cases: [(noop: [String], write: [String])] = [
            (["ZADD", "z", "1", "a"], ["ZADD", "z", "2", "a"]),
            (["ZADD", "z", "NX", "5", "a"], ["ZINCRBY", "z", "1", "a"]),
            (["ZREM", "z", "nope"], ["ZADD", "z", "5", "b"]),
            (["ZREMRANGEBYSCORE", "z", "10", "20"], ["ZREMRANGEBYRANK", "z", "0", "0"]),
            (["ZPOPMIN", "nokey"], ["ZRANGESTORE", "z", "z", "0", "0"]),
            (["ZUNIONSTORE", "nokey", "1", "nokey2"], ["ZPOPMAX", "z"]),
        ]
        for (noop, write) in cases {
            let token = WatchToken()
            shard.addWatcher(token, db: 0, key: key)
            c.call(noop)
            XCTAssertFalse(token.dirty.load(ordering: .relaxed), noop.joined(separator: " "))
            c.call(write)
            XCTAssertTrue(token.dirty.load(ordering: .relaxed), write.joined(separator: " "))
            shard.removeWatcher(token, db: 0, key: key)
        }
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
    }

    func testCommandTableKeySpecs() {
        let table = CommandTable.standard
        func keys(_ args: String...) -> [Int] {
            let buffers = args.map { ByteBuffer(string: $0) }
            return table.lookup(buffers[0])!.keys.positions(in: Arguments(buffers))
        }
        XCTAssertEqual(keys("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"), [1, 3, 4])
        XCTAssertEqual(keys("ZINTER", "2", "a", "b", "WITHSCORES"), [2, 3])
        XCTAssertEqual(keys("BZMPOP", "0", "2", "a", "b", "MIN"), [3, 4])
        XCTAssertEqual(keys("ZMPOP", "1", "a", "MIN"), [2])
        XCTAssertEqual(keys("BZPOPMIN", "a", "b", "0"), [1, 2])
        XCTAssertEqual(keys("ZRANGESTORE", "d", "s", "0", "-1"), [1, 2])
    }
}

private extension Reply {
    /// A flat member/score array with its pairs sorted by member (ZSCAN order is unspecified).
    var sortedPairs: Reply {
        let items = elements
        let pairs = stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
            .sorted { ($0.0.string ?? "") < ($1.0.string ?? "") }
        return .array(pairs.flatMap { [$0.0, $0.1] })
    }
}
