import XCTest
@testable import Commands

final class SortCommandTests: XCTestCase {
    func testNumericAlphaDescAndLimit() {
        let c = TestServer().client()
        c.call("RPUSH", "l", "3", "1", "2", "10")
        XCTAssertEqual(c.call("SORT", "l"), bulks("1", "2", "3", "10"))
        XCTAssertEqual(c.call("SORT", "l", "ALPHA"), bulks("1", "10", "2", "3"))
        XCTAssertEqual(c.call("SORT", "l", "DESC", "LIMIT", "1", "2"), bulks("3", "2"))
        XCTAssertEqual(c.call("SORT", "l", "LIMIT", "-5", "-1"), bulks("1", "2", "3", "10"))
        c.call("RPUSH", "words", "b", "a")
        XCTAssertEqual(c.call("SORT", "words"), .error("ERR One or more scores can't be converted into double"))
        XCTAssertEqual(c.call("SORT", "missing"), .array([]))
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("SORT", "s"), .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        XCTAssertEqual(c.call("SORT", "l", "BOGUS"), .error("ERR syntax error"))
    }

    func testByAndGetPatternsWithHashFields() {
        let c = TestServer().client()
        c.call("SADD", "ids", "1", "2", "3")
        c.call("SET", "weight_1", "30"); c.call("SET", "weight_2", "10"); c.call("SET", "weight_3", "20")
        c.call("HSET", "obj_1", "name", "one"); c.call("HSET", "obj_2", "name", "two")
        XCTAssertEqual(c.call("SORT", "ids", "BY", "weight_*"), bulks("2", "3", "1"))
        XCTAssertEqual(c.call("SORT", "ids", "BY", "weight_*", "GET", "#", "GET", "obj_*->name"),
                       .array([.bulk("2"), .bulk("two"), .bulk("3"), .null, .bulk("1"), .bulk("one")]))
        // A BY pattern without '*' means "do not sort": a sorted set keeps its order.
        c.call("ZADD", "z", "1", "c", "2", "a", "3", "b")
        XCTAssertEqual(c.call("SORT", "z", "BY", "nosort"), bulks("c", "a", "b"))
    }

    func testStoreAndReadOnlyVariant() {
        let c = TestServer().client()
        c.call("RPUSH", "l", "2", "1")
        XCTAssertEqual(c.call("SORT", "l", "STORE", "dst"), .integer(2))
        XCTAssertEqual(c.call("LRANGE", "dst", "0", "-1"), bulks("1", "2"))
        XCTAssertEqual(c.call("SORT", "missing", "STORE", "dst"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "dst"), .integer(0), "an empty result deletes the destination")
        XCTAssertEqual(c.call("SORT_RO", "l", "STORE", "dst"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("SORT_RO", "l"), bulks("1", "2"))
    }
}
