import XCTest
@testable import Commands

/// List commands through the real dispatcher. Expected replies (including error strings and the
/// null forms) were checked against redis-server 7.0.15.
final class ListCommandsTests: XCTestCase {
    private let wrongType = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    private let notInteger = Reply.error("ERR value is not an integer or out of range")
    private let syntax = Reply.error("ERR syntax error")

    /// A client with `key` holding the list `elements` (pushed in order).
    private func client(_ key: String = "l", _ elements: String...) -> TestClient {
        let c = TestServer().client()
        if !elements.isEmpty { XCTAssertEqual(c.call(["RPUSH", key] + elements), .integer(elements.count)) }
        return c
    }

    // MARK: push

    func testPushOrderAndLength() {
        let c = client()
        XCTAssertEqual(c.call("LPUSH", "l", "a", "b", "c"), .integer(3))
        XCTAssertEqual(c.call("RPUSH", "l", "d", "e"), .integer(5))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("c", "b", "a", "d", "e"))
        XCTAssertEqual(c.call("LLEN", "l"), .integer(5))
        XCTAssertEqual(c.call("LLEN", "missing"), .integer(0))
    }

    func testPushXOnlyWhenTheListExists() {
        let c = client("l", "a")
        XCTAssertEqual(c.call("LPUSHX", "missing", "a"), .integer(0))
        XCTAssertEqual(c.call("RPUSHX", "missing", "a", "b"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "missing"), .integer(0))
        XCTAssertEqual(c.call("RPUSHX", "l", "b", "c"), .integer(3))
        XCTAssertEqual(c.call("LPUSHX", "l", "z"), .integer(4))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("z", "a", "b", "c"))
    }

    func testPushWrongTypeAndArity() {
        let c = client()
        c.call("SET", "s", "x")
        for command in ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"] {
            XCTAssertEqual(c.call(command, "s", "a"), wrongType, command)
            XCTAssertEqual(c.call(command, "s"), .error("ERR wrong number of arguments for '\(command.lowercased())' command"))
        }
        XCTAssertEqual(c.call("GET", "s"), .bulk("x"))
    }

    // MARK: pop

    func testPopWithoutCount() {
        let c = client("l", "a", "b", "c")
        XCTAssertEqual(c.call("LPOP", "l"), .bulk("a"))
        XCTAssertEqual(c.call("RPOP", "l"), .bulk("c"))
        XCTAssertEqual(c.call("RPOP", "l"), .bulk("b"))
        XCTAssertEqual(c.call("EXISTS", "l"), .integer(0), "popping the last element deletes the key")
        XCTAssertEqual(c.call("LPOP", "l"), .null)
        XCTAssertEqual(c.call("RPOP", "l"), .null)
    }

    func testPopWithCount() {
        let c = client("l", "a", "b", "c", "d")
        XCTAssertEqual(c.call("LPOP", "l", "0"), .array([]))
        XCTAssertEqual(c.call("LPOP", "l", "1"), bulks("a"))
        XCTAssertEqual(c.call("RPOP", "l", "2"), bulks("d", "c"))
        XCTAssertEqual(c.call("LPOP", "l", "10"), bulks("b"))
        XCTAssertEqual(c.call("EXISTS", "l"), .integer(0))
        // A missing key answers the null array whenever a count is given, even 0.
        XCTAssertEqual(c.call("LPOP", "l", "0"), .nullArray)
        XCTAssertEqual(c.call("RPOP", "l", "3"), .nullArray)
    }

    func testPopCountErrors() {
        let c = client("l", "a")
        c.call("SET", "s", "x")
        for bad in ["-1", "x", "01", "+1"] {
            XCTAssertEqual(c.call("LPOP", "l", bad), .error("ERR value is out of range, must be positive"), bad)
        }
        XCTAssertEqual(c.call("LPOP", "l", "1", "2"), .error("ERR wrong number of arguments for 'lpop' command"))
        XCTAssertEqual(c.call("RPOP", "l", "1", "2"), .error("ERR wrong number of arguments for 'rpop' command"))
        XCTAssertEqual(c.call("LPOP", "s"), wrongType)
        XCTAssertEqual(c.call("RPOP", "s", "0"), wrongType)
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a"))
    }

    func testPopNullsInRESP3() {
        let c = TestServer().client(proto: .resp3)
        XCTAssertEqual(c.call("LPOP", "missing"), .null)
        XCTAssertEqual(c.call("LPOP", "missing", "0"), .null)
        c.call("RPUSH", "l", "a", "b")
        XCTAssertEqual(c.call("LPOP", "l", "0"), .array([]))
        XCTAssertEqual(c.call("LPOP", "l", "1"), bulks("a"))
        XCTAssertEqual(c.call("LPOP", "l"), .bulk("b"))
    }

    // MARK: reading

    func testLRange() {
        let c = client("l", "a", "b", "c", "d", "e")
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a", "b", "c", "d", "e"))
        XCTAssertEqual(c.call("LRANGE", "l", "-100", "100"), bulks("a", "b", "c", "d", "e"))
        XCTAssertEqual(c.call("LRANGE", "l", "-2", "-1"), bulks("d", "e"))
        XCTAssertEqual(c.call("LRANGE", "l", "1", "2"), bulks("b", "c"))
        XCTAssertEqual(c.call("LRANGE", "l", "3", "1"), .array([]))
        XCTAssertEqual(c.call("LRANGE", "l", "5", "10"), .array([]))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-100"), .array([]))
        XCTAssertEqual(c.call("LRANGE", "l", "-9223372036854775808", "9223372036854775807"), bulks("a", "b", "c", "d", "e"))
        XCTAssertEqual(c.call("LRANGE", "missing", "0", "-1"), .array([]))
        XCTAssertEqual(c.call("LRANGE", "l", "x", "1"), notInteger)
        XCTAssertEqual(c.call("LRANGE", "missing", "0", "x"), notInteger, "indexes are parsed before the lookup")
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("LRANGE", "s", "0", "1"), wrongType)
        XCTAssertEqual(c.call("LLEN", "s"), wrongType)
    }

    func testLIndex() {
        let c = client("l", "a", "b", "c")
        XCTAssertEqual(c.call("LINDEX", "l", "0"), .bulk("a"))
        XCTAssertEqual(c.call("LINDEX", "l", "-1"), .bulk("c"))
        XCTAssertEqual(c.call("LINDEX", "l", "-3"), .bulk("a"))
        XCTAssertEqual(c.call("LINDEX", "l", "3"), .null)
        XCTAssertEqual(c.call("LINDEX", "l", "-4"), .null)
        XCTAssertEqual(c.call("LINDEX", "l", "x"), notInteger)
        // The key is looked up before the index is parsed.
        XCTAssertEqual(c.call("LINDEX", "missing", "x"), .null)
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("LINDEX", "s", "x"), wrongType)
    }

    func testLPos() {
        let c = client("l", "a", "b", "c", "1", "2", "3", "c", "c")
        XCTAssertEqual(c.call("LPOS", "l", "c"), .integer(2))
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "2"), .integer(6))
        XCTAssertEqual(c.call("LPOS", "l", "c", "rank", "-1"), .integer(7))
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "-2"), .integer(6))
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "5"), .null)
        XCTAssertEqual(c.call("LPOS", "l", "c", "COUNT", "0"), .array([.integer(2), .integer(6), .integer(7)]))
        XCTAssertEqual(c.call("LPOS", "l", "c", "COUNT", "2"), .array([.integer(2), .integer(6)]))
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "-2", "COUNT", "0"), .array([.integer(6), .integer(2)]))
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "5", "COUNT", "0"), .array([]))
        XCTAssertEqual(c.call("LPOS", "l", "c", "MAXLEN", "3"), .integer(2))
        XCTAssertEqual(c.call("LPOS", "l", "c", "MAXLEN", "2"), .null)
        XCTAssertEqual(c.call("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "3"), .array([.integer(2)]))
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "-1", "MAXLEN", "2"), .integer(7))
        XCTAssertEqual(c.call("LPOS", "l", "c", "MAXLEN", "0"), .integer(2))
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "1", "RANK", "2"), .integer(6), "the last option wins")
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "9223372036854775807"), .null)
        XCTAssertEqual(c.call("LPOS", "l", "c", "RANK", "-9223372036854775808"), .integer(7))
        XCTAssertEqual(c.call("LPOS", "l", "zz"), .null)
        XCTAssertEqual(c.call("LPOS", "l", "zz", "COUNT", "0"), .array([]))
        XCTAssertEqual(c.call("LPOS", "missing", "c"), .null)
        XCTAssertEqual(c.call("LPOS", "missing", "c", "COUNT", "1"), .array([]))
    }

    func testLPosErrors() {
        let c = client("l", "a")
        c.call("SET", "s", "x")
        let rankZero = Reply.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
        XCTAssertEqual(c.call("LPOS", "l", "a", "RANK", "0"), rankZero)
        XCTAssertEqual(c.call("LPOS", "l", "a", "RANK", "x"), notInteger)
        XCTAssertEqual(c.call("LPOS", "l", "a", "COUNT", "-1"), .error("ERR COUNT can't be negative"))
        XCTAssertEqual(c.call("LPOS", "l", "a", "COUNT", "x"), .error("ERR COUNT can't be negative"))
        XCTAssertEqual(c.call("LPOS", "l", "a", "MAXLEN", "-1"), .error("ERR MAXLEN can't be negative"))
        XCTAssertEqual(c.call("LPOS", "l", "a", "MAXLEN", "99999999999999999999"), .error("ERR MAXLEN can't be negative"))
        XCTAssertEqual(c.call("LPOS", "l", "a", "RANK"), syntax)
        XCTAssertEqual(c.call("LPOS", "l", "a", "FOO", "1"), syntax)
        XCTAssertEqual(c.call("LPOS", "s", "a"), wrongType)
        // Options are checked before the key.
        XCTAssertEqual(c.call("LPOS", "s", "a", "RANK", "0"), rankZero)
        XCTAssertEqual(c.call("LPOS", "missing", "a", "COUNT", "-1"), .error("ERR COUNT can't be negative"))
    }

    // MARK: editing

    func testLSet() {
        let c = client("l", "a", "b", "c")
        XCTAssertEqual(c.call("LSET", "l", "0", "x"), .simple("OK"))
        XCTAssertEqual(c.call("LSET", "l", "-1", "z"), .simple("OK"))
        XCTAssertEqual(c.call("LSET", "l", "-3", "y"), .simple("OK"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("y", "b", "z"))
        XCTAssertEqual(c.call("LSET", "l", "3", "a"), .error("ERR index out of range"))
        XCTAssertEqual(c.call("LSET", "l", "-4", "a"), .error("ERR index out of range"))
        XCTAssertEqual(c.call("LSET", "l", "x", "a"), notInteger)
        XCTAssertEqual(c.call("LSET", "missing", "0", "a"), .error("ERR no such key"))
        XCTAssertEqual(c.call("LSET", "missing", "x", "a"), .error("ERR no such key"))
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("LSET", "s", "x", "a"), wrongType)
        XCTAssertEqual(c.call("LSET", "l", "0"), .error("ERR wrong number of arguments for 'lset' command"))
    }

    func testLInsert() {
        let c = client("l", "a", "b")
        XCTAssertEqual(c.call("LINSERT", "l", "AFTER", "b", "c"), .integer(3))
        XCTAssertEqual(c.call("LINSERT", "l", "before", "a", "z"), .integer(4))
        XCTAssertEqual(c.call("LINSERT", "l", "After", "a", "m"), .integer(5))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("z", "a", "m", "b", "c"))
        XCTAssertEqual(c.call("LINSERT", "l", "BEFORE", "zz", "q"), .integer(-1))
        XCTAssertEqual(c.call("LINSERT", "missing", "BEFORE", "a", "q"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "missing"), .integer(0))
        XCTAssertEqual(c.call("LINSERT", "l", "MIDDLE", "a", "q"), syntax)
        XCTAssertEqual(c.call("LINSERT", "missing", "MIDDLE", "a", "q"), syntax)
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("LINSERT", "s", "BEFORE", "a", "q"), wrongType)
        XCTAssertEqual(c.call("LINSERT", "s", "MIDDLE", "a", "q"), syntax)
    }

    func testLInsertOnlyAtTheFirstPivot() {
        let c = client("l", "a", "p", "b", "p")
        XCTAssertEqual(c.call("LINSERT", "l", "AFTER", "p", "x"), .integer(5))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a", "p", "x", "b", "p"))
    }

    func testLRem() {
        let c = client("l", "a", "b", "a", "c", "a")
        XCTAssertEqual(c.call("LREM", "l", "-2", "a"), .integer(2))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a", "b", "c"))
        c.call("RPUSH", "l", "a", "b", "a")
        XCTAssertEqual(c.call("LREM", "l", "2", "a"), .integer(2))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("b", "c", "b", "a"))
        XCTAssertEqual(c.call("LREM", "l", "0", "b"), .integer(2))
        XCTAssertEqual(c.call("LREM", "l", "1", "zz"), .integer(0))
        XCTAssertEqual(c.call("LREM", "l", "-1", "zz"), .integer(0))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("c", "a"))
        XCTAssertEqual(c.call("LREM", "l", "-9223372036854775808", "a"), .integer(1))
        XCTAssertEqual(c.call("LREM", "l", "0", "c"), .integer(1))
        XCTAssertEqual(c.call("EXISTS", "l"), .integer(0), "removing the last element deletes the key")
        XCTAssertEqual(c.call("LREM", "missing", "0", "a"), .integer(0))
    }

    func testLRemFromTheTailKeepsOrder() {
        let c = client("l", "x", "a", "y", "a", "z", "a", "w")
        XCTAssertEqual(c.call("LREM", "l", "-2", "a"), .integer(2))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("x", "a", "y", "z", "w"))
    }

    func testLRemErrors() {
        let c = client("l", "a")
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("LREM", "l", "x", "a"), notInteger)
        XCTAssertEqual(c.call("LREM", "s", "x", "a"), notInteger, "the count is parsed before the lookup")
        XCTAssertEqual(c.call("LREM", "s", "0", "a"), wrongType)
    }

    func testLTrim() {
        let c = client("l", "a", "b", "c", "d", "e")
        XCTAssertEqual(c.call("LTRIM", "l", "1", "-2"), .simple("OK"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("b", "c", "d"))
        XCTAssertEqual(c.call("LTRIM", "l", "-100", "100"), .simple("OK"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("b", "c", "d"))
        XCTAssertEqual(c.call("LTRIM", "l", "-1", "-1"), .simple("OK"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("d"))
        XCTAssertEqual(c.call("LTRIM", "l", "5", "1"), .simple("OK"))
        XCTAssertEqual(c.call("EXISTS", "l"), .integer(0), "an empty range deletes the key")
        XCTAssertEqual(c.call("LTRIM", "missing", "0", "1"), .simple("OK"))
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("LTRIM", "s", "0", "1"), wrongType)
        XCTAssertEqual(c.call("LTRIM", "s", "x", "1"), notInteger)
    }

    // MARK: moving

    func testLMoveAllDirections() {
        let c = client("src", "1", "2", "3")
        XCTAssertEqual(c.call("LMOVE", "src", "dst", "LEFT", "LEFT"), .bulk("1"))
        XCTAssertEqual(c.call("LMOVE", "src", "dst", "right", "right"), .bulk("3"))
        XCTAssertEqual(c.call("LMOVE", "src", "dst", "LEFT", "RIGHT"), .bulk("2"))
        XCTAssertEqual(c.call("EXISTS", "src"), .integer(0))
        XCTAssertEqual(c.call("LRANGE", "dst", "0", "-1"), bulks("1", "3", "2"))
        XCTAssertEqual(c.call("LMOVE", "dst", "src", "RIGHT", "LEFT"), .bulk("2"))
        XCTAssertEqual(c.call("LRANGE", "src", "0", "-1"), bulks("2"))
        XCTAssertEqual(c.call("LMOVE", "missing", "dst", "LEFT", "LEFT"), .null)
        XCTAssertEqual(c.call("LMOVE", "src", "dst", "MIDDLE", "LEFT"), syntax)
        XCTAssertEqual(c.call("LMOVE", "src", "dst", "LEFT", "UP"), syntax)
    }

    func testLMoveSameKeyRotates() {
        let c = client("l", "a", "b", "c")
        XCTAssertEqual(c.call("LMOVE", "l", "l", "LEFT", "RIGHT"), .bulk("a"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("b", "c", "a"))
        XCTAssertEqual(c.call("LMOVE", "l", "l", "RIGHT", "LEFT"), .bulk("a"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a", "b", "c"))
        XCTAssertEqual(c.call("RPOPLPUSH", "l", "l"), .bulk("c"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("c", "a", "b"))
        let single = client("one", "x")
        XCTAssertEqual(single.call("LMOVE", "one", "one", "LEFT", "LEFT"), .bulk("x"))
        XCTAssertEqual(single.call("LRANGE", "one", "0", "-1"), bulks("x"))
    }

    func testLMoveWrongTypeLeavesTheSourceAlone() {
        let c = client("l", "a", "b")
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("LMOVE", "l", "s", "LEFT", "LEFT"), wrongType)
        XCTAssertEqual(c.call("RPOPLPUSH", "l", "s"), wrongType)
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a", "b"))
        XCTAssertEqual(c.call("GET", "s"), .bulk("x"))
        XCTAssertEqual(c.call("LMOVE", "s", "l", "LEFT", "LEFT"), wrongType)
        // Nothing to move: the destination's type is never looked at.
        XCTAssertEqual(c.call("LMOVE", "missing", "s", "LEFT", "LEFT"), .null)
        XCTAssertEqual(c.call("RPOPLPUSH", "missing", "s"), .null)
    }

    func testRPopLPush() {
        let c = client("src", "a", "b", "c")
        XCTAssertEqual(c.call("RPOPLPUSH", "src", "dst"), .bulk("c"))
        XCTAssertEqual(c.call("RPOPLPUSH", "src", "dst"), .bulk("b"))
        XCTAssertEqual(c.call("LRANGE", "dst", "0", "-1"), bulks("b", "c"))
        XCTAssertEqual(c.call("LRANGE", "src", "0", "-1"), bulks("a"))
        XCTAssertEqual(c.call("RPOPLPUSH", "src"), .error("ERR wrong number of arguments for 'rpoplpush' command"))
    }

    // MARK: LMPOP

    func testLMPop() {
        let c = client("l", "a", "b", "c", "1", "2", "3", "c", "c")
        XCTAssertEqual(c.call("LMPOP", "1", "l", "LEFT"), .array([.bulk("l"), bulks("a")]))
        XCTAssertEqual(c.call("LMPOP", "1", "l", "right", "COUNT", "2"), .array([.bulk("l"), bulks("c", "c")]))
        XCTAssertEqual(c.call("LMPOP", "2", "missing", "l", "LEFT", "count", "100"),
                       .array([.bulk("l"), bulks("b", "c", "1", "2", "3")]))
        XCTAssertEqual(c.call("EXISTS", "l"), .integer(0))
        XCTAssertEqual(c.call("LMPOP", "1", "missing", "LEFT"), .nullArray)
        XCTAssertEqual(TestServer().client(proto: .resp3).call("LMPOP", "1", "missing", "LEFT"), .null)
    }

    func testLMPopTakesTheFirstNonEmptyKeyAndChecksTypesInOrder() {
        let c = client("l", "x")
        c.call("SET", "s", "v")
        XCTAssertEqual(c.call("LMPOP", "2", "s", "l", "LEFT"), wrongType)
        XCTAssertEqual(c.call("LMPOP", "2", "l", "s", "LEFT"), .array([.bulk("l"), bulks("x")]))
    }

    func testLMPopErrors() {
        let c = client("l", "a")
        for bad in ["0", "-1", "x", "99999999999999999999"] {
            XCTAssertEqual(c.call("LMPOP", bad, "l", "LEFT"), .error("ERR numkeys should be greater than 0"), bad)
        }
        XCTAssertEqual(c.call("LMPOP", "3", "l", "LEFT"), syntax)
        XCTAssertEqual(c.call("LMPOP", "2", "l", "LEFT"), syntax)
        XCTAssertEqual(c.call("LMPOP", "1", "l", "MIDDLE"), syntax)
        XCTAssertEqual(c.call("LMPOP", "1", "l", "LEFT", "COUNT"), syntax)
        XCTAssertEqual(c.call("LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"), syntax)
        XCTAssertEqual(c.call("LMPOP", "1", "l", "LEFT", "FOO"), syntax)
        for bad in ["0", "-1", "x"] {
            XCTAssertEqual(c.call("LMPOP", "1", "l", "LEFT", "COUNT", bad), .error("ERR count should be greater than 0"), bad)
        }
        XCTAssertEqual(c.call("LMPOP", "1", "missing", "LEFT", "COUNT", "0"), .error("ERR count should be greater than 0"))
        XCTAssertEqual(c.call("LMPOP", "1", "l"), .error("ERR wrong number of arguments for 'lmpop' command"))
        XCTAssertEqual(c.call("LRANGE", "l", "0", "-1"), bulks("a"))
    }

    // MARK: blocking, data already there

    func testBlockingPopsAnswerAtOnceWhenThereIsData() {
        let c = client("l", "a", "b", "c")
        XCTAssertEqual(c.call("BLPOP", "missing", "l", "0"), bulks("l", "a"))
        XCTAssertEqual(c.call("BRPOP", "l", "missing", "0"), bulks("l", "c"))
        XCTAssertEqual(c.call("BRPOPLPUSH", "l", "dst", "0"), .bulk("b"))
        XCTAssertEqual(c.call("BLMOVE", "dst", "l", "LEFT", "RIGHT", "0"), .bulk("b"))
        XCTAssertEqual(c.call("BLMPOP", "0", "2", "missing", "l", "LEFT", "COUNT", "5"), .array([.bulk("l"), bulks("b")]))
        XCTAssertFalse(c.blocked)
    }

    func testBlockingErrors() {
        let c = client("l", "a")
        c.call("SET", "s", "x")
        XCTAssertEqual(c.call("BLPOP", "s", "0"), wrongType)
        XCTAssertEqual(c.call("BLPOP", "missing", "s", "l", "0"), wrongType, "the first existing key decides")
        XCTAssertEqual(c.call("BRPOP", "l", "s", "0"), bulks("l", "a"))
        XCTAssertEqual(c.call("BLPOP", "l", "x"), .error("ERR timeout is not a float or out of range"))
        XCTAssertEqual(c.call("BLPOP", "l", "-1"), .error("ERR timeout is negative"))
        XCTAssertEqual(c.call("BLMOVE", "l", "d", "LEFT", "LEFT", "x"), .error("ERR timeout is not a float or out of range"))
        XCTAssertEqual(c.call("BLMOVE", "l", "d", "MIDDLE", "LEFT", "x"), syntax, "directions are parsed before the timeout")
        XCTAssertEqual(c.call("BLMOVE", "s", "d", "LEFT", "LEFT", "0"), wrongType)
        XCTAssertEqual(c.call("BRPOPLPUSH", "l", "d", "-1"), .error("ERR timeout is negative"))
        XCTAssertEqual(c.call("BLMPOP", "x", "1", "l", "LEFT"), .error("ERR timeout is not a float or out of range"))
        XCTAssertEqual(c.call("BLMPOP", "0", "0", "l", "LEFT"), .error("ERR numkeys should be greater than 0"))
        XCTAssertEqual(c.call("BLMPOP", "0", "1", "l", "MIDDLE"), syntax)
        XCTAssertEqual(c.call("BLMPOP", "0", "1", "s", "LEFT"), wrongType)
        XCTAssertEqual(c.call("BLPOP", "l"), .error("ERR wrong number of arguments for 'blpop' command"))
        XCTAssertEqual(c.call("BLMPOP", "0", "1", "l"), .error("ERR wrong number of arguments for 'blmpop' command"))
        XCTAssertFalse(c.blocked)
    }

    // MARK: blocking and waking

    func testBLPopBlocksUntilAPush() {
        let s = TestServer()
        let waiter = s.client()
        let pusher = s.client()
        XCTAssertNil(waiter.call("BLPOP", "k", "0"))
        XCTAssertTrue(waiter.blocked)
        XCTAssertEqual(pusher.call("RPUSH", "k", "a"), .integer(1), "the pusher sees the length before the wake-up")
        XCTAssertFalse(waiter.blocked)
        XCTAssertEqual(waiter.pushed, [bulks("k", "a")])
        XCTAssertEqual(pusher.call("EXISTS", "k"), .integer(0))
    }

    func testBlockedOnSeveralKeysTakesTheOneThatFilled() {
        let s = TestServer()
        let waiter = s.client()
        let pusher = s.client()
        XCTAssertNil(waiter.call("BRPOP", "k1", "k2", "k3", "0"))
        pusher.call("RPUSH", "k2", "a", "b")
        XCTAssertEqual(waiter.pushed, [bulks("k2", "b")])
        XCTAssertEqual(pusher.call("LRANGE", "k2", "0", "-1"), bulks("a"))
    }

    func testAKeyOfAnotherTypeDoesNotEndTheWait() {
        let s = TestServer()
        let waiter = s.client()
        let other = s.client()
        XCTAssertNil(waiter.call("BLPOP", "k1", "k2", "0"))
        other.call("SET", "k1", "x")
        XCTAssertTrue(waiter.blocked)
        XCTAssertEqual(waiter.pushed, [])
        other.call("RPUSH", "k2", "v")
        XCTAssertEqual(waiter.pushed, [bulks("k2", "v")])
    }

    func testBlockedClientsAreServedFirstComeFirstServed() {
        let s = TestServer()
        let first = s.client()
        let second = s.client()
        let pusher = s.client()
        XCTAssertNil(first.call("BLPOP", "k", "0"))
        XCTAssertNil(second.call("BLPOP", "k", "0"))
        pusher.call("RPUSH", "k", "a")
        XCTAssertEqual(first.pushed, [bulks("k", "a")])
        XCTAssertEqual(second.pushed, [])
        XCTAssertTrue(second.blocked)
        pusher.call("RPUSH", "k", "b")
        XCTAssertEqual(second.pushed, [bulks("k", "b")])
        XCTAssertEqual(first.pushed.count, 1)
    }

    func testOnePushServesSeveralWaitersFromBothEnds() {
        let s = TestServer()
        let left = s.client()
        let right = s.client()
        let pusher = s.client()
        XCTAssertNil(left.call("BLPOP", "k", "0"))
        XCTAssertNil(right.call("BRPOP", "k", "0"))
        XCTAssertEqual(pusher.call("LPUSH", "k", "a", "b", "c"), .integer(3))
        XCTAssertEqual(left.pushed, [bulks("k", "c")])
        XCTAssertEqual(right.pushed, [bulks("k", "a")])
        XCTAssertEqual(pusher.call("LRANGE", "k", "0", "-1"), bulks("b"))
    }

    func testBLMoveWakesMovesAndWakesTheDestinationsWaiter() {
        let s = TestServer()
        let mover = s.client()
        let popper = s.client()
        let pusher = s.client()
        XCTAssertNil(mover.call("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"))
        XCTAssertNil(popper.call("BLPOP", "dst", "0"))
        XCTAssertEqual(pusher.call("RPUSH", "src", "1", "2"), .integer(2))
        XCTAssertEqual(mover.pushed, [.bulk("2")])
        XCTAssertEqual(popper.pushed, [bulks("dst", "2")])
        XCTAssertEqual(pusher.call("LRANGE", "src", "0", "-1"), bulks("1"))
        XCTAssertEqual(pusher.call("EXISTS", "dst"), .integer(0))
    }

    func testBLMoveOnOneKeyRotatesWhenWoken() {
        let s = TestServer()
        let mover = s.client()
        let pusher = s.client()
        XCTAssertNil(mover.call("BLMOVE", "x", "x", "LEFT", "RIGHT", "0"))
        pusher.call("RPUSH", "x", "1", "2")
        XCTAssertEqual(mover.pushed, [.bulk("1")])
        XCTAssertEqual(pusher.call("LRANGE", "x", "0", "-1"), bulks("2", "1"))
    }

    func testBLMoveBlocksEvenWhenTheDestinationHasTheWrongType() {
        let s = TestServer()
        let mover = s.client()
        let other = s.client()
        other.call("SET", "dst", "x")
        XCTAssertNil(mover.call("BLMOVE", "src", "dst", "LEFT", "LEFT", "0"))
        XCTAssertTrue(mover.blocked)
        // Served later, the destination's type is the answer and the element stays put.
        other.call("RPUSH", "src", "a")
        XCTAssertFalse(mover.blocked)
        XCTAssertEqual(mover.pushed, [wrongType])
        XCTAssertEqual(other.call("LRANGE", "src", "0", "-1"), bulks("a"))
        XCTAssertEqual(other.call("GET", "dst"), .bulk("x"))
    }

    func testBRPopLPushWakes() {
        let s = TestServer()
        let mover = s.client()
        let pusher = s.client()
        XCTAssertNil(mover.call("BRPOPLPUSH", "src", "dst", "0"))
        pusher.call("RPUSH", "src", "a", "b")
        XCTAssertEqual(mover.pushed, [.bulk("b")])
        XCTAssertEqual(pusher.call("LRANGE", "dst", "0", "-1"), bulks("b"))
        XCTAssertEqual(pusher.call("LRANGE", "src", "0", "-1"), bulks("a"))
    }

    func testBLMPopWakesWithItsCount() {
        let s = TestServer()
        let waiter = s.client()
        let pusher = s.client()
        XCTAssertNil(waiter.call("BLMPOP", "0", "2", "k1", "k2", "RIGHT", "COUNT", "2"))
        pusher.call("RPUSH", "k2", "a", "b", "c")
        XCTAssertEqual(waiter.pushed, [.array([.bulk("k2"), bulks("c", "b")])])
        XCTAssertEqual(pusher.call("LRANGE", "k2", "0", "-1"), bulks("a"))
    }

    func testLMoveIntoAWatchedKeyWakesItsWaiter() {
        let s = TestServer()
        let waiter = s.client(proto: .resp3)
        let other = s.client()
        XCTAssertNil(waiter.call("BLPOP", "dst", "0"))
        other.call("RPUSH", "src", "a")
        XCTAssertEqual(other.call("LMOVE", "src", "dst", "LEFT", "LEFT"), .bulk("a"))
        XCTAssertEqual(waiter.pushed, [bulks("dst", "a")])
    }

    func testWritesThatFillNothingDoNotWake() {
        let s = TestServer()
        let waiter = s.client()
        let other = s.client()
        XCTAssertNil(waiter.call("BLPOP", "k", "0"))
        XCTAssertEqual(other.call("RPUSHX", "k", "a"), .integer(0))
        XCTAssertEqual(other.call("LINSERT", "k", "BEFORE", "a", "b"), .integer(0))
        other.call("RPUSH", "elsewhere", "a")
        XCTAssertTrue(waiter.blocked)
        XCTAssertEqual(waiter.pushed, [])
        XCTAssertEqual(other.call("LRANGE", "elsewhere", "0", "-1"), bulks("a"))
    }

    /// A blocked client that disconnected is skipped: the element goes to the next waiter.
    func testDisconnectedWaiterIsSkipped() {
        let s = TestServer()
        let gone = s.client(), waiting = s.client(), pusher = s.client()
        XCTAssertNil(gone.call("BLPOP", "q", "0"))
        XCTAssertNil(waiting.call("BLPOP", "q", "0"))
        gone.state.closed.store(true, ordering: .relaxed)
        XCTAssertEqual(pusher.call("LPUSH", "q", "a"), .integer(1))
        XCTAssertEqual(gone.pushed, [])
        XCTAssertEqual(waiting.pushed, [bulks("q", "a")])
        XCTAssertEqual(pusher.call("LLEN", "q"), .integer(0))
    }
}
