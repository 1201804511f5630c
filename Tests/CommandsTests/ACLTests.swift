import XCTest
import NIOCore
@testable import Commands
@testable import RESP

/// ACL users, rules and their descriptions (Commands/ACLUser.swift, AccessControl.swift), with
/// expectations taken from redis-server 7.0.15.
final class ACLTests: XCTestCase {
    private let table = CommandTable.standard

    private func user(_ rules: String...) throws -> ACLUser {
        var u = ACLUser(name: "u", table: table, allChannels: false)
        for rule in AccessControl.mergeSelectors(rules) { try u.apply(rule, table: table, pubsubDefaultAll: false) }
        return u
    }

    private func check(_ u: ACLUser, _ args: String...) -> ACLDenial? {
        let arguments = Arguments(args.map { ByteBuffer(string: $0) })
        var command = table.find(fullName: args[0])!
        if command.hasSubcommands { command = command.subcommands[args[1].lowercased()]! }
        return u.check(command, arguments)?.0
    }

    func testDescriptionsMatchRedis() throws {
        XCTAssertEqual(try user("on", ">p1", "~cache:*", "+@read").describe(table: table),
                       "on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~cache:* resetchannels -@all +@read")
        XCTAssertEqual(try user().describe(table: table), "off resetchannels -@all")
        XCTAssertEqual(try user("+@all", "-config", "-@string").describe(table: table), "off resetchannels +@all -@string -config")
        XCTAssertEqual(try user("-@all", "+client").describe(table: table), "off resetchannels -@all +client")
        XCTAssertEqual(try user("%R~a", "%W~a", "%W~w").describe(table: table), "off ~a %W~w resetchannels -@all")
        XCTAssertEqual(try user("on", "nopass", "+@all", "-@dangerous", "&news:*", "(+set", "~w:*)").describe(table: table),
                       "on nopass resetchannels &news:* +@all -@dangerous (~w:* resetchannels -@all +set)")
        XCTAssertEqual(try user("+select|0", "+select|1", "+select").describe(table: table), "off resetchannels -@all +select")
    }

    func testRuleErrors() {
        XCTAssertThrowsError(try user("+nosuch")) { XCTAssertEqual(($0 as? ACLRuleError)?.message, "Unknown command or category name in ACL") }
        XCTAssertThrowsError(try user("#xyz")) { XCTAssertEqual(($0 as? ACLRuleError)?.message, ACLRuleError.badHash.message) }
        XCTAssertThrowsError(try user("~*", "~x")) { XCTAssertEqual(($0 as? ACLRuleError)?.message, ACLRuleError.keyAfterAll.message) }
        XCTAssertThrowsError(try user("%X~a")) { XCTAssertEqual(($0 as? ACLRuleError)?.message, "Syntax error") }
        XCTAssertThrowsError(try user("+config|get|x")) { XCTAssertEqual(($0 as? ACLRuleError)?.message, ACLRuleError.subcommandFirstArg.message) }
        XCTAssertThrowsError(try user("<nope")) { XCTAssertEqual(($0 as? ACLRuleError)?.message, ACLRuleError.noSuchPassword.message) }
    }

    func testChecks() throws {
        let reader = try user("on", "nopass", "~cache:*", "+@read")
        XCTAssertNil(check(reader, "get", "cache:1"))
        XCTAssertEqual(check(reader, "get", "other"), .key)
        XCTAssertEqual(check(reader, "set", "cache:1", "v"), .command)
        let split = try user("on", "nopass", "+@all", "%R~r:*", "%W~w:*")
        XCTAssertNil(check(split, "get", "r:1"))
        XCTAssertEqual(check(split, "set", "r:1", "v"), .key)
        XCTAssertNil(check(split, "set", "w:1", "v"), "SET without GET only writes")
        XCTAssertEqual(check(split, "set", "w:1", "v", "GET"), .key)
        XCTAssertEqual(check(split, "lmove", "w:1", "w:2", "LEFT", "LEFT"), .key, "LMOVE reads its source")
        let firstArg = try user("on", "nopass", "-@all", "+select|0", "+config|get")
        XCTAssertNil(check(firstArg, "select", "0"))
        XCTAssertEqual(check(firstArg, "select", "1"), .command)
        XCTAssertNil(check(firstArg, "config", "get", "x"))
        XCTAssertEqual(check(firstArg, "config", "set", "x", "y"), .command)
        let channels = try user("on", "nopass", "+@all", "~*", "resetchannels", "&news:*")
        XCTAssertNil(check(channels, "publish", "news:1", "m"))
        XCTAssertEqual(check(channels, "subscribe", "news:1", "other"), .channel)
        XCTAssertEqual(check(channels, "psubscribe", "news:1*"), .channel, "a pattern needs the identical pattern")
        XCTAssertNil(check(channels, "psubscribe", "news:*"))
        // A selector allows what the root does not; the most relevant refusal wins otherwise.
        let selector = try user("on", "nopass", "-@all", "+get", "~r:*", "(+set ~w:*)")
        XCTAssertNil(check(selector, "set", "w:1", "v"))
        XCTAssertEqual(check(selector, "set", "r:1", "v"), .key)
    }

    func testPasswordsAndGeneration() {
        let acl = AccessControl(table: table)
        XCTAssertTrue(acl.defaultUserNeedsNoPassword)
        let before = acl.generation.load(ordering: .relaxed)
        acl.setDefaultPassword("pw")
        XCTAssertNotEqual(acl.generation.load(ordering: .relaxed), before, "a change makes connections re-read their user")
        XCTAssertFalse(acl.defaultUserNeedsNoPassword)
        XCTAssertNotNil(acl.authenticate("default", ByteBuffer(string: "pw")))
        XCTAssertNil(acl.authenticate("default", ByteBuffer(string: "nope")))
        XCTAssertNotNil(acl.setUser("x", rules: ["+@nosuch"]))
        XCTAssertNil(acl.user(named: "x"), "a failed SETUSER creates no user")
        XCTAssertNil(acl.setUser("x", rules: ["on", ">a"]))
        XCTAssertEqual(acl.userNames, ["default", "x"])
        XCTAssertEqual(acl.deleteUsers(["x", "y"]), 1)
    }
}
