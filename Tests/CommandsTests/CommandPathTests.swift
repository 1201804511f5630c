import NIOCore
import NIOConcurrencyHelpers
import XCTest
@testable import Commands
@testable import Keyspace
import RESP

/// Collects what the command path propagates, one entry per `propagate` call.
final class RecordingSink: PropagationSink, @unchecked Sendable {
    private let batches = NIOLockedValueBox<[[PropagatedCommand]]>([])
    func propagate(_ commands: [PropagatedCommand]) -> UInt64 {
        batches.withLockedValue { $0.append(commands); return UInt64($0.count) }
    }
    /// Each batch as lines of space-separated words, `db:` first.
    var recorded: [[String]] {
        batches.withLockedValue { b in b.map { $0.map { "\($0.db): " + $0.args.map(\.string).joined(separator: " ") } } }
    }
}

/// The one command path: what every command goes through (counting, propagation, EXEC and
/// served blocked clients on the same path), and the propagated stream the append-only file
/// and replicas will consume.
final class CommandPathTests: XCTestCase {
    private func server(withSink sink: RecordingSink?) -> TestServer {
        let s = TestServer()
        s.runtime.setPropagationSink(sink)
        return s
    }

    func testWritesThatChangeDataPropagateOnceAsGiven() {
        let sink = RecordingSink()
        let c = server(withSink: sink).client()
        c.call("SET", "a", "1")
        c.call("GET", "a")                 // a read: nothing
        c.call("SET", "a", "2", "NX")      // a write that changed nothing: nothing
        c.call("LPUSH", "a", "x")          // WRONGTYPE: nothing
        c.call("INCR", "a")
        c.call("SELECT", "3")
        c.call("DEL", "a", "missing")      // db 3 has no `a`: nothing
        c.call("SET", "b", "v")
        XCTAssertEqual(sink.recorded, [["0: SET a 1"], ["0: INCR a"], ["3: SET b v"]])
    }

    func testExecWrapsItsWritesInMultiExecAndPropagatesNothingOfItsOwn() {
        let sink = RecordingSink()
        let c = server(withSink: sink).client()
        c.call("MULTI")
        c.call("SET", "k1", "1")
        c.call("GET", "k1")
        c.call("INCR", "k1")
        c.call("RPUSH", "list", "a")
        XCTAssertEqual(c.call("EXEC"), .array([.simple("OK"), .bulk("1"), .integer(2), .integer(1)]))
        XCTAssertEqual(sink.recorded, [["0: MULTI", "0: SET k1 1", "0: INCR k1", "0: RPUSH list a", "0: EXEC"]])

        // One write inside a transaction needs no wrapping; a transaction of reads sends nothing.
        c.call("MULTI"); c.call("SET", "k2", "x"); c.call("EXEC")
        c.call("MULTI"); c.call("GET", "k2"); c.call("EXEC")
        XCTAssertEqual(sink.recorded.count, 2)
        XCTAssertEqual(sink.recorded.last, ["0: SET k2 x"])
    }

    func testAnExpiredKeyLeavesAsDelBeforeTheCommandThatFoundIt() {
        let sink = RecordingSink()
        let s = server(withSink: sink)
        let c = s.client()
        c.call("SET", "gone", "v", "PX", "1")
        usleep(5_000)
        XCTAssertEqual(c.call("GET", "gone"), .null)
        c.call("SET", "gone2", "v", "PX", "1")
        usleep(5_000)
        c.call("APPEND", "gone2", "w")
        let recorded = sink.recorded
        XCTAssertEqual(recorded.count, 4)
        XCTAssertEqual(recorded[1], ["0: DEL gone"])
        XCTAssertEqual(recorded[3], ["0: MULTI", "0: DEL gone2", "0: APPEND gone2 w", "0: EXEC"])
    }

    func testAServedBlockedClientPropagatesOnTheSamePath() {
        let sink = RecordingSink()
        let s = server(withSink: sink)
        let waiter = s.client(), pusher = s.client()
        XCTAssertNil(waiter.call("BLPOP", "q", "0"))
        XCTAssertTrue(waiter.blocked)
        pusher.call("RPUSH", "q", "job")
        XCTAssertEqual(waiter.pushed, [bulks("q", "job")])
        // The push, then the served pop as a command of its own, propagated by the same path.
        // (Its deterministic form, LPOP q, is the append-only file's work: issue 14.)
        let recorded = sink.recorded
        XCTAssertEqual(recorded.count, 2)
        XCTAssertEqual(recorded.first, ["0: RPUSH q job"])
        XCTAssertEqual(recorded.last?.count, 1)
    }

    func testNothingIsCopiedWithoutASink() {
        let s = server(withSink: nil)
        let c = s.client()
        XCTAssertFalse(s.runtime.propagating)
        c.call("SET", "a", "1")
        let sink = RecordingSink()
        s.runtime.setPropagationSink(sink)
        c.call("SET", "a", "2")
        s.runtime.setPropagationSink(nil)
        c.call("SET", "a", "3")
        XCTAssertEqual(sink.recorded, [["0: SET a 2"]])
    }

    func testEveryCommandRunIsCountedIncludingThoseInsideExec() {
        let s = TestServer()
        let c = s.client()
        let before = s.runtime.stats.commandsProcessed.load(ordering: .relaxed)
        c.call("MULTI")            // runs
        c.call("SET", "a", "1")    // queued: runs later, inside EXEC
        c.call("EXEC")             // EXEC itself and its SET
        c.call("GET", "a")
        c.call("NOSUCHCOMMAND")    // never resolved: not run
        XCTAssertEqual(s.runtime.stats.commandsProcessed.load(ordering: .relaxed) - before, 4)
    }

    func testQueuedCommandsAreKeptResolved() {
        let s = TestServer()
        let c = s.client()
        c.call("MULTI")
        c.call("CLIENT", "SETNAME", "worker")
        c.call("set", "k", "v")
        let queue = c.state.multiQueue!
        XCTAssertEqual(queue.map(\.command.fullName), ["client|setname", "set"])
        XCTAssertEqual(c.call("EXEC"), .array([.simple("OK"), .simple("OK")]))
    }

    func testExecLocksTheShardsOfItsQueuedCommandsAndWatchedKeys() {
        let s = TestServer()
        let c = s.client()
        c.call("WATCH", "w")
        c.call("MULTI")
        c.call("SET", "a", "1")
        c.call("MGET", "b", "c")
        var ctx = CommandContext(args: Arguments([ByteBuffer(string: "EXEC")]), out: ReplyWriter(buffer: ByteBuffer()),
                                 keyspace: s.runtime.keyspace, client: c.state, server: s.runtime, now: 0, db: 0)
        let exec = s.runtime.table.lookup(ByteBuffer(string: "exec"))!
        let expected = ["w", "a", "b", "c"].reduce(UInt64(0)) { $0 | Keyspace.mask(for: ByteBuffer(string: $1)) }
        XCTAssertEqual(ctx.keyMask(of: exec), expected)
        XCTAssertEqual(ctx.args[0].string, "EXEC", "the context's own arguments are restored")
        c.call("DISCARD")
    }
}
