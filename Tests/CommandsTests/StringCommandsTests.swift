import XCTest
@testable import Commands

/// String commands against Redis 7.0 semantics; every expectation here was checked against
/// redis-server 7.0.15.
final class StringCommandsTests: XCTestCase {
    let wrongType = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    let notInteger = Reply.error("ERR value is not an integer or out of range")
    let syntax = Reply.error("ERR syntax error")

    func testGetSetBasics() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SET", "k", "v"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
        XCTAssertEqual(c.call("GET", "missing"), .null)
        XCTAssertEqual(c.call("get"), .error("ERR wrong number of arguments for 'get' command"))
        XCTAssertEqual(c.call("SET", "k"), .error("ERR wrong number of arguments for 'set' command"))
        // SET overwrites a value of any type.
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("GET", "l"), wrongType)
        XCTAssertEqual(c.call("SET", "l", "v"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "l"), .bulk("v"))
        // Binary-safe values.
        XCTAssertEqual(c.callBytes([Array("SET".utf8), Array("b".utf8), [0, 1, 0xff, 13, 10]]), .simple("OK"))
        XCTAssertEqual(c.call("STRLEN", "b"), .integer(5))
    }

    func testSetConditions() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SET", "k", "v", "XX"), .null)
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        XCTAssertEqual(c.call("SET", "k", "v", "NX"), .simple("OK"))
        XCTAssertEqual(c.call("SET", "k", "w", "NX"), .null)
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
        XCTAssertEqual(c.call("SET", "k", "w", "XX"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("w"))
        // Repeating the same condition is accepted.
        XCTAssertEqual(c.call("SET", "k", "x", "XX", "XX"), .simple("OK"))
        XCTAssertEqual(c.call("SET", "k", "x", "NX", "NX"), .null)
        // Options are case-insensitive.
        XCTAssertEqual(c.call("set", "k", "y", "xx"), .simple("OK"))
    }

    func testSetGetOption() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SET", "k", "v", "GET"), .null)
        XCTAssertEqual(c.call("SET", "k", "w", "GET"), .bulk("v"))
        XCTAssertEqual(c.call("SET", "k", "x", "GET", "GET"), .bulk("w"))
        // Redis 7.0 allows NX together with GET: the old value comes back and nothing is set.
        XCTAssertEqual(c.call("SET", "k", "y", "GET", "NX"), .bulk("x"))
        XCTAssertEqual(c.call("SET", "k", "y", "NX", "GET"), .bulk("x"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("x"))
        XCTAssertEqual(c.call("SET", "new", "y", "NX", "GET"), .null)
        XCTAssertEqual(c.call("GET", "new"), .bulk("y"))
        XCTAssertEqual(c.call("SET", "none", "y", "XX", "GET"), .null)
        XCTAssertEqual(c.call("EXISTS", "none"), .integer(0))
        // GET on a non-string is an error and the value is left alone.
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("SET", "l", "v", "GET"), wrongType)
        XCTAssertEqual(c.call("TYPE", "l"), .simple("list"))
    }

    func testSetExpiryOptions() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "100"), .simple("OK"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(100))
        XCTAssertEqual(c.call("SET", "k", "v", "PX", "100000"), .simple("OK"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(100))
        let future = Int(Date().timeIntervalSince1970) + 1000
        XCTAssertEqual(c.call("SET", "k", "v", "EXAT", String(future)), .simple("OK"))
        XCTAssertEqual(c.call("EXPIRETIME", "k"), .integer(future))
        XCTAssertEqual(c.call("SET", "k", "v", "PXAT", String(future * 1000 + 1)), .simple("OK"))
        XCTAssertEqual(c.call("PEXPIRETIME", "k"), .integer(future * 1000 + 1))
        // KEEPTTL keeps it, a plain SET (even XX) clears it.
        XCTAssertEqual(c.call("SET", "k", "v2", "KEEPTTL"), .simple("OK"))
        XCTAssertEqual(c.call("PEXPIRETIME", "k"), .integer(future * 1000 + 1))
        XCTAssertEqual(c.call("SET", "k", "v3", "XX"), .simple("OK"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(-1))
        // A PXAT in the past stores an already expired key.
        XCTAssertEqual(c.call("SET", "k", "v", "PXAT", "1"), .simple("OK"))
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        // The largest PXAT is accepted (no overflow).
        XCTAssertEqual(c.call("SET", "k", "v", "PXAT", "9223372036854775807"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
    }

    func testSetOptionErrors() {
        let c = TestServer().client()
        let invalid = Reply.error("ERR invalid expire time in 'set' command")
        XCTAssertEqual(c.call("SET", "k", "v", "NX", "XX"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "XX", "NX"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "10", "PX", "100"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "PX", "100", "EX", "20"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "KEEPTTL", "EX", "10"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "10", "KEEPTTL"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "EX"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "foo"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "x"), notInteger)
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "1.5"), notInteger)
        // A syntax error anywhere wins over a bad number.
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "abc", "NX", "XX"), syntax)
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "0"), invalid)
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "-1"), invalid)
        XCTAssertEqual(c.call("SET", "k", "v", "PX", "0"), invalid)
        XCTAssertEqual(c.call("SET", "k", "v", "EXAT", "0"), invalid)
        XCTAssertEqual(c.call("SET", "k", "v", "PXAT", "-5"), invalid)
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "9223372036854775807"), invalid)
        XCTAssertEqual(c.call("SET", "k", "v", "PX", "9223372036854775807"), invalid)
        XCTAssertEqual(c.call("SET", "k", "v", "EXAT", "9223372036854775807"), invalid)
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
    }

    func testSetnxSetexPsetex() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SETNX", "k", "a"), .integer(1))
        XCTAssertEqual(c.call("SETNX", "k", "b"), .integer(0))
        XCTAssertEqual(c.call("GET", "k"), .bulk("a"))
        XCTAssertEqual(c.call("SETEX", "k", "100", "v"), .simple("OK"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(100))
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
        XCTAssertEqual(c.call("PSETEX", "k", "100000", "w"), .simple("OK"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(100))
        XCTAssertEqual(c.call("SETEX", "k", "0", "v"), .error("ERR invalid expire time in 'setex' command"))
        XCTAssertEqual(c.call("SETEX", "k", "-5", "v"), .error("ERR invalid expire time in 'setex' command"))
        XCTAssertEqual(c.call("PSETEX", "k", "0", "v"), .error("ERR invalid expire time in 'psetex' command"))
        XCTAssertEqual(c.call("SETEX", "k", "abc", "v"), notInteger)
        XCTAssertEqual(c.call("SETEX", "k", "10"), .error("ERR wrong number of arguments for 'setex' command"))
        // SETNX on a key of another type: it exists.
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("SETNX", "l", "x"), .integer(0))
    }

    func testGetsetGetdel() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("GETSET", "k", "a"), .null)
        XCTAssertEqual(c.call("GETSET", "k", "b"), .bulk("a"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("b"))
        // GETSET clears the TTL.
        c.call("EXPIRE", "k", "100")
        XCTAssertEqual(c.call("GETSET", "k", "c"), .bulk("b"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(-1))
        XCTAssertEqual(c.call("GETDEL", "k"), .bulk("c"))
        XCTAssertEqual(c.call("GETDEL", "k"), .null)
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("GETSET", "l", "x"), wrongType)
        XCTAssertEqual(c.call("GETDEL", "l"), wrongType)
        XCTAssertEqual(c.call("TYPE", "l"), .simple("list"))
    }

    func testGetexAndPersist() {
        let c = TestServer().client()
        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("GETEX", "k"), .bulk("v"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(-1))
        XCTAssertEqual(c.call("GETEX", "k", "EX", "100"), .bulk("v"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(100))
        XCTAssertEqual(c.call("GETEX", "k", "PX", "50000"), .bulk("v"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(50))
        XCTAssertEqual(c.call("GETEX", "k", "PERSIST"), .bulk("v"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(-1))
        // PERSIST on a key without TTL is harmless.
        XCTAssertEqual(c.call("GETEX", "k", "persist"), .bulk("v"))
        let future = Int(Date().timeIntervalSince1970) + 500
        XCTAssertEqual(c.call("GETEX", "k", "EXAT", String(future)), .bulk("v"))
        XCTAssertEqual(c.call("EXPIRETIME", "k"), .integer(future))
        // An absolute time in the past deletes the key but still returns the value.
        XCTAssertEqual(c.call("GETEX", "k", "PXAT", "1"), .bulk("v"))
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("GETEX", "k", "EXAT", "1"), .bulk("v"))
        XCTAssertEqual(c.call("EXISTS", "k"), .integer(0))
        XCTAssertEqual(c.call("GETEX", "missing", "EX", "10"), .null)
        XCTAssertEqual(c.call("EXISTS", "missing"), .integer(0))

        c.call("SET", "k", "v")
        XCTAssertEqual(c.call("GETEX", "k", "EX", "10", "PERSIST"), syntax)
        XCTAssertEqual(c.call("GETEX", "k", "PERSIST", "EX", "10"), syntax)
        XCTAssertEqual(c.call("GETEX", "k", "EX", "10", "PX", "10"), syntax)
        XCTAssertEqual(c.call("GETEX", "k", "NX"), syntax)
        XCTAssertEqual(c.call("GETEX", "k", "KEEPTTL"), syntax)
        XCTAssertEqual(c.call("GETEX", "k", "GET"), syntax)
        XCTAssertEqual(c.call("GETEX", "k", "EX"), syntax)
        XCTAssertEqual(c.call("GETEX", "missing", "foo"), syntax)
        XCTAssertEqual(c.call("GETEX", "k", "EX", "0"), .error("ERR invalid expire time in 'getex' command"))
        XCTAssertEqual(c.call("GETEX", "k", "EX", "-1"), .error("ERR invalid expire time in 'getex' command"))
        XCTAssertEqual(c.call("GETEX", "k", "PX", "abc"), notInteger)
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("GETEX", "l"), wrongType)
        XCTAssertEqual(c.call("GETEX", "l", "EX", "10"), wrongType)
        XCTAssertEqual(c.call("TTL", "l"), .integer(-1))

        XCTAssertEqual(c.call("EXPIRE", "k", "100"), .integer(1))
        XCTAssertEqual(c.call("PERSIST", "k"), .integer(1))
        XCTAssertEqual(c.call("PERSIST", "k"), .integer(0))
        XCTAssertEqual(c.call("TTL", "k"), .integer(-1))
        XCTAssertEqual(c.call("PERSIST", "missing"), .integer(0))
    }

    func testMgetMsetMsetnx() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("MSET", "a", "1", "b", "2"), .simple("OK"))
        XCTAssertEqual(c.call("MSET", "a", "1", "b"), .error("ERR wrong number of arguments for 'mset' command"))
        XCTAssertEqual(c.call("MSET", "a"), .error("ERR wrong number of arguments for 'mset' command"))
        c.call("LPUSH", "l", "x")
        // MGET answers nil for keys of another type.
        XCTAssertEqual(c.call("MGET", "a", "l", "missing", "b"), .array([.bulk("1"), .null, .null, .bulk("2")]))
        XCTAssertEqual(c.call("MSETNX", "a", "9", "c", "3"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "c"), .integer(0))
        XCTAssertEqual(c.call("GET", "a"), .bulk("1"))
        XCTAssertEqual(c.call("MSETNX", "c", "3", "d", "4"), .integer(1))
        XCTAssertEqual(c.call("MGET", "c", "d"), bulks("3", "4"))
        XCTAssertEqual(c.call("MSETNX", "x", "1", "y"), .error("ERR wrong number of arguments for 'msetnx' command"))
        // A key of another type counts as existing.
        XCTAssertEqual(c.call("MSETNX", "l", "1", "e", "5"), .integer(0))
        // Later pairs win when a key repeats.
        XCTAssertEqual(c.call("MSET", "r", "1", "r", "2"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "r"), .bulk("2"))
        // MSET clears TTLs.
        c.call("EXPIRE", "a", "100")
        c.call("MSET", "a", "5")
        XCTAssertEqual(c.call("TTL", "a"), .integer(-1))
    }

    func testAppendStrlen() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("APPEND", "a", "hello"), .integer(5))
        XCTAssertEqual(c.call("APPEND", "a", " world"), .integer(11))
        XCTAssertEqual(c.call("GET", "a"), .bulk("hello world"))
        XCTAssertEqual(c.call("STRLEN", "a"), .integer(11))
        XCTAssertEqual(c.call("STRLEN", "missing"), .integer(0))
        XCTAssertEqual(c.call("APPEND", "e", ""), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "e"), .integer(1))
        // APPEND keeps the TTL.
        c.call("EXPIRE", "a", "100")
        c.call("APPEND", "a", "!")
        XCTAssertEqual(c.call("TTL", "a"), .integer(100))
        // A number is appended to as text.
        c.call("SET", "n", "12")
        XCTAssertEqual(c.call("APPEND", "n", "3"), .integer(3))
        XCTAssertEqual(c.call("INCR", "n"), .integer(124))
        c.call("LPUSH", "l", "x")
        XCTAssertEqual(c.call("APPEND", "l", "x"), wrongType)
        XCTAssertEqual(c.call("STRLEN", "l"), wrongType)
    }

    func testGetrangeNegativeIndexes() {
        let c = TestServer().client()
        c.call("SET", "s", "Hello World")
        XCTAssertEqual(c.call("GETRANGE", "s", "0", "4"), .bulk("Hello"))
        XCTAssertEqual(c.call("GETRANGE", "s", "-5", "-1"), .bulk("World"))
        XCTAssertEqual(c.call("GETRANGE", "s", "-1", "-5"), .bulk(""))
        XCTAssertEqual(c.call("GETRANGE", "s", "5", "3"), .bulk(""))
        XCTAssertEqual(c.call("GETRANGE", "s", "0", "-100"), .bulk("H"))
        XCTAssertEqual(c.call("GETRANGE", "s", "-100", "-100"), .bulk("H"))
        XCTAssertEqual(c.call("GETRANGE", "s", "-100", "2"), .bulk("Hel"))
        XCTAssertEqual(c.call("GETRANGE", "s", "0", "100"), .bulk("Hello World"))
        XCTAssertEqual(c.call("GETRANGE", "s", "0", "-1"), .bulk("Hello World"))
        XCTAssertEqual(c.call("GETRANGE", "s", "100", "200"), .bulk(""))
        XCTAssertEqual(c.call("GETRANGE", "s", "a", "1"), notInteger)
        XCTAssertEqual(c.call("GETRANGE", "s", "0", "b"), notInteger)
        XCTAssertEqual(c.call("GETRANGE", "missing", "0", "-1"), .bulk(""))
        XCTAssertEqual(c.call("SUBSTR", "s", "0", "2"), .bulk("Hel"))
        c.call("SET", "e", "")
        XCTAssertEqual(c.call("GETRANGE", "e", "0", "-1"), .bulk(""))
        XCTAssertEqual(c.call("GETRANGE", "e", "-1", "0"), .bulk(""))
        c.call("LPUSH", "l", "x")
        XCTAssertEqual(c.call("GETRANGE", "l", "0", "1"), wrongType)
    }

    func testSetrange() {
        let c = TestServer().client()
        c.call("SET", "s", "Hello World")
        XCTAssertEqual(c.call("SETRANGE", "s", "6", "Redis"), .integer(11))
        XCTAssertEqual(c.call("GET", "s"), .bulk("Hello Redis"))
        XCTAssertEqual(c.call("SETRANGE", "s", "9", "xyz"), .integer(12))
        XCTAssertEqual(c.call("GET", "s"), .bulk("Hello Redxyz"))
        // Gaps are zero-padded.
        XCTAssertEqual(c.call("SETRANGE", "n", "3", "ab"), .integer(5))
        XCTAssertEqual(c.call("GET", "n"), .bulk("\0\0\0ab"))
        // An empty patch never creates the key and reports the current length.
        XCTAssertEqual(c.call("SETRANGE", "z", "0", ""), .integer(0))
        XCTAssertEqual(c.call("SETRANGE", "z", "5", ""), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "z"), .integer(0))
        XCTAssertEqual(c.call("SETRANGE", "s", "0", ""), .integer(12))
        XCTAssertEqual(c.call("SETRANGE", "s", "-1", "x"), .error("ERR offset is out of range"))
        XCTAssertEqual(c.call("SETRANGE", "s", "abc", "x"), notInteger)
        XCTAssertEqual(c.call("SETRANGE", "s", "536870912", "x"),
                       .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        c.call("LPUSH", "l", "x")
        XCTAssertEqual(c.call("SETRANGE", "l", "0", "x"), wrongType)
        XCTAssertEqual(c.call("SETRANGE", "l", "0", ""), wrongType)
        // SETRANGE keeps the TTL.
        c.call("EXPIRE", "s", "100")
        c.call("SETRANGE", "s", "0", "J")
        XCTAssertEqual(c.call("TTL", "s"), .integer(100))
    }

    func testIncrDecr() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("INCR", "n"), .integer(1))
        XCTAssertEqual(c.call("INCRBY", "n", "10"), .integer(11))
        XCTAssertEqual(c.call("DECR", "n"), .integer(10))
        XCTAssertEqual(c.call("DECRBY", "n", "20"), .integer(-10))
        XCTAssertEqual(c.call("INCRBY", "n", "-5"), .integer(-15))
        XCTAssertEqual(c.call("GET", "n"), .bulk("-15"))
        XCTAssertEqual(c.call("DECR", "m"), .integer(-1))
        // The TTL survives increments.
        c.call("SET", "t", "10", "EX", "100")
        XCTAssertEqual(c.call("INCR", "t"), .integer(11))
        XCTAssertEqual(c.call("TTL", "t"), .integer(100))
        XCTAssertEqual(c.call("INCRBY", "n", "abc"), notInteger)
        XCTAssertEqual(c.call("INCRBY", "n", "9223372036854775808"), notInteger)
        for bad in [" 1", "1.5", "01", "", "abc", "1 "] {
            c.call("SET", "bad", bad)
            XCTAssertEqual(c.call("INCR", "bad"), notInteger, "INCR of \(bad.debugDescription)")
        }
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("INCR", "l"), wrongType)
        XCTAssertEqual(c.call("DECRBY", "l", "1"), wrongType)
    }

    func testIncrOverflow() {
        let c = TestServer().client()
        let overflow = Reply.error("ERR increment or decrement would overflow")
        c.call("SET", "n", "9223372036854775807")
        XCTAssertEqual(c.call("INCR", "n"), overflow)
        XCTAssertEqual(c.call("INCRBY", "n", "1"), overflow)
        XCTAssertEqual(c.call("GET", "n"), .bulk("9223372036854775807"))
        XCTAssertEqual(c.call("DECR", "n"), .integer(9223372036854775806))
        c.call("SET", "n", "-9223372036854775808")
        XCTAssertEqual(c.call("DECR", "n"), overflow)
        XCTAssertEqual(c.call("INCRBY", "n", "-1"), overflow)
        XCTAssertEqual(c.call("DECRBY", "n", "-9223372036854775808"), .error("ERR decrement would overflow"))
        c.call("SET", "z", "0")
        XCTAssertEqual(c.call("DECRBY", "z", "-9223372036854775808"), .error("ERR decrement would overflow"))
        XCTAssertEqual(c.call("INCRBY", "z", "-9223372036854775808"), .integer(-9223372036854775808))
    }

    func testIncrbyfloat() {
        let c = TestServer().client()
        c.call("SET", "f", "10.5")
        XCTAssertEqual(c.call("INCRBYFLOAT", "f", "-1.1"), .bulk("9.4"))
        XCTAssertEqual(c.call("GET", "f"), .bulk("9.4"))
        c.call("SET", "f", "5.0e3")
        XCTAssertEqual(c.call("INCRBYFLOAT", "f", "2.0e2"), .bulk("5200"))
        XCTAssertEqual(c.call("INCRBYFLOAT", "g", "3"), .bulk("3"))
        XCTAssertEqual(c.call("INCRBYFLOAT", "g", "0.1"), .bulk("3.1"))
        XCTAssertEqual(c.call("INCRBYFLOAT", "h", "1.0"), .bulk("1"))
        XCTAssertEqual(c.call("INCRBYFLOAT", "x", "-0.0"), .bulk("0"))
        XCTAssertEqual(c.call("INCRBYFLOAT", "y", "1.23456789012345678901234567890"), .bulk("1.23456789012345679"))
        // The TTL survives.
        c.call("SET", "t", "10", "EX", "100")
        XCTAssertEqual(c.call("INCRBYFLOAT", "t", "1"), .bulk("11"))
        XCTAssertEqual(c.call("TTL", "t"), .integer(100))
        let notFloat = Reply.error("ERR value is not a valid float")
        c.call("SET", "s", "abc")
        XCTAssertEqual(c.call("INCRBYFLOAT", "s", "1"), notFloat)
        XCTAssertEqual(c.call("INCRBYFLOAT", "g", "abc"), notFloat)
        XCTAssertEqual(c.call("INCRBYFLOAT", "g", "nan"), notFloat)
        XCTAssertEqual(c.call("INCRBYFLOAT", "g", " 1"), notFloat)
        XCTAssertEqual(c.call("INCRBYFLOAT", "g", "inf"), .error("ERR increment would produce NaN or Infinity"))
        XCTAssertEqual(c.call("GET", "g"), .bulk("3.1"))
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("INCRBYFLOAT", "l", "1"), wrongType)
    }

    func testLcs() {
        let c = TestServer().client()
        c.call("SET", "k1", "ohmytext")
        c.call("SET", "k2", "mynewtext")
        XCTAssertEqual(c.call("LCS", "k1", "k2"), .bulk("mytext"))
        XCTAssertEqual(c.call("LCS", "k1", "k2", "LEN"), .integer(6))
        func range(_ a: Int, _ b: Int) -> Reply { .array([.integer(a), .integer(b)]) }
        XCTAssertEqual(c.call("LCS", "k1", "k2", "IDX"), .array([
            .bulk("matches"), .array([
                .array([range(4, 7), range(5, 8)]),
                .array([range(2, 3), range(0, 1)]),
            ]),
            .bulk("len"), .integer(6),
        ]))
        XCTAssertEqual(c.call("LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4"), .array([
            .bulk("matches"), .array([.array([range(4, 7), range(5, 8)])]),
            .bulk("len"), .integer(6),
        ]))
        XCTAssertEqual(c.call("LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"), .array([
            .bulk("matches"), .array([.array([range(4, 7), range(5, 8), .integer(4)])]),
            .bulk("len"), .integer(6),
        ]))
        XCTAssertEqual(c.call("LCS", "k1", "k2", "IDX", "MINMATCHLEN", "-5", "WITHMATCHLEN"), .array([
            .bulk("matches"), .array([
                .array([range(4, 7), range(5, 8), .integer(4)]),
                .array([range(2, 3), range(0, 1), .integer(2)]),
            ]),
            .bulk("len"), .integer(6),
        ]))
        XCTAssertEqual(c.call("LCS", "k1", "k2", "LEN", "IDX"),
                       .error("ERR If you want both the length and indexes, please just use IDX."))
        XCTAssertEqual(c.call("LCS", "k1", "k2", "MINMATCHLEN", "x"), notInteger)
        XCTAssertEqual(c.call("LCS", "k1", "k2", "MINMATCHLEN"), syntax)
        XCTAssertEqual(c.call("LCS", "k1", "k2", "foo"), syntax)
        XCTAssertEqual(c.call("LCS", "k1", "missing"), .bulk(""))
        XCTAssertEqual(c.call("LCS", "k1", "missing", "IDX"), .array([.bulk("matches"), .array([]), .bulk("len"), .integer(0)]))
        XCTAssertEqual(c.call("LCS", "missing", "missing2", "LEN"), .integer(0))
        c.call("LPUSH", "l", "x")
        XCTAssertEqual(c.call("LCS", "k1", "l"), .error("ERR The specified keys must contain string values"))
        // RESP3: the IDX reply is a map.
        let c3 = c.server.client(proto: .resp3)
        XCTAssertEqual(c3.call("LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4"), .map([
            .bulk("matches"), .array([.array([range(4, 7), range(5, 8)])]),
            .bulk("len"), .integer(6),
        ]))
    }
}
