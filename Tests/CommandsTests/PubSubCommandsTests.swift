import NIOCore
import XCTest
@testable import Commands
@testable import Keyspace
import RESP

extension TestClient {
    /// Runs a command that may write several replies (SUBSCRIBE a b) and decodes all of them.
    func callAll(_ args: String...) -> [Reply] {
        var ctx = CommandContext(args: Arguments(args.map { ByteBuffer(string: $0) }), out: ReplyWriter(buffer: ByteBuffer(), proto: state.proto),
                                 keyspace: server.runtime.keyspace, client: state, server: server.runtime,
                                 now: currentTimeMillis(), db: state.db)
        ctx.begin(now: currentTimeMillis())
        _ = server.runtime.dispatch(&ctx)
        var out = ctx.out.buffer
        var replies: [Reply] = []
        while out.readableBytes > 0, let r = decodeReply(&out) { replies.append(r) }
        return replies
    }
}

/// Publish/subscribe against Redis 7.0 (checked with redis-server 7.0.15).
final class PubSubCommandsTests: XCTestCase {
    private func confirm(_ kind: String, _ name: String?, _ n: Int) -> Reply {
        .array([.bulk(kind), name.map { .bulk($0) } ?? .null, .integer(n)])
    }

    func testSubscribeConfirmationsRESP2() {
        let c = TestServer().client()
        XCTAssertEqual(c.callAll("SUBSCRIBE", "a", "b"), [confirm("subscribe", "a", 1), confirm("subscribe", "b", 2)])
        // Subscribing again does not count twice.
        XCTAssertEqual(c.callAll("SUBSCRIBE", "a"), [confirm("subscribe", "a", 2)])
        // Patterns count together with channels.
        XCTAssertEqual(c.callAll("PSUBSCRIBE", "p*"), [confirm("psubscribe", "p*", 3)])
        // The order of an unsubscribe-from-all is unspecified; the running count is.
        let all = c.callAll("UNSUBSCRIBE")
        XCTAssertEqual(all.map { $0.elements.last }, [.integer(2), .integer(1)])
        XCTAssertEqual(Set(all.compactMap { $0.elements.dropFirst().first?.string }), ["a", "b"])
        XCTAssertEqual(c.callAll("UNSUBSCRIBE"), [confirm("unsubscribe", nil, 1)])
        XCTAssertEqual(c.callAll("PUNSUBSCRIBE"), [confirm("punsubscribe", "p*", 0)])
        XCTAssertEqual(c.callAll("PUNSUBSCRIBE"), [confirm("punsubscribe", nil, 0)])
        // Shard channels count on their own.
        XCTAssertEqual(c.callAll("SUBSCRIBE", "x"), [confirm("subscribe", "x", 1)])
        XCTAssertEqual(c.callAll("SSUBSCRIBE", "s1"), [confirm("ssubscribe", "s1", 1)])
        XCTAssertEqual(c.callAll("SUNSUBSCRIBE"), [confirm("sunsubscribe", "s1", 0)])
        XCTAssertEqual(c.callAll("SUNSUBSCRIBE"), [confirm("sunsubscribe", nil, 0)])
        XCTAssertEqual(c.callAll("UNSUBSCRIBE", "nope"), [confirm("unsubscribe", "nope", 1)])
    }

    func testSubscriberContextRESP2() {
        let c = TestServer().client()
        c.call("SUBSCRIBE", "a")
        let refused = "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        XCTAssertEqual(c.call("GET", "x"), .error("ERR Can't execute 'get': \(refused)"))
        XCTAssertEqual(c.call("MULTI"), .error("ERR Can't execute 'multi': \(refused)"))
        XCTAssertEqual(c.call("SELECT", "1"), .error("ERR Can't execute 'select': \(refused)"))
        XCTAssertEqual(c.call("PING"), bulks("pong", ""))
        XCTAssertEqual(c.call("PING", "hi"), bulks("pong", "hi"))
        XCTAssertEqual(c.call("RESET"), .simple("RESET"))
        XCTAssertEqual(c.call("GET", "x"), .null)
        // Shard subscriptions put the client in the same context.
        c.call("SSUBSCRIBE", "s")
        XCTAssertEqual(c.call("GET", "x"), .error("ERR Can't execute 'get': \(refused)"))
        c.call("SUNSUBSCRIBE")
        XCTAssertEqual(c.call("GET", "x"), .null)
    }

    func testRESP3SubscriberMayRunCommands() {
        let c = TestServer().client(proto: .resp3)
        XCTAssertEqual(c.callAll("SUBSCRIBE", "ch"), [.push([.bulk("subscribe"), .bulk("ch"), .integer(1)])])
        XCTAssertEqual(c.callAll("PSUBSCRIBE", "c*"), [.push([.bulk("psubscribe"), .bulk("c*"), .integer(2)])])
        XCTAssertEqual(c.call("GET", "x"), .null)
        XCTAssertEqual(c.call("PING"), .simple("PONG"))
        XCTAssertEqual(c.callAll("UNSUBSCRIBE", "nope"), [.push([.bulk("unsubscribe"), .bulk("nope"), .integer(2)])])
    }

    func testDelivery() {
        let s = TestServer()
        let sub2 = s.client(), sub3 = s.client(proto: .resp3), pub = s.client()
        sub2.call("SUBSCRIBE", "ch")
        sub2.call("PSUBSCRIBE", "c*")
        sub3.call("SUBSCRIBE", "ch")
        XCTAssertEqual(pub.call("PUBLISH", "ch", "hi"), .integer(3))
        XCTAssertEqual(sub2.pushed.count, 2)
        XCTAssertTrue(sub2.pushed.contains(bulks("message", "ch", "hi")))
        XCTAssertTrue(sub2.pushed.contains(bulks("pmessage", "c*", "ch", "hi")))
        XCTAssertEqual(sub3.pushed, [.push([.bulk("message"), .bulk("ch"), .bulk("hi")])])
        XCTAssertEqual(pub.call("PUBLISH", "cat", "meow"), .integer(1))
        XCTAssertEqual(sub2.pushed.last, bulks("pmessage", "c*", "cat", "meow"))
        XCTAssertEqual(pub.call("PUBLISH", "nobody", "x"), .integer(0))
        // Unsubscribed clients receive nothing more.
        sub3.call("UNSUBSCRIBE", "ch")
        XCTAssertEqual(pub.call("PUBLISH", "ch", "again"), .integer(2))
        XCTAssertEqual(sub3.pushed.count, 1)
        // Shard channels are separate from channels.
        sub3.call("SSUBSCRIBE", "sc")
        XCTAssertEqual(pub.call("PUBLISH", "sc", "x"), .integer(0))
        XCTAssertEqual(pub.call("SPUBLISH", "sc", "yo"), .integer(1))
        XCTAssertEqual(sub3.pushed.count, 2)
        XCTAssertEqual(sub3.pushed.last?.elements.suffix(2), [.bulk("sc"), .bulk("yo")])
        XCTAssertEqual(pub.call("SPUBLISH", "ch", "x"), .integer(0))
    }

    func testPubsubIntrospection() {
        let s = TestServer()
        let a = s.client(), b = s.client(), c = s.client()
        a.call("SUBSCRIBE", "ch")
        b.call("SUBSCRIBE", "ch")
        b.call("SUBSCRIBE", "other")
        a.call("PSUBSCRIBE", "c*")
        b.call("PSUBSCRIBE", "c*")
        a.call("SSUBSCRIBE", "sc")
        XCTAssertEqual(Set(c.call("PUBSUB", "CHANNELS")?.elements.compactMap(\.string) ?? []), ["ch", "other"])
        XCTAssertEqual(c.call("PUBSUB", "CHANNELS", "c*"), bulks("ch"))
        XCTAssertEqual(c.call("PUBSUB", "NUMSUB", "ch", "nope"), .array([.bulk("ch"), .integer(2), .bulk("nope"), .integer(0)]))
        XCTAssertEqual(c.call("PUBSUB", "NUMSUB"), .array([]))
        XCTAssertEqual(c.call("PUBSUB", "NUMPAT"), .integer(1))
        XCTAssertEqual(c.call("PUBSUB", "SHARDCHANNELS"), bulks("sc"))
        XCTAssertEqual(c.call("PUBSUB", "SHARDNUMSUB", "sc"), .array([.bulk("sc"), .integer(1)]))
        XCTAssertEqual(c.call("PUBSUB", "foo"), .error("ERR unknown subcommand 'foo'. Try PUBSUB HELP."))
        // RESP3: NUMSUB stays a flat array.
        let c3 = s.client(proto: .resp3)
        XCTAssertEqual(c3.call("PUBSUB", "NUMSUB", "ch"), .array([.bulk("ch"), .integer(2)]))
        // RESET drops every subscription.
        a.call("RESET")
        XCTAssertEqual(c.call("PUBSUB", "NUMSUB", "ch"), .array([.bulk("ch"), .integer(1)]))
        XCTAssertEqual(c.call("PUBSUB", "SHARDCHANNELS"), .array([]))
    }
}
