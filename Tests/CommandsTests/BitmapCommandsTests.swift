import XCTest
@testable import Commands

/// SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP against Redis 7.0 (checked with redis-server 7.0.15).
final class BitmapCommandsTests: XCTestCase {
    let wrongType = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    let notInteger = Reply.error("ERR value is not an integer or out of range")
    let syntax = Reply.error("ERR syntax error")

    /// Stores raw bytes (the harness's `call` only takes text).
    private func setBytes(_ c: TestClient, _ key: String, _ bytes: [UInt8]) {
        XCTAssertEqual(c.callBytes([Array("SET".utf8), Array(key.utf8), bytes]), .simple("OK"))
    }

    func testSetbitGetbit() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SETBIT", "b", "7", "1"), .integer(0))
        XCTAssertEqual(c.call("SETBIT", "b", "7", "1"), .integer(1))
        XCTAssertEqual(c.call("GET", "b"), .bulk("\u{1}"))
        XCTAssertEqual(c.call("SETBIT", "b", "1", "1"), .integer(0))
        XCTAssertEqual(c.call("GET", "b"), .bulk("A"))   // 0x41
        XCTAssertEqual(c.call("SETBIT", "b", "7", "0"), .integer(1))
        XCTAssertEqual(c.call("GET", "b"), .bulk("@"))
        XCTAssertEqual(c.call("GETBIT", "b", "1"), .integer(1))
        XCTAssertEqual(c.call("GETBIT", "b", "7"), .integer(0))
        XCTAssertEqual(c.call("GETBIT", "b", "100"), .integer(0))
        XCTAssertEqual(c.call("GETBIT", "missing", "0"), .integer(0))
        // Growing pads with zero bytes and keeps the TTL.
        c.call("EXPIRE", "b", "100")
        XCTAssertEqual(c.call("SETBIT", "b", "20", "1"), .integer(0))
        XCTAssertEqual(c.call("STRLEN", "b"), .integer(3))
        XCTAssertEqual(c.call("TTL", "b"), .integer(100))
        XCTAssertEqual(c.call("GETBIT", "b", "20"), .integer(1))
        // Clearing a bit of a missing key still creates it.
        XCTAssertEqual(c.call("SETBIT", "z", "9", "0"), .integer(0))
        XCTAssertEqual(c.call("STRLEN", "z"), .integer(2))

        let badOffset = Reply.error("ERR bit offset is not an integer or out of range")
        XCTAssertEqual(c.call("SETBIT", "b", "-1", "1"), badOffset)
        XCTAssertEqual(c.call("SETBIT", "b", "4294967296", "1"), badOffset)
        XCTAssertEqual(c.call("SETBIT", "b", "x", "1"), badOffset)
        XCTAssertEqual(c.call("GETBIT", "b", "-1"), badOffset)
        XCTAssertEqual(c.call("GETBIT", "b", "x"), badOffset)
        XCTAssertEqual(c.call("GETBIT", "b", "4294967295"), .integer(0))
        let badBit = Reply.error("ERR bit is not an integer or out of range")
        XCTAssertEqual(c.call("SETBIT", "b", "0", "2"), badBit)
        XCTAssertEqual(c.call("SETBIT", "b", "0", "x"), badBit)
        XCTAssertEqual(c.call("SETBIT", "b", "0", "-1"), badBit)
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("SETBIT", "l", "0", "1"), wrongType)
        XCTAssertEqual(c.call("GETBIT", "l", "0"), wrongType)
    }

    func testBitcount() {
        let c = TestServer().client()
        c.call("SET", "s", "foobar")
        XCTAssertEqual(c.call("BITCOUNT", "s"), .integer(26))
        XCTAssertEqual(c.call("BITCOUNT", "s", "0", "0"), .integer(4))
        XCTAssertEqual(c.call("BITCOUNT", "s", "1", "1"), .integer(6))
        XCTAssertEqual(c.call("BITCOUNT", "s", "1", "1", "BYTE"), .integer(6))
        XCTAssertEqual(c.call("BITCOUNT", "s", "1", "1", "byte"), .integer(6))
        XCTAssertEqual(c.call("BITCOUNT", "s", "5", "30", "BIT"), .integer(17))
        XCTAssertEqual(c.call("BITCOUNT", "s", "0", "-1", "BIT"), .integer(26))
        XCTAssertEqual(c.call("BITCOUNT", "s", "-2", "-1"), .integer(7))
        XCTAssertEqual(c.call("BITCOUNT", "s", "-100", "100"), .integer(26))
        XCTAssertEqual(c.call("BITCOUNT", "s", "3", "1"), .integer(0))
        XCTAssertEqual(c.call("BITCOUNT", "missing"), .integer(0))
        XCTAssertEqual(c.call("BITCOUNT", "missing", "0", "1"), .integer(0))

        setBytes(c, "b", [0xff, 0xf0, 0x00])
        XCTAssertEqual(c.call("BITCOUNT", "b", "1", "-1", "BIT"), .integer(11))
        XCTAssertEqual(c.call("BITCOUNT", "b", "0", "0", "bit"), .integer(1))
        XCTAssertEqual(c.call("BITCOUNT", "b", "4", "11", "BIT"), .integer(8))
        XCTAssertEqual(c.call("BITCOUNT", "b", "-12", "-1", "BIT"), .integer(0))
        XCTAssertEqual(c.call("BITCOUNT", "b", "-3", "-2"), .integer(12))

        XCTAssertEqual(c.call("BITCOUNT", "s", "0"), syntax)
        XCTAssertEqual(c.call("BITCOUNT", "s", "0", "1", "FOO"), syntax)
        XCTAssertEqual(c.call("BITCOUNT", "s", "0", "1", "BIT", "extra"), syntax)
        XCTAssertEqual(c.call("BITCOUNT", "s", "a", "b"), notInteger)
        XCTAssertEqual(c.call("BITCOUNT", "s", "0", "b"), notInteger)
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("BITCOUNT", "l"), wrongType)
    }

    func testBitpos() {
        let c = TestServer().client()
        setBytes(c, "s", [0xff, 0xf0, 0x00])
        XCTAssertEqual(c.call("BITPOS", "s", "0"), .integer(12))
        XCTAssertEqual(c.call("BITPOS", "s", "1"), .integer(0))
        XCTAssertEqual(c.call("BITPOS", "s", "0", "2"), .integer(16))
        XCTAssertEqual(c.call("BITPOS", "s", "1", "2"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "s", "1", "1"), .integer(8))
        XCTAssertEqual(c.call("BITPOS", "s", "0", "0", "0"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "s", "0", "0", "-1"), .integer(12))
        XCTAssertEqual(c.call("BITPOS", "s", "0", "-3"), .integer(12))
        XCTAssertEqual(c.call("BITPOS", "s", "1", "-1"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "s", "1", "5", "2"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "s", "1", "7", "15", "BIT"), .integer(7))
        XCTAssertEqual(c.call("BITPOS", "s", "0", "7", "15", "BIT"), .integer(12))
        XCTAssertEqual(c.call("BITPOS", "s", "0", "-1", "-1", "BIT"), .integer(23))
        XCTAssertEqual(c.call("BITPOS", "s", "0", "20", "18", "BIT"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "s", "1", "12", "-1", "BIT"), .integer(-1))

        // All ones: without an end the string counts as padded with zeros.
        setBytes(c, "f", [0xff, 0xff])
        XCTAssertEqual(c.call("BITPOS", "f", "0"), .integer(16))
        XCTAssertEqual(c.call("BITPOS", "f", "0", "0"), .integer(16))
        XCTAssertEqual(c.call("BITPOS", "f", "0", "0", "-1"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "f", "0", "0", "1", "BYTE"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "f", "0", "0", "15", "BIT"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "f", "0", "2"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "f", "1", "2"), .integer(-1))
        setBytes(c, "z", [0, 0])
        XCTAssertEqual(c.call("BITPOS", "z", "1"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "z", "0"), .integer(0))

        XCTAssertEqual(c.call("BITPOS", "missing", "1"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "missing", "0"), .integer(0))
        XCTAssertEqual(c.call("BITPOS", "missing", "1", "0", "1", "FOO"), .integer(-1))

        let badBit = Reply.error("ERR The bit argument must be 1 or 0.")
        XCTAssertEqual(c.call("BITPOS", "s", "2"), badBit)
        XCTAssertEqual(c.call("BITPOS", "missing", "2"), badBit)
        XCTAssertEqual(c.call("BITPOS", "s", "1", "a"), notInteger)
        XCTAssertEqual(c.call("BITPOS", "s", "1", "0", "b"), notInteger)
        XCTAssertEqual(c.call("BITPOS", "s", "1", "0", "-1", "FOO"), syntax)
        XCTAssertEqual(c.call("BITPOS", "s", "1", "0", "1", "BIT", "x"), syntax)
        c.call("LPUSH", "l", "a")
        XCTAssertEqual(c.call("BITPOS", "l", "1"), wrongType)
    }

    func testBitop() {
        let c = TestServer().client()
        setBytes(c, "a", [0xff, 0x0f])
        setBytes(c, "b", [0x0f])
        XCTAssertEqual(c.call("BITOP", "AND", "d", "a", "b"), .integer(2))
        XCTAssertEqual(c.call("GETRANGE", "d", "0", "0"), .bulk("\u{0f}"))
        XCTAssertEqual(c.call("GETBIT", "d", "8"), .integer(0))
        XCTAssertEqual(c.call("BITCOUNT", "d"), .integer(4))
        XCTAssertEqual(c.call("BITOP", "or", "d", "a", "b"), .integer(2))
        XCTAssertEqual(c.call("BITCOUNT", "d"), .integer(12))
        XCTAssertEqual(c.call("BITOP", "XOR", "d", "a", "b"), .integer(2))
        XCTAssertEqual(c.call("BITCOUNT", "d"), .integer(8))
        XCTAssertEqual(c.call("BITPOS", "d", "1"), .integer(0))
        XCTAssertEqual(c.call("BITPOS", "d", "0"), .integer(4))
        XCTAssertEqual(c.call("BITOP", "NOT", "d", "a"), .integer(2))
        XCTAssertEqual(c.call("BITCOUNT", "d"), .integer(4))
        XCTAssertEqual(c.call("BITPOS", "d", "1"), .integer(8))
        // A missing source counts as zeros.
        XCTAssertEqual(c.call("BITOP", "AND", "d", "a", "missing"), .integer(2))
        XCTAssertEqual(c.call("BITCOUNT", "d"), .integer(0))
        XCTAssertEqual(c.call("STRLEN", "d"), .integer(2))
        XCTAssertEqual(c.call("BITOP", "OR", "d", "a"), .integer(2))
        XCTAssertEqual(c.call("BITCOUNT", "d"), .integer(12))
        // An empty result deletes the destination.
        XCTAssertEqual(c.call("BITOP", "AND", "d", "missing1", "missing2"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "d"), .integer(0))
        XCTAssertEqual(c.call("BITOP", "NOT", "d", "missing"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "d"), .integer(0))
        // The destination may hold any type (and loses its TTL).
        c.call("LPUSH", "dl", "x")
        c.call("EXPIRE", "dl", "100")
        XCTAssertEqual(c.call("BITOP", "NOT", "dl", "a"), .integer(2))
        XCTAssertEqual(c.call("TYPE", "dl"), .simple("string"))
        XCTAssertEqual(c.call("TTL", "dl"), .integer(-1))

        XCTAssertEqual(c.call("BITOP", "NOT", "d", "a", "b"), .error("ERR BITOP NOT must be called with a single source key."))
        XCTAssertEqual(c.call("BITOP", "foo", "d", "a"), syntax)
        XCTAssertEqual(c.call("BITOP", "AND", "d"), .error("ERR wrong number of arguments for 'bitop' command"))
        c.call("LPUSH", "l", "x")
        XCTAssertEqual(c.call("BITOP", "AND", "d", "a", "l"), wrongType)
    }
}
