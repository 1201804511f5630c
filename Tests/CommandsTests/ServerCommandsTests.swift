import XCTest
@testable import Commands

/// DBSIZE/FLUSHDB/FLUSHALL/SWAPDB/INFO/TIME/CONFIG/COMMAND/DEBUG/SHUTDOWN against Redis 7.0
/// (checked with redis-server 7.0.15).
final class ServerCommandsTests: XCTestCase {
    let syntax = Reply.error("ERR syntax error")

    func testDbsizeFlushdbFlushall() {
        let c = TestServer().client()
        c.call("MSET", "a", "1", "b", "2")
        c.call("SELECT", "1")
        c.call("SET", "c", "3")
        XCTAssertEqual(c.call("DBSIZE"), .integer(1))
        XCTAssertEqual(c.call("FLUSHDB"), .simple("OK"))
        XCTAssertEqual(c.call("DBSIZE"), .integer(0))
        c.call("SELECT", "0")
        XCTAssertEqual(c.call("DBSIZE"), .integer(2))
        XCTAssertEqual(c.call("FLUSHDB", "foo"), syntax)
        XCTAssertEqual(c.call("FLUSHDB", "sync", "extra"), syntax)
        XCTAssertEqual(c.call("FLUSHDB", "ASYNC"), .simple("OK"))
        XCTAssertEqual(c.call("DBSIZE"), .integer(0))
        c.call("SET", "a", "1")
        c.call("SELECT", "5")
        c.call("SET", "b", "1")
        XCTAssertEqual(c.call("FLUSHALL", "bar"), syntax)
        XCTAssertEqual(c.call("FLUSHALL", "SYNC"), .simple("OK"))
        XCTAssertEqual(c.call("DBSIZE"), .integer(0))
        c.call("SELECT", "0")
        XCTAssertEqual(c.call("DBSIZE"), .integer(0))
        XCTAssertEqual(c.call("DBSIZE", "x"), .error("ERR wrong number of arguments for 'dbsize' command"))
    }

    /// Redis's DEBUG POPULATE: prefix:N = value:N, padded with zero bytes or cut to a size,
    /// existing keys untouched.
    func testDebugPopulate() {
        let s = TestServer()
        let c = s.client()
        c.call("SET", "key:1", "mine")
        XCTAssertEqual(c.call("DEBUG", "POPULATE", "3"), .simple("OK"))
        XCTAssertEqual(c.call("DBSIZE"), .integer(3))
        XCTAssertEqual(c.call("MGET", "key:0", "key:1", "key:2"), bulks("value:0", "mine", "value:2"))
        XCTAssertEqual(c.call("DEBUG", "POPULATE", "2", "p", "10"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "p:1"), .bulk("value:1\0\0\0"))
        XCTAssertEqual(c.call("DEBUG", "POPULATE", "1", "q", "3"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "q:0"), .bulk("val"))
        XCTAssertEqual(c.call("DEBUG", "POPULATE", "-1"), .error("ERR value is out of range, must be positive"))
    }

    func testSwapdb() {
        let s = TestServer()
        let c = s.client()
        let other = s.client()
        c.call("SET", "x0", "a")
        c.call("SELECT", "3")
        c.call("SET", "x3", "b")
        c.call("EXPIRE", "x3", "100")
        XCTAssertEqual(c.call("SWAPDB", "0", "3"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "x3"), .null)
        XCTAssertEqual(c.call("GET", "x0"), .bulk("a"))
        // Other clients see the swap too, with TTLs.
        XCTAssertEqual(other.call("GET", "x3"), .bulk("b"))
        XCTAssertEqual(other.call("TTL", "x3"), .integer(100))
        XCTAssertEqual(c.call("SWAPDB", "0", "0"), .simple("OK"))
        XCTAssertEqual(other.call("GET", "x3"), .bulk("b"))
        XCTAssertEqual(c.call("SWAPDB", "0", "16"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("SWAPDB", "-1", "1"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("SWAPDB", "a", "1"), .error("ERR invalid first DB index"))
        XCTAssertEqual(c.call("SWAPDB", "1", "b"), .error("ERR invalid second DB index"))
    }

    func testInfoTimeLastsave() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("INFO"), .bulk("# Server\r\nredis_version:7.0.15\r\n"))
        XCTAssertEqual(c.call("LASTSAVE"), .integer(0))
        guard let t = c.call("TIME"), t.elements.count == 2,
              let secs = t.elements[0].string.flatMap({ Int($0) }), let micros = t.elements[1].string.flatMap({ Int($0) }) else {
            return XCTFail("TIME reply")
        }
        XCTAssertLessThan(abs(secs - Int(Date().timeIntervalSince1970)), 5)
        XCTAssertTrue((0..<1_000_000).contains(micros))
        XCTAssertEqual(c.call("TIME", "x"), .error("ERR wrong number of arguments for 'time' command"))
    }

    func testConfigGetSet() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("CONFIG", "GET", "port"), bulks("port", "6379"))
        XCTAssertEqual(c.call("CONFIG", "GET", "nomatch*"), .array([]))
        XCTAssertEqual(c.call("CONFIG", "SET", "maxmemory", "100mb"), .simple("OK"))
        XCTAssertEqual(s.hooks.config["maxmemory"], "100mb")
        XCTAssertEqual(c.call("CONFIG", "GET", "maxmemory"), bulks("maxmemory", "100mb"))
        // Names are case-insensitive; several pairs at once.
        XCTAssertEqual(c.call("CONFIG", "SET", "Timeout", "5", "hz", "20"), .simple("OK"))
        XCTAssertEqual(s.hooks.config["timeout"], "5")
        XCTAssertEqual(s.hooks.config["hz"], "20")
        XCTAssertEqual(c.call("CONFIG", "SET", "maxmemory", "1", "MAXMEMORY", "2"),
                       .error("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"))
        XCTAssertEqual(s.hooks.config["maxmemory"], "100mb")
        XCTAssertEqual(c.call("CONFIG", "SET", "a"), .error("ERR wrong number of arguments for 'config|set' command"))
        XCTAssertEqual(c.call("CONFIG", "SET", "a", "1", "b"), .error("ERR wrong number of arguments for 'config|set' command"))
        XCTAssertEqual(c.call("CONFIG", "GET"), .error("ERR wrong number of arguments for 'config|get' command"))
        XCTAssertEqual(c.call("CONFIG", "foo"), .error("ERR unknown subcommand 'foo'. Try CONFIG HELP."))
        XCTAssertEqual(c.call("CONFIG", "REWRITE"), .error("ERR The server is running without a config file"))
        XCTAssertEqual(c.call("CONFIG", "RESETSTAT"), .simple("OK"))
        // RESP3: CONFIG GET is a map.
        let c3 = s.client(proto: .resp3)
        XCTAssertEqual(c3.call("CONFIG", "GET", "hz"), .map([.bulk("hz"), .bulk("20")]))
    }

    func testCommandCountListInfo() {
        let s = TestServer()
        let c = s.client()
        let table = s.runtime.table
        XCTAssertEqual(c.call("COMMAND", "COUNT"), .integer(table.commands.count))
        guard let all = c.call("COMMAND") else { return XCTFail("COMMAND") }
        XCTAssertEqual(all.elements.count, table.commands.count)

        let list = c.call("COMMAND", "LIST")?.elements.compactMap(\.string) ?? []
        XCTAssertTrue(list.contains("get"))
        XCTAssertTrue(list.contains("config|get"))
        XCTAssertTrue(list.contains("client|setname"))
        XCTAssertEqual(list.count, table.commands.count + table.commands.values.reduce(0) { $0 + $1.subcommands.count })
        XCTAssertEqual(c.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "xx*"), .array([]))
        XCTAssertEqual(Set(c.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "get*")?.elements.compactMap(\.string) ?? []),
                       ["get", "getbit", "getdel", "getex", "getrange", "getset"])
        XCTAssertEqual(c.call("COMMAND", "LIST", "foo"), syntax)
        XCTAssertEqual(c.call("COMMAND", "foo"), .error("ERR unknown subcommand 'foo'. Try COMMAND HELP."))

        // COMMAND INFO: name, arity, flags, first, last, step, ACL categories, tips, key specs, subcommands.
        guard let info = c.call("COMMAND", "INFO", "get", "nope", "config|get", "MSET") else { return XCTFail("COMMAND INFO") }
        XCTAssertEqual(info.elements.count, 4)
        let get = info.elements[0].elements
        XCTAssertEqual(get.count, 10)
        XCTAssertEqual(get[0], .bulk("get"))
        XCTAssertEqual(get[1], .integer(2))
        XCTAssertEqual(Set(get[2].elements.compactMap(\.string)), ["readonly", "fast"])
        XCTAssertEqual(Array(get[3...5]), [.integer(1), .integer(1), .integer(1)])
        XCTAssertEqual(Set(get[6].elements.compactMap(\.string)), ["@read", "@string", "@fast"])
        XCTAssertEqual(get[9], .array([]))
        XCTAssertEqual(info.elements[1], .nullArray)
        let configGet = info.elements[2].elements
        XCTAssertEqual(configGet[1], .integer(-3))
        let mset = info.elements[3].elements
        XCTAssertEqual(mset.first, .bulk("mset"))
        XCTAssertEqual(mset[1], .integer(-3))
        XCTAssertEqual(Array(mset[3...5]), [.integer(1), .integer(-1), .integer(2)])
        // A container lists its subcommands in the last field.
        let config = c.call("COMMAND", "INFO", "config")?.elements.first?.elements ?? []
        XCTAssertEqual(Set(config.last?.elements.compactMap { $0.elements.first?.string } ?? []),
                       ["config|get", "config|set", "config|resetstat", "config|rewrite", "config|help"])
        XCTAssertEqual(c.call("COMMAND", "INFO")?.elements.count, table.commands.count)
        // RESP3: flags and categories are sets.
        let c3 = s.client(proto: .resp3)
        guard case .set? = c3.call("COMMAND", "INFO", "get")?.elements.first?.elements[2] else {
            return XCTFail("RESP3 flags should be a set")
        }
    }

    func testCommandGetkeys() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "get", "a"), bulks("a"))
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"), bulks("a", "b"))
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "lmove", "a", "b", "left", "right"), bulks("a", "b"))
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "foo", "bar"), .error("ERR Invalid command specified"))
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "ping", "x"), .error("ERR The command has no key arguments"))
        XCTAssertEqual(c.call("COMMAND", "GETKEYS", "get", "a", "b"), .error("ERR Invalid number of arguments specified for command"))
    }

    func testDebugAndShutdown() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("DEBUG", "SLEEP", "0"), .simple("OK"))
        XCTAssertEqual(c.call("DEBUG", "SLEEP", "x"), .error("ERR value is not a valid float"))
        XCTAssertEqual(c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0"), .simple("OK"))
        XCTAssertFalse(s.runtime.activeExpireEnabled.load(ordering: .relaxed))
        XCTAssertEqual(c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1"), .simple("OK"))
        XCTAssertTrue(s.runtime.activeExpireEnabled.load(ordering: .relaxed))
        XCTAssertEqual(c.call("SHUTDOWN", "foo"), syntax)
        XCTAssertEqual(c.call("SHUTDOWN", "ABORT"), .error("ERR No shutdown in progress."))
        XCTAssertEqual(c.call("SHUTDOWN", "NOSAVE"), .error("ERR shutdown is not possible in tests"))
        XCTAssertEqual(c.call("FUNCTION", "LIST"), .array([]))
        XCTAssertEqual(c.call("FUNCTION", "FLUSH", "foo"), .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"))
    }
}
