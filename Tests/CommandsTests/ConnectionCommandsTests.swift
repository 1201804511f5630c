import XCTest
@testable import Commands

/// PING/ECHO/HELLO/SELECT/AUTH/RESET/QUIT/CLIENT against Redis 7.0 (checked with redis-server 7.0.15).
final class ConnectionCommandsTests: XCTestCase {
    func testPingEcho() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("PING"), .simple("PONG"))
        XCTAssertEqual(c.call("PING", "a"), .bulk("a"))
        XCTAssertEqual(c.call("PING", "a", "b"), .error("ERR wrong number of arguments for 'ping' command"))
        XCTAssertEqual(c.call("ECHO", "x"), .bulk("x"))
        XCTAssertEqual(c.call("ECHO"), .error("ERR wrong number of arguments for 'echo' command"))
    }

    private func helloReply(_ c: TestClient, proto: Int) -> [Reply] {
        [.bulk("server"), .bulk("redis"), .bulk("version"), .bulk("7.0.15"), .bulk("proto"), .integer(proto),
         .bulk("id"), .integer(c.state.id), .bulk("mode"), .bulk("standalone"), .bulk("role"), .bulk("master"),
         .bulk("modules"), .array([])]
    }

    func testHelloBothProtocols() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("HELLO"), .array(helloReply(c, proto: 2)))
        XCTAssertEqual(c.call("HELLO", "2"), .array(helloReply(c, proto: 2)))
        XCTAssertEqual(c.call("HELLO", "3"), .map(helloReply(c, proto: 3)))
        XCTAssertEqual(c.state.proto, .resp3)
        // Now replies are RESP3: a null is `_`, a map is `%`.
        XCTAssertEqual(c.call("GET", "missing"), .null)
        XCTAssertEqual(c.call("HELLO"), .map(helloReply(c, proto: 3)))
        XCTAssertEqual(c.call("HELLO", "2"), .array(helloReply(c, proto: 2)))
        XCTAssertEqual(c.state.proto, .resp2)
    }

    func testHelloErrors() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("HELLO", "4"), .error("NOPROTO unsupported protocol version"))
        XCTAssertEqual(c.call("HELLO", "1"), .error("NOPROTO unsupported protocol version"))
        XCTAssertEqual(c.call("HELLO", "x"), .error("ERR Protocol version is not an integer or out of range"))
        XCTAssertEqual(c.call("HELLO", "2", "foo"), .error("ERR Syntax error in HELLO option 'foo'"))
        XCTAssertEqual(c.call("HELLO", "2", "SETNAME"), .error("ERR Syntax error in HELLO option 'SETNAME'"))
        XCTAssertEqual(c.call("HELLO", "2", "AUTH", "user"), .error("ERR Syntax error in HELLO option 'AUTH'"))
        XCTAssertEqual(c.call("HELLO", "2", "SETNAME", "a b"),
                       .error("ERR Client names cannot contain spaces, newlines or special characters."))
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .null)
        // A failed HELLO does not switch protocols.
        XCTAssertEqual(c.call("HELLO", "3", "SETNAME", "a b"),
                       .error("ERR Client names cannot contain spaces, newlines or special characters."))
        XCTAssertEqual(c.state.proto, .resp2)
        XCTAssertEqual(c.call("HELLO", "2", "SETNAME", "nm")?.elements.count, 14)
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .bulk("nm"))
        XCTAssertEqual(c.call("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "n2"), .map(helloReply(c, proto: 3)))
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .bulk("n2"))
    }

    func testClientNames() {
        let c = TestServer().client()
        let bad = Reply.error("ERR Client names cannot contain spaces, newlines or special characters.")
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .null)
        XCTAssertEqual(c.call("CLIENT", "SETNAME", "ok-name"), .simple("OK"))
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .bulk("ok-name"))
        for name in ["a b", "a\nb", "é", "tab\there", "\u{7f}"] {
            XCTAssertEqual(c.call("CLIENT", "SETNAME", name), bad, name.debugDescription)
        }
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .bulk("ok-name"))
        // An empty name clears it.
        XCTAssertEqual(c.call("CLIENT", "SETNAME", ""), .simple("OK"))
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .null)
        XCTAssertEqual(c.call("CLIENT", "SETNAME", "!~"), .simple("OK"))
    }

    func testClientSubcommands() {
        let s = TestServer()
        let c = s.client()
        let other = s.client()
        XCTAssertEqual(c.call("CLIENT", "ID"), .integer(c.state.id))
        XCTAssertEqual(other.call("CLIENT", "ID"), .integer(other.state.id))
        XCTAssertNotEqual(c.state.id, other.state.id)
        XCTAssertEqual(c.call("CLIENT", "foo"), .error("ERR unknown subcommand 'foo'. Try CLIENT HELP."))
        XCTAssertEqual(c.call("CLIENT"), .error("ERR wrong number of arguments for 'client' command"))
        XCTAssertEqual(c.call("CLIENT", "ID", "x"), .error("ERR wrong number of arguments for 'client|id' command"))
        XCTAssertEqual(c.call("CLIENT", "NO-EVICT", "maybe"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("CLIENT", "NO-EVICT", "on"), .simple("OK"))
        XCTAssertEqual(c.call("CLIENT", "REPLY", "foo"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("CLIENT", "LIST", "TYPE", "foo"), .error("ERR Unknown client type 'foo'"))
        XCTAssertEqual(c.call("CLIENT", "LIST", "ID", "x"), .error("ERR Invalid client ID"))
        XCTAssertEqual(c.call("CLIENT", "LIST", "foo"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("CLIENT", "KILL", "1.2.3.4:5"), .error("ERR No such client"))
        XCTAssertEqual(c.call("CLIENT", "KILL", "ID", "0"), .error("ERR client-id should be greater than 0"))
        XCTAssertEqual(c.call("CLIENT", "KILL", "ID", "99999"), .integer(0))
        XCTAssertEqual(c.call("CLIENT", "KILL", "foo", "bar"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("CLIENT", "KILL", "TYPE", "foo"), .error("ERR Unknown client type 'foo'"))
        XCTAssertEqual(c.call("CLIENT", "KILL", "SKIPME", "maybe"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("CLIENT", "KILL", "ID", String(other.state.id)), .integer(1))
        // Killing oneself (SKIPME no) closes after the reply.
        c.call("CLIENT", "SETNAME", "me")
        guard case .bulk(let list)? = c.call("CLIENT", "LIST", "ID", String(c.state.id)) else {
            return XCTFail("CLIENT LIST reply")
        }
        XCTAssertTrue(list.hasPrefix("id=\(c.state.id) addr=127.0.0.1:1 "), list)
        XCTAssertTrue(list.contains(" name=me "), list)
        XCTAssertTrue(list.contains(" cmd=client|list "), list)
        XCTAssertTrue(list.hasSuffix("\n"), list)
        guard case .bulk(let info)? = c.call("CLIENT", "INFO") else { return XCTFail("CLIENT INFO reply") }
        XCTAssertTrue(info.contains(" cmd=client|info "), info)
        // RESP3: CLIENT LIST/INFO are verbatim strings.
        let c3 = s.client(proto: .resp3)
        guard case .verbatim(let v)? = c3.call("CLIENT", "INFO") else { return XCTFail("RESP3 CLIENT INFO") }
        XCTAssertTrue(v.contains("resp="), v)
    }

    func testSelect() {
        let c = TestServer().client()
        c.call("SET", "k", "db0")
        XCTAssertEqual(c.call("SELECT", "15"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .null)
        c.call("SET", "k", "db15")
        XCTAssertEqual(c.call("SELECT", "16"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("SELECT", "-1"), .error("ERR DB index is out of range"))
        XCTAssertEqual(c.call("SELECT", "x"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("db15"))
        XCTAssertEqual(c.call("SELECT", "0"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("db0"))
    }

    func testAuthAndNoauth() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("AUTH", "a", "b", "c"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("AUTH", "pw"), .error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
        s.runtime.acl.setDefaultPassword("pw")   // requirepass pw
        c.state.authenticated = false
        XCTAssertEqual(c.call("GET", "k"), .error("NOAUTH Authentication required."))
        XCTAssertEqual(c.call("PING"), .error("NOAUTH Authentication required."))
        // Unknown commands are reported before NOAUTH, as in Redis.
        XCTAssertEqual(c.call("NOPE"), .error("ERR unknown command 'NOPE', with args beginning with: "))
        XCTAssertEqual(c.call("HELLO", "3"), .error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"))
        XCTAssertEqual(c.call("AUTH", "nope"), .error("WRONGPASS invalid username-password pair or user is disabled."))
        XCTAssertEqual(c.call("AUTH", "default", "nope"), .error("WRONGPASS invalid username-password pair or user is disabled."))
        XCTAssertEqual(c.call("AUTH", "pw"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .null)
        XCTAssertEqual(c.call("AUTH", "default", "pw"), .simple("OK"))
    }

    func testResetAndQuit() {
        let s = TestServer()
        let c = s.client()
        c.call("HELLO", "3")
        c.call("SELECT", "3")
        c.call("CLIENT", "SETNAME", "x")
        c.call("WATCH", "k")
        c.call("MULTI")
        XCTAssertEqual(c.call("RESET"), .simple("RESET"))
        XCTAssertEqual(c.state.proto, .resp2)
        XCTAssertEqual(c.state.db, 0)
        XCTAssertFalse(c.state.inMulti)
        XCTAssertTrue(c.state.watchedKeys.isEmpty)
        XCTAssertEqual(c.call("CLIENT", "GETNAME"), .null)
        XCTAssertEqual(c.call("RESET", "x"), .error("ERR wrong number of arguments for 'reset' command"))
        XCTAssertEqual(c.call("QUIT"), .simple("OK"))
    }
}
