import XCTest
@testable import Commands

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH against Redis 7.0 (checked with redis-server 7.0.15).
final class TransactionCommandsTests: XCTestCase {
    /// Runs MULTI, the commands (each must be QUEUED), EXEC; returns EXEC's reply.
    private func transaction(_ c: TestClient, _ commands: [[String]]) -> Reply? {
        XCTAssertEqual(c.call("MULTI"), .simple("OK"))
        for cmd in commands { XCTAssertEqual(c.call(cmd), .simple("QUEUED"), "\(cmd)") }
        return c.call("EXEC")
    }

    func testExecResultsAndErrors() {
        let c = TestServer().client()
        XCTAssertEqual(transaction(c, [["SET", "a", "x"], ["INCR", "a"], ["LPUSH", "a", "z"], ["GET", "a"]]), .array([
            .simple("OK"),
            .error("ERR value is not an integer or out of range"),
            .error("WRONGTYPE Operation against a key holding the wrong kind of value"),
            .bulk("x"),
        ]))
        XCTAssertEqual(transaction(c, []), .array([]))
        XCTAssertFalse(c.state.inMulti)
        // SELECT inside a transaction applies to the rest of it and sticks afterwards.
        XCTAssertEqual(transaction(c, [["SELECT", "2"], ["SET", "k", "in2"]]), .array([.simple("OK"), .simple("OK")]))
        XCTAssertEqual(c.call("GET", "k"), .bulk("in2"))
        c.call("SELECT", "0")
        XCTAssertEqual(c.call("GET", "k"), .null)
    }

    func testQueueingErrors() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("EXEC"), .error("ERR EXEC without MULTI"))
        XCTAssertEqual(c.call("DISCARD"), .error("ERR DISCARD without MULTI"))
        XCTAssertEqual(c.call("MULTI"), .simple("OK"))
        // Nested MULTI and WATCH are refused without aborting the transaction.
        XCTAssertEqual(c.call("MULTI"), .error("ERR MULTI calls can not be nested"))
        XCTAssertEqual(c.call("WATCH", "x"), .error("ERR WATCH inside MULTI is not allowed"))
        XCTAssertEqual(c.call("SET", "a", "1"), .simple("QUEUED"))
        XCTAssertEqual(c.call("EXEC"), .array([.simple("OK")]))
        // Unknown commands and arity errors abort at EXEC.
        XCTAssertEqual(c.call("MULTI"), .simple("OK"))
        XCTAssertEqual(c.call("SET", "a", "2"), .simple("QUEUED"))
        XCTAssertEqual(c.call("FOO"), .error("ERR unknown command 'FOO', with args beginning with: "))
        XCTAssertEqual(c.call("GET", "a", "b"), .error("ERR wrong number of arguments for 'get' command"))
        XCTAssertEqual(c.call("EXEC"), .error("EXECABORT Transaction discarded because of previous errors."))
        XCTAssertEqual(c.call("GET", "a"), .bulk("1"))
        XCTAssertEqual(c.call("EXEC"), .error("ERR EXEC without MULTI"))
        // The abort is forgotten: the next transaction runs.
        XCTAssertEqual(transaction(c, [["GET", "a"]]), .array([.bulk("1")]))
        // DISCARD drops the queue.
        XCTAssertEqual(c.call("MULTI"), .simple("OK"))
        XCTAssertEqual(c.call("SET", "a", "3"), .simple("QUEUED"))
        XCTAssertEqual(c.call("DISCARD"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "a"), .bulk("1"))
    }

    func testExecIsAtomicAcrossShards() {
        let s = TestServer()
        let c = s.client()
        let keys = (0..<50).map { "key:\($0)" }
        XCTAssertEqual(c.call("MULTI"), .simple("OK"))
        for k in keys { c.call("INCR", k) }
        c.call(["MGET"] + keys)
        guard let reply = c.call("EXEC") else { return XCTFail("EXEC") }
        XCTAssertEqual(reply.elements.count, 51)
        XCTAssertEqual(reply.elements.last, bulks(Array(repeating: "1", count: 50)))
    }

    func testWatchInvalidatedByOtherClient() {
        let s = TestServer()
        let c = s.client(), other = s.client()
        c.call("SET", "k", "1")
        XCTAssertEqual(c.call("WATCH", "k"), .simple("OK"))
        // Writing the same value still counts as a change.
        other.call("SET", "k", "1")
        XCTAssertEqual(transaction(c, [["GET", "k"]]), .nullArray)
        // EXEC unwatches: the next transaction runs.
        XCTAssertEqual(transaction(c, [["GET", "k"]]), .array([.bulk("1")]))
        // Reads do not invalidate; neither does a no-op write (PERSIST of a key without TTL).
        c.call("WATCH", "k")
        other.call("GET", "k")
        other.call("PERSIST", "k")
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
        // EXPIRE, RENAME away and a write to a watched missing key invalidate.
        c.call("WATCH", "k")
        other.call("EXPIRE", "k", "100")
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
        c.call("WATCH", "k")
        other.call("RENAME", "k", "k2")
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
        c.call("WATCH", "nokey")
        other.call("SET", "nokey", "x")
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
        // Deleting a key that does not exist changes nothing.
        c.call("WATCH", "nokey2")
        other.call("DEL", "nokey2")
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
        // The client's own write invalidates too.
        c.call("SET", "own", "1")
        c.call("WATCH", "own")
        c.call("SET", "own", "2")
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
        // A write in another database is another key.
        c.call("WATCH", "k")
        other.call("SELECT", "1")
        other.call("SET", "k", "x")
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
    }

    func testUnwatchAndDiscardForget() {
        let s = TestServer()
        let c = s.client(), other = s.client()
        c.call("WATCH", "k")
        XCTAssertEqual(c.call("UNWATCH"), .simple("OK"))
        other.call("SET", "k", "3")
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
        c.call("WATCH", "k")
        other.call("SET", "k", "4")
        c.call("MULTI")
        XCTAssertEqual(c.call("DISCARD"), .simple("OK"))
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
        // EXEC without MULTI keeps the watch.
        c.call("WATCH", "k")
        other.call("SET", "k", "5")
        XCTAssertEqual(c.call("EXEC"), .error("ERR EXEC without MULTI"))
        XCTAssertEqual(transaction(c, []), .nullArray)
        // Watching the same key twice is fine.
        XCTAssertEqual(c.call("WATCH", "k", "k"), .simple("OK"))
        XCTAssertEqual(c.call("WATCH", "k"), .simple("OK"))
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
    }

    func testWatchInvalidatedByFlushAndSwap() {
        let s = TestServer()
        let c = s.client(), other = s.client()
        c.call("SET", "k", "1")
        c.call("WATCH", "k")
        other.call("FLUSHALL")
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
        c.call("SET", "k", "1")
        c.call("WATCH", "k")
        other.call("FLUSHDB")
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
        // FLUSHDB of another database leaves the watch alone.
        c.call("SET", "k", "1")
        c.call("WATCH", "k")
        other.call("SELECT", "1")
        other.call("FLUSHDB")
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
        c.call("WATCH", "k")
        other.call("SWAPDB", "0", "1")
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
    }

    func testWatchInvalidatedByExpiry() {
        let c = TestServer().client()
        c.call("SET", "k", "1")
        c.call("PEXPIRE", "k", "5")
        c.call("WATCH", "k")
        usleep(20_000)
        XCTAssertEqual(transaction(c, [["PING"]]), .nullArray)
        // A key already expired when watched does not count as changed when it goes.
        c.call("SET", "k", "1")
        c.call("PEXPIRE", "k", "1")
        usleep(5000)
        c.call("WATCH", "k")
        XCTAssertEqual(transaction(c, [["PING"]]), .array([.simple("PONG")]))
    }
}
