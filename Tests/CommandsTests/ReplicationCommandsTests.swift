import XCTest
@testable import Commands

/// The replication commands' argument checks and the refusals replication imposes on the
/// command path, against Redis 7.0's replies (checked with redis-server 7.0.15). The protocol
/// itself runs against real servers in Tests/Integration/test_replication.py.
final class ReplicationCommandsTests: XCTestCase {
    func testArgumentErrors() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("REPLICAOF", "127.0.0.1", "port"), .error("ERR Invalid master port"))
        XCTAssertEqual(c.call("REPLICAOF", "127.0.0.1", "70000"), .error("ERR Invalid master port"))
        XCTAssertEqual(c.call("REPLICAOF", "no", "one"), .simple("OK"))
        XCTAssertEqual(c.call("SLAVEOF", "localhost", "6380"), .simple("OK"))
        XCTAssertEqual((c.server.hooks.replication as! NoReplicas).replicaOfCalls, ["NO ONE", "localhost:6380"])
        XCTAssertEqual(c.call("REPLCONF", "listening-port"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("WAIT", "1", "-1"), .error("ERR timeout is negative"))
        XCTAssertEqual(c.call("WAIT", "x", "0"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(c.call("PSYNC", "?", "x"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(c.call("ROLE"), .array([.bulk("master"), .integer(0), .array([])]))
    }

    func testWaitWithNothingToWaitFor() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("WAIT", "0", "0"), .integer(0))
        // Inside EXEC a client cannot block: WAIT answers the count at once.
        c.call("MULTI")
        c.call("WAIT", "1", "0")
        XCTAssertEqual(c.call("EXEC"), .array([.integer(0)]))
        // Outside it blocks until the timeout (the connection replies the count then).
        XCTAssertNil(c.call("WAIT", "1", "100"))
        XCTAssertTrue(c.blocked)
    }

    func testReadOnlyReplicaRefusesClientsButNotItsMaster() {
        let server = TestServer()
        let c = server.client()
        let master = server.client()
        master.state.peer = .master
        server.runtime.replicationRefusals.store(ReplicationRefusal.readOnlyReplica | ReplicationRefusal.keepsExpiredKeys, ordering: .relaxed)
        XCTAssertEqual(c.call("SET", "k", "v"), .error("READONLY You can't write against a read only replica."))
        XCTAssertEqual(c.call("GET", "k"), .null)
        XCTAssertEqual(master.call("SET", "k", "v"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
        server.runtime.replicationRefusals.store(ReplicationRefusal.staleData, ordering: .relaxed)
        XCTAssertEqual(c.call("GET", "k"), .error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."))
        XCTAssertEqual(c.call("INFO", "replication").map { _ in true }, true)   // INFO is allowed on stale data
        server.runtime.replicationRefusals.store(ReplicationRefusal.tooFewReplicas, ordering: .relaxed)
        XCTAssertEqual(c.call("SET", "k", "v"), .error("NOREPLICAS Not enough good replicas to write."))
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
    }

    /// A replica hides logically expired keys from its clients but neither deletes them nor
    /// hides them from its master, whose DEL removes them in stream order (as Redis).
    func testReplicaHidesExpiredKeysWithoutDeletingThem() {
        let server = TestServer()
        let c = server.client()
        let master = server.client()
        master.state.peer = .master
        c.call("SET", "gone", "v", "PX", "1")
        c.call("SET", "counter", "5", "PX", "1")
        server.runtime.replicationRefusals.store(ReplicationRefusal.keepsExpiredKeys, ordering: .relaxed)
        usleep(5000)
        XCTAssertEqual(c.call("GET", "gone"), .null)
        XCTAssertEqual(c.call("EXISTS", "gone"), .integer(0))
        XCTAssertEqual(c.call("DBSIZE"), .integer(2), "not deleted")
        XCTAssertEqual(master.call("GET", "gone"), .bulk("v"))
        XCTAssertEqual(master.call("INCR", "counter"), .integer(6), "the master's write sees the key")
        XCTAssertEqual(master.call("DEL", "gone"), .integer(1))
        XCTAssertEqual(c.call("DBSIZE"), .integer(1))
    }
}
