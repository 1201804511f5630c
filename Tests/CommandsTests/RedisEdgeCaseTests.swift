import XCTest
@testable import Commands

/// Corner cases where an earlier Swiftlet differed from Redis 7.0; each test asserts what
/// redis-server 7.0.15 replies.
final class RedisEdgeCaseTests: XCTestCase {
    /// SET/GETEX accept the same expiry option twice (the last wins); only different ones clash.
    func testRepeatedExpiryOptionIsAccepted() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SET", "k", "v", "EX", "10", "EX", "20"), .simple("OK"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(20))
        XCTAssertEqual(c.call("SET", "k", "v", "KEEPTTL", "KEEPTTL"), .simple("OK"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(20))
        XCTAssertEqual(c.call("GETEX", "k", "EX", "10", "EX", "30"), .bulk("v"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(30))
        XCTAssertEqual(c.call("GETEX", "k", "PERSIST", "PERSIST"), .bulk("v"))
        XCTAssertEqual(c.call("TTL", "k"), .integer(-1))
    }

    /// Redis 7.0 answers 0 for a missing key before looking at the range arguments.
    func testBitcountOfMissingKeyIgnoresArguments() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("BITCOUNT", "missing", "0"), .integer(0))
        XCTAssertEqual(c.call("BITCOUNT", "missing", "a", "b"), .integer(0))
        XCTAssertEqual(c.call("BITCOUNT", "missing", "0", "1", "FOO"), .integer(0))
    }

    func testBitposArgumentErrors() {
        let c = TestServer().client()
        c.call("SET", "s", "abc")
        XCTAssertEqual(c.call("BITPOS", "s", "x"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(c.call("BITPOS", "missing", "0", "x"), .integer(0))
    }

    /// An existing empty string has no bit to find, clear or set.
    func testBitposOfEmptyString() {
        let c = TestServer().client()
        c.call("SET", "e", "")
        XCTAssertEqual(c.call("BITPOS", "e", "0"), .integer(-1))
        XCTAssertEqual(c.call("BITPOS", "e", "1"), .integer(-1))
    }

    /// EXPIRETIME rounds like TTL: (ms + 500) / 1000.
    func testExpiretimeRounds() {
        let c = TestServer().client()
        c.call("SET", "k", "v")
        c.call("PEXPIREAT", "k", "1999999999600")
        XCTAssertEqual(c.call("EXPIRETIME", "k"), .integer(2000000000))
    }

    /// The cursor is parsed with strtoul, which takes "-1".
    func testScanAcceptsNegativeCursor() {
        let c = TestServer().client()
        XCTAssertNotEqual(c.call("SCAN", "-1"), .error("ERR invalid cursor"))
    }

    /// Redis 7.0 stores every list as a quicklist (listpack lists arrived in 7.2).
    func testSmallListEncodingIsQuicklist() {
        let c = TestServer().client()
        c.call("RPUSH", "l", "a")
        XCTAssertEqual(c.call("OBJECT", "ENCODING", "l"), .bulk("quicklist"))
    }

    func testObjectHelpText() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("OBJECT", "HELP"), .array([
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ].map { Reply.simple($0) }))
    }

    /// FLUSHALL/FLUSHDB/SWAPDB only invalidate watched keys that existed.
    func testFlushDoesNotInvalidateWatchOfMissingKey() {
        let s = TestServer()
        let c = s.client(), other = s.client()
        for flush in [["FLUSHALL"], ["FLUSHDB"], ["SWAPDB", "0", "1"]] {
            c.call("WATCH", "nokey")
            other.call(flush)
            c.call("MULTI")
            c.call("PING")
            XCTAssertEqual(c.call("EXEC"), .array([.simple("PONG")]), "\(flush)")
        }
    }

    /// CLIENT REPLY OFF silences every reply, including arity and unknown-command errors.
    func testReplyOffSilencesDispatcherErrors() {
        let c = TestServer().client()
        c.call("CLIENT", "REPLY", "OFF")
        XCTAssertNil(c.call("GET", "a", "b"))
        XCTAssertNil(c.call("NOPE"))
        XCTAssertNil(c.call("SET", "k"))
        c.call("CLIENT", "REPLY", "ON")
    }

    /// COMMAND's subcommands have their own arity in Redis 7.0.
    func testCommandSubcommandArity() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "get"), .error("ERR wrong number of arguments for 'command|getkeys' command"))
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "ping"), .error("ERR wrong number of arguments for 'command|getkeys' command"))
        XCTAssertEqual(c.call("COMMAND", "GETKEYS"), .error("ERR wrong number of arguments for 'command|getkeys' command"))
        XCTAssertEqual(c.call("COMMAND", "COUNT", "x"), .error("ERR wrong number of arguments for 'command|count' command"))
    }

    /// COMMAND INFO of a subcommand names it in full.
    func testCommandInfoOfSubcommandNamesItInFull() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("COMMAND", "INFO", "config|get")?.elements.first?.elements.first, .bulk("config|get"))
    }
}
