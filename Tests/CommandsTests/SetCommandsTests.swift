import NIOCore
import XCTest
@testable import Commands
@testable import Keyspace
import RESP

/// Set commands through the real dispatcher. Expected replies and error strings were checked
/// against redis-server 7.0.15.
final class SetCommandsTests: XCTestCase {
    let wrongType = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    let notInteger = Reply.error("ERR value is not an integer or out of range")

    /// The server's change counter (what `ctx.changed` feeds): tells effective writes from no-ops.
    func dirty(_ s: TestServer) -> Int { s.runtime.stats.changesSinceSave.load(ordering: .relaxed) }

    func members(_ r: Reply?) -> [String] { (r?.elements ?? []).compactMap(\.string).sorted() }

    func entry(_ s: TestServer, _ key: String) -> Entry? {
        let k = ByteBuffer(string: key)
        return s.runtime.keyspace.shard(for: k).dbs[0].entry(k)
    }

    // MARK: SADD, SREM, SISMEMBER, SMISMEMBER, SCARD, SMEMBERS

    func testSAddAndSRem() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("SADD", "s", "a", "b", "c", "a"), .integer(3))
        XCTAssertEqual(c.call("SADD", "s", "a", "d"), .integer(1))
        XCTAssertEqual(c.call("SCARD", "s"), .integer(4))
        XCTAssertEqual(members(c.call("SMEMBERS", "s")), ["a", "b", "c", "d"])
        XCTAssertEqual(c.call("SREM", "s", "a", "z", "a"), .integer(1))
        XCTAssertEqual(c.call("SREM", "nokey", "a"), .integer(0))
        XCTAssertEqual(c.call("SREM", "s", "b", "c", "d"), .integer(3))
        XCTAssertEqual(c.call("EXISTS", "s"), .integer(0), "an emptied set is deleted")
        XCTAssertEqual(c.call("SADD", "s"), .error("ERR wrong number of arguments for 'sadd' command"))
        XCTAssertEqual(c.call("SADD", "e", ""), .integer(1), "the empty string is a member like any other")
        XCTAssertEqual(c.call("SISMEMBER", "e", ""), .integer(1))
    }

    func testMembershipQueries() {
        let c = TestServer().client(proto: .resp3)
        c.call("SADD", "s", "a", "b")
        XCTAssertEqual(c.call("SISMEMBER", "s", "a"), .integer(1))
        XCTAssertEqual(c.call("SISMEMBER", "s", "z"), .integer(0))
        XCTAssertEqual(c.call("SISMEMBER", "nokey", "a"), .integer(0))
        // Integers, not RESP3 booleans.
        XCTAssertEqual(c.call("SMISMEMBER", "s", "a", "z", "b"), .array([.integer(1), .integer(0), .integer(1)]))
        XCTAssertEqual(c.call("SMISMEMBER", "nokey", "a", "b"), .array([.integer(0), .integer(0)]))
        XCTAssertEqual(c.call("SCARD", "nokey"), .integer(0))
    }

    func testSMembersReplyShapes() {
        let c2 = TestServer().client()
        c2.call("SADD", "s", "a", "b")
        guard case .array? = c2.call("SMEMBERS", "s") else { return XCTFail("RESP2 sets are arrays") }
        XCTAssertEqual(c2.call("SMEMBERS", "nokey"), .array([]))
        let c3 = TestServer().client(proto: .resp3)
        c3.call("SADD", "s", "a", "b")
        guard case .set(let items)? = c3.call("SMEMBERS", "s") else { return XCTFail("RESP3 uses the set type") }
        XCTAssertEqual(items.compactMap(\.string).sorted(), ["a", "b"])
        XCTAssertEqual(c3.call("SMEMBERS", "nokey"), .set([]))
    }

    // MARK: SPOP

    func testSPopWithoutCount() {
        let s = TestServer()
        let c = s.client()
        XCTAssertEqual(c.call("SPOP", "nokey"), .null)
        c.call("SADD", "s", "a", "b", "c")
        var popped: [String] = []
        for _ in 0..<3 {
            guard case .bulk(let m)? = c.call("SPOP", "s") else { return XCTFail("not a bulk") }
            popped.append(m)
        }
        XCTAssertEqual(popped.sorted(), ["a", "b", "c"])
        XCTAssertEqual(c.call("EXISTS", "s"), .integer(0), "popping the last member deletes the key")
        XCTAssertEqual(c.call("SPOP", "s"), .null)
    }

    func testSPopWithCount() {
        let s = TestServer()
        let c = s.client(proto: .resp3)
        XCTAssertEqual(c.call("SPOP", "nokey", "2"), .set([]))
        var all: Set<String> = []
        for i in 0..<20 { all.insert("m\(i)") }
        c.call(["SADD", "s"] + all.sorted())
        let before = dirty(s)
        XCTAssertEqual(c.call("SPOP", "s", "0"), .set([]))
        XCTAssertEqual(dirty(s), before, "popping nothing is not a change")
        guard case .set(let first)? = c.call("SPOP", "s", "5") else { return XCTFail("SPOP with a count replies a set") }
        let firstPopped = Set(first.compactMap(\.string))
        XCTAssertEqual(firstPopped.count, 5)
        XCTAssertTrue(firstPopped.isSubset(of: all))
        XCTAssertEqual(c.call("SCARD", "s"), .integer(15))
        for m in firstPopped { XCTAssertEqual(c.call("SISMEMBER", "s", m), .integer(0), "popped members are gone") }
        // More than there is: the rest, then the key is gone.
        let rest = Set(members(c.call("SPOP", "s", "100")))
        XCTAssertEqual(rest.union(firstPopped), all)
        XCTAssertTrue(rest.isDisjoint(with: firstPopped))
        XCTAssertEqual(c.call("EXISTS", "s"), .integer(0))
        // Exactly the whole set.
        c.call("SADD", "t", "x", "y")
        XCTAssertEqual(members(c.call("SPOP", "t", "2")), ["x", "y"])
        XCTAssertEqual(c.call("EXISTS", "t"), .integer(0))
    }

    func testSPopErrors() {
        let c = TestServer().client()
        c.call("SADD", "s", "a")
        let positive = Reply.error("ERR value is out of range, must be positive")
        XCTAssertEqual(c.call("SPOP", "s", "-1"), positive)
        XCTAssertEqual(c.call("SPOP", "s", "x"), positive)
        XCTAssertEqual(c.call("SPOP", "s", "1.5"), positive)
        XCTAssertEqual(c.call("SPOP", "nokey", "-1"), positive)
        XCTAssertEqual(c.call("SPOP", "s", "1", "2"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("SCARD", "s"), .integer(1))
        XCTAssertEqual(TestServer().client().call("SPOP", "nokey", "2"), .array([]))
    }

    // MARK: SRANDMEMBER

    func testSRandMemberWithoutCount() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SRANDMEMBER", "nokey"), .null)
        c.call("SADD", "s", "a", "b", "c")
        var seen: Set<String> = []
        for _ in 0..<200 { seen.insert(c.call("SRANDMEMBER", "s")!.string!) }
        XCTAssertEqual(seen, ["a", "b", "c"])
        XCTAssertEqual(c.call("SCARD", "s"), .integer(3), "SRANDMEMBER removes nothing")
    }

    func testSRandMemberWithCount() {
        let c = TestServer().client(proto: .resp3)
        XCTAssertEqual(c.call("SRANDMEMBER", "nokey", "2"), .array([]), "an array, not a set, even in RESP3")
        XCTAssertEqual(c.call("SRANDMEMBER", "nokey", "-2"), .array([]))
        let all = (0..<10).map { "m\($0)" }
        c.call(["SADD", "s"] + all)
        XCTAssertEqual(c.call("SRANDMEMBER", "s", "0"), .array([]))
        for count in [1, 4, 9] {
            guard case .array(let picks)? = c.call("SRANDMEMBER", "s", String(count)) else { return XCTFail() }
            let strings = picks.compactMap(\.string)
            XCTAssertEqual(strings.count, count)
            XCTAssertEqual(Set(strings).count, count, "a positive count gives distinct members")
            XCTAssertTrue(Set(strings).isSubset(of: Set(all)))
        }
        XCTAssertEqual(members(c.call("SRANDMEMBER", "s", "10")), all.sorted())
        XCTAssertEqual(members(c.call("SRANDMEMBER", "s", "1000")), all.sorted())
        var seen: Set<String> = []
        for _ in 0..<100 { seen.formUnion(members(c.call("SRANDMEMBER", "s", "3"))) }
        XCTAssertEqual(seen, Set(all), "distinct picks still cover the whole set")
        XCTAssertEqual(c.call("SCARD", "s"), .integer(10))
    }

    func testSRandMemberNegativeCountRepeats() {
        let c = TestServer().client()
        c.call("SADD", "one", "x")
        XCTAssertEqual(c.call("SRANDMEMBER", "one", "-3"), bulks("x", "x", "x"))
        XCTAssertEqual(c.call("SRANDMEMBER", "one", "3"), bulks("x"))
        c.call("SADD", "s", "a", "b", "c")
        let picks = c.call("SRANDMEMBER", "s", "-300")!.elements.compactMap(\.string)
        XCTAssertEqual(picks.count, 300)
        XCTAssertEqual(Set(picks), ["a", "b", "c"])
        // Roughly uniform: each of three members should get far more than 10% of 300 draws.
        for m in ["a", "b", "c"] { XCTAssertGreaterThan(picks.filter { $0 == m }.count, 30, m) }
    }

    func testSRandMemberErrors() {
        let c = TestServer().client()
        c.call("SADD", "s", "a")
        XCTAssertEqual(c.call("SRANDMEMBER", "s", "x"), notInteger)
        XCTAssertEqual(c.call("SRANDMEMBER", "nokey", "x"), notInteger)
        XCTAssertEqual(c.call("SRANDMEMBER", "s", "1", "2"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("SRANDMEMBER", "s", "-9223372036854775808"),
                       .error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"))
    }

    // MARK: SMOVE

    func testSMove() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "src", "a", "b")
        c.call("SADD", "dst", "b")
        XCTAssertEqual(c.call("SMOVE", "src", "dst", "a"), .integer(1))
        XCTAssertEqual(members(c.call("SMEMBERS", "src")), ["b"])
        XCTAssertEqual(members(c.call("SMEMBERS", "dst")), ["a", "b"])
        XCTAssertEqual(c.call("SMOVE", "src", "dst", "zz"), .integer(0))
        // The member is already in the destination: it still leaves the source.
        XCTAssertEqual(c.call("SMOVE", "src", "dst", "b"), .integer(1))
        XCTAssertEqual(c.call("EXISTS", "src"), .integer(0), "an emptied source is deleted")
        XCTAssertEqual(members(c.call("SMEMBERS", "dst")), ["a", "b"])
        // A missing destination is created.
        XCTAssertEqual(c.call("SMOVE", "dst", "new", "a"), .integer(1))
        XCTAssertEqual(members(c.call("SMEMBERS", "new")), ["a"])
        XCTAssertEqual(c.call("SMOVE", "nokey", "dst", "a"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "nokey"), .integer(0))
    }

    func testSMoveOntoItself() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "s", "a")
        let before = dirty(s)
        XCTAssertEqual(c.call("SMOVE", "s", "s", "a"), .integer(1))
        XCTAssertEqual(c.call("SMOVE", "s", "s", "zz"), .integer(0))
        XCTAssertEqual(members(c.call("SMEMBERS", "s")), ["a"])
        XCTAssertEqual(dirty(s), before)
    }

    func testSMoveTypeChecks() {
        let c = TestServer().client()
        c.call("SET", "str", "x")
        c.call("SADD", "s", "a")
        XCTAssertEqual(c.call("SMOVE", "nokey", "str", "a"), .integer(0), "a missing source wins over a bad destination")
        XCTAssertEqual(c.call("SMOVE", "s", "str", "zz"), wrongType, "the destination is checked before membership")
        XCTAssertEqual(c.call("SMOVE", "s", "str", "a"), wrongType)
        XCTAssertEqual(c.call("SMOVE", "str", "s", "a"), wrongType)
        XCTAssertEqual(members(c.call("SMEMBERS", "s")), ["a"], "nothing moved")
    }

    func testSMoveChangeCounting() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "src", "a", "b")
        c.call("SADD", "dst", "b")
        let base = dirty(s)
        c.call("SMOVE", "src", "dst", "a")
        XCTAssertEqual(dirty(s), base + 2, "both keys changed")
        c.call("SMOVE", "src", "dst", "b")
        XCTAssertEqual(dirty(s), base + 3, "the destination already had it")
        c.call("SMOVE", "dst", "other", "zz")
        XCTAssertEqual(dirty(s), base + 3)
    }

    // MARK: SINTER, SINTERSTORE, SINTERCARD

    func testSInter() {
        let c = TestServer().client(proto: .resp3)
        c.call("SADD", "a", "1", "2", "3", "4")
        c.call("SADD", "b", "2", "3", "5")
        c.call("SADD", "c", "3", "2", "9")
        XCTAssertEqual(members(c.call("SINTER", "a", "b", "c")), ["2", "3"])
        guard case .set? = c.call("SINTER", "a", "b") else { return XCTFail("RESP3 set") }
        XCTAssertEqual(members(c.call("SINTER", "a")), ["1", "2", "3", "4"])
        XCTAssertEqual(members(c.call("SINTER", "a", "a")), ["1", "2", "3", "4"])
        XCTAssertEqual(c.call("SINTER", "a", "nokey"), .set([]))
        XCTAssertEqual(c.call("SINTER", "nokey"), .set([]))
    }

    func testSInterStore() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "a", "1", "2", "3")
        c.call("SADD", "b", "2", "3", "4")
        c.call("SET", "dst", "string", "EX", "100")
        XCTAssertEqual(c.call("SINTERSTORE", "dst", "a", "b"), .integer(2))
        XCTAssertEqual(members(c.call("SMEMBERS", "dst")), ["2", "3"], "any old value is overwritten")
        XCTAssertEqual(entry(s, "dst")?.expireAt, 0, "and its TTL dropped")
        XCTAssertEqual(c.call("SINTERSTORE", "dst", "a", "nokey"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "dst"), .integer(0), "an empty result deletes the destination")
        XCTAssertEqual(c.call("SINTERSTORE", "a", "a", "b"), .integer(2), "the destination may be a source")
        XCTAssertEqual(members(c.call("SMEMBERS", "a")), ["2", "3"])
        XCTAssertEqual(c.call("SINTERSTORE", "dst"), .error("ERR wrong number of arguments for 'sinterstore' command"))
    }

    func testSInterCard() {
        let c = TestServer().client()
        c.call("SADD", "a", "1", "2", "3", "4")
        c.call("SADD", "b", "2", "3", "4", "5")
        XCTAssertEqual(c.call("SINTERCARD", "2", "a", "b"), .integer(3))
        XCTAssertEqual(c.call("SINTERCARD", "1", "a"), .integer(4))
        XCTAssertEqual(c.call("SINTERCARD", "2", "a", "b", "LIMIT", "2"), .integer(2))
        XCTAssertEqual(c.call("SINTERCARD", "2", "a", "b", "limit", "0"), .integer(3), "0 means no limit")
        XCTAssertEqual(c.call("SINTERCARD", "2", "a", "b", "LIMIT", "100"), .integer(3))
        XCTAssertEqual(c.call("SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "2"), .integer(2), "the last LIMIT wins")
        XCTAssertEqual(c.call("SINTERCARD", "2", "a", "nokey"), .integer(0))
    }

    func testSInterCardErrors() {
        let c = TestServer().client()
        c.call("SADD", "s", "a")
        c.call("SET", "str", "x")
        let numkeys = Reply.error("ERR numkeys should be greater than 0")
        XCTAssertEqual(c.call("SINTERCARD", "0", "s"), numkeys)
        XCTAssertEqual(c.call("SINTERCARD", "-1", "s"), numkeys)
        XCTAssertEqual(c.call("SINTERCARD", "x", "s"), numkeys)
        XCTAssertEqual(c.call("SINTERCARD", "9223372036854775808", "s"), numkeys)
        XCTAssertEqual(c.call("SINTERCARD", "2", "s"), .error("ERR Number of keys can't be greater than number of args"))
        XCTAssertEqual(c.call("SINTERCARD", "1", "s", "LIMIT"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("SINTERCARD", "1", "s", "FOO", "1"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("SINTERCARD", "1", "s", "LIMIT", "-1"), .error("ERR LIMIT can't be negative"))
        XCTAssertEqual(c.call("SINTERCARD", "1", "s", "LIMIT", "x"), .error("ERR LIMIT can't be negative"))
        XCTAssertEqual(c.call("SINTERCARD", "1", "nokey", "str"), .error("ERR syntax error"), "str is an option here")
        XCTAssertEqual(c.call("SINTERCARD", "2", "nokey", "str"), wrongType)
        XCTAssertEqual(c.call("SINTERCARD", "2", "s", "str"), wrongType)
    }

    // MARK: SUNION, SUNIONSTORE

    func testSUnion() {
        let c = TestServer().client(proto: .resp3)
        c.call("SADD", "a", "1", "2")
        c.call("SADD", "b", "2", "3")
        XCTAssertEqual(members(c.call("SUNION", "a", "b", "nokey")), ["1", "2", "3"])
        guard case .set? = c.call("SUNION", "a") else { return XCTFail("RESP3 set") }
        XCTAssertEqual(c.call("SUNION", "nokey"), .set([]))
        XCTAssertEqual(members(c.call("SMEMBERS", "a")), ["1", "2"], "sources are not modified")
    }

    func testSUnionStore() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "a", "1", "2")
        c.call("SADD", "b", "2", "3")
        c.call("SET", "dst", "x", "EX", "100")
        XCTAssertEqual(c.call("SUNIONSTORE", "dst", "a", "b"), .integer(3))
        XCTAssertEqual(members(c.call("SMEMBERS", "dst")), ["1", "2", "3"])
        XCTAssertEqual(entry(s, "dst")?.expireAt, 0)
        XCTAssertEqual(c.call("SUNIONSTORE", "b", "b", "a", "nokey"), .integer(3))
        XCTAssertEqual(members(c.call("SMEMBERS", "b")), ["1", "2", "3"])
        XCTAssertEqual(members(c.call("SMEMBERS", "a")), ["1", "2"], "the stored result is a copy")
        c.call("SADD", "dst", "99")
        XCTAssertEqual(members(c.call("SMEMBERS", "b")), ["1", "2", "3"])
        XCTAssertEqual(c.call("SUNIONSTORE", "dst", "nokey"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "dst"), .integer(0))
        let before = dirty(s)
        XCTAssertEqual(c.call("SUNIONSTORE", "dst", "nokey"), .integer(0))
        XCTAssertEqual(dirty(s), before, "deleting a missing destination is not a change")
    }

    // MARK: SDIFF, SDIFFSTORE

    func testSDiff() {
        let c = TestServer().client(proto: .resp3)
        c.call("SADD", "a", "1", "2", "3", "4")
        c.call("SADD", "b", "2")
        c.call("SADD", "c", "4", "9")
        XCTAssertEqual(members(c.call("SDIFF", "a", "b", "c")), ["1", "3"])
        XCTAssertEqual(members(c.call("SDIFF", "a", "nokey")), ["1", "2", "3", "4"])
        XCTAssertEqual(members(c.call("SDIFF", "b", "a")), [])
        XCTAssertEqual(c.call("SDIFF", "a", "a"), .set([]))
        XCTAssertEqual(c.call("SDIFF", "nokey", "a"), .set([]))
        guard case .set? = c.call("SDIFF", "a") else { return XCTFail("RESP3 set") }
    }

    func testSDiffStore() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "a", "1", "2", "3")
        c.call("SADD", "b", "2")
        XCTAssertEqual(c.call("SDIFFSTORE", "dst", "a", "b"), .integer(2))
        XCTAssertEqual(members(c.call("SMEMBERS", "dst")), ["1", "3"])
        XCTAssertEqual(c.call("SDIFFSTORE", "dst", "a", "a"), .integer(0))
        XCTAssertEqual(c.call("EXISTS", "dst"), .integer(0))
        XCTAssertEqual(c.call("SDIFFSTORE", "a", "a", "b"), .integer(2))
        XCTAssertEqual(members(c.call("SMEMBERS", "a")), ["1", "3"])
    }

    func testSetAlgebraTypeChecks() {
        let c = TestServer().client()
        c.call("SET", "str", "x")
        c.call("SADD", "s", "a")
        // Redis 7.0 checks every key's type before computing: a missing key does not short-cut.
        for call in [["SINTER", "nokey", "str"], ["SINTER", "s", "nokey", "str"], ["SUNION", "str", "nokey"],
                     ["SDIFF", "nokey", "str"], ["SDIFF", "s", "nokey", "str"], ["SINTERSTORE", "d", "s", "str"],
                     ["SUNIONSTORE", "d", "nokey", "str"], ["SDIFFSTORE", "d", "nokey", "str"]] {
            XCTAssertEqual(c.call(call), wrongType, call.joined(separator: " "))
        }
        XCTAssertEqual(c.call("EXISTS", "d"), .integer(0))
        // The destination's own type does not matter.
        XCTAssertEqual(c.call("SINTERSTORE", "str", "s"), .integer(1))
        XCTAssertEqual(members(c.call("SMEMBERS", "str")), ["a"])
    }

    // MARK: SSCAN

    func testSScanIntsetComesWhole() {
        let c = TestServer().client()
        c.call(["SADD", "ints"] + (1...20).map(String.init))
        // An intset is returned whole whatever the cursor and COUNT, as in Redis.
        for cursor in ["0", "5"] {
            let reply = c.call("SSCAN", "ints", cursor, "COUNT", "2")!.elements
            XCTAssertEqual(reply[0], .bulk("0"))
            XCTAssertEqual(members(reply[1]), (1...20).map(String.init).sorted())
        }
        let matched = c.call("SSCAN", "ints", "0", "MATCH", "1?")!.elements
        XCTAssertEqual(matched[0], .bulk("0"))
        XCTAssertEqual(members(matched[1]), (10...19).map(String.init))
    }

    func testSScanStringSetIsPaged() {
        let c = TestServer().client()
        c.call(["SADD", "s"] + (1...20).map { "a\($0)" })
        let reply = c.call("SSCAN", "s", "0", "COUNT", "2")!.elements
        XCTAssertNotEqual(reply[0], .bulk("0"), "a hashtable-encoded set is paged")
        XCTAssertLessThan(reply[1].elements.count, 20)
    }

    /// Redis's guarantee: an element present for the whole iteration is returned at least once,
    /// and the cursor comes back to 0.
    func testSScanFullIterationOver1000Members() {
        let c = TestServer().client()
        let all = Set((0..<1000).map { "member:\($0)" })
        XCTAssertEqual(c.call(["SADD", "s"] + all.sorted()), .integer(1000))
        for count in [nil, "1", "13", "1000", "100000"] {
            var seen: Set<String> = []
            var cursor = "0"
            var calls = 0
            repeat {
                var call = ["SSCAN", "s", cursor]
                if let count { call += ["COUNT", count] }
                guard case .array(let reply)? = c.call(call), reply.count == 2,
                      case .bulk(let next) = reply[0], case .array(let page) = reply[1] else {
                    return XCTFail("bad SSCAN reply")
                }
                seen.formUnion(page.compactMap(\.string))
                cursor = next
                calls += 1
            } while cursor != "0" && calls < 5000
            XCTAssertEqual(cursor, "0", "iteration ends")
            XCTAssertEqual(seen, all, "COUNT \(count ?? "default")")
        }
    }

    /// Members that stay in the set during the whole iteration are seen even while others are
    /// added and removed between calls.
    func testSScanUnderConcurrentWrites() {
        let c = TestServer().client()
        let stable = Set((0..<600).map { "stable:\($0)" })
        c.call(["SADD", "s"] + stable.sorted())
        var seen: Set<String> = []
        var cursor = "0"
        var round = 0
        repeat {
            let reply = c.call("SSCAN", "s", cursor, "COUNT", "25")!.elements
            seen.formUnion(reply[1].elements.compactMap(\.string))
            cursor = reply[0].string!
            c.call("SADD", "s", "churn:\(round)", "churn:\(round + 1000)")
            c.call("SREM", "s", "churn:\(round - 1)")
            round += 1
        } while cursor != "0" && round < 10_000
        XCTAssertEqual(cursor, "0")
        XCTAssertTrue(stable.isSubset(of: seen))
    }

    func testSScanMatchAndErrors() {
        let c = TestServer().client()
        c.call(["SADD", "s"] + (0..<200).map { "x\($0)" })
        c.call("SET", "str", "x")
        var seen: Set<String> = []
        var cursor = "0"
        repeat {
            let reply = c.call("SSCAN", "s", cursor, "MATCH", "x1?", "COUNT", "30")!.elements
            seen.formUnion(reply[1].elements.compactMap(\.string))
            cursor = reply[0].string!
        } while cursor != "0"
        XCTAssertEqual(seen, Set((10..<20).map { "x\($0)" }))
        XCTAssertEqual(c.call("SSCAN", "nokey", "0"), .array([.bulk("0"), .array([])]))
        XCTAssertEqual(c.call("SSCAN", "nokey", "0", "COUNT", "0"), .array([.bulk("0"), .array([])]))
        XCTAssertEqual(c.call("SSCAN", "s", "x"), .error("ERR invalid cursor"))
        XCTAssertEqual(c.call("SSCAN", "s", "0", "COUNT", "0"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("SSCAN", "s", "0", "COUNT", "x"), notInteger)
        XCTAssertEqual(c.call("SSCAN", "s", "0", "TYPE", "set"), .error("ERR syntax error"))
        XCTAssertEqual(c.call("SSCAN", "str", "0"), wrongType)
    }

    // MARK: types and change tracking

    func testEverySetCommandRejectsOtherTypes() {
        let c = TestServer().client()
        c.call("SET", "str", "x")
        let calls: [[String]] = [
            ["SADD", "str", "a"], ["SREM", "str", "a"], ["SMEMBERS", "str"], ["SISMEMBER", "str", "a"],
            ["SMISMEMBER", "str", "a"], ["SCARD", "str"], ["SPOP", "str"], ["SPOP", "str", "0"],
            ["SRANDMEMBER", "str"], ["SRANDMEMBER", "str", "0"], ["SRANDMEMBER", "str", "-2"],
            ["SINTER", "str"], ["SINTERCARD", "1", "str"], ["SUNION", "str"], ["SDIFF", "str"], ["SSCAN", "str", "0"],
        ]
        for call in calls { XCTAssertEqual(c.call(call), wrongType, call.joined(separator: " ")) }
        XCTAssertEqual(c.call("GET", "str"), .bulk("x"))
    }

    func testChangeCountingFollowsRedis() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "s", "a", "b", "c")
        XCTAssertEqual(dirty(s), 3, "one change per added member")
        c.call("SADD", "s", "a")
        c.call("SREM", "s", "zz")
        c.call("SMEMBERS", "s")
        c.call("SRANDMEMBER", "s", "-5")
        c.call("SPOP", "s", "0")
        c.call("SPOP", "nokey")
        XCTAssertEqual(dirty(s), 3, "no-ops, reads and errors change nothing")
        c.call("SREM", "s", "a", "b")
        XCTAssertEqual(dirty(s), 5)
        c.call("SPOP", "s")
        XCTAssertEqual(dirty(s), 6)
    }

    func testWriteInvalidatesWatch() {
        let s = TestServer()
        let c = s.client()
        c.call("SADD", "s", "a")
        let key = ByteBuffer(string: "s")
        let token = WatchToken()
        s.runtime.keyspace.shard(for: key).addWatcher(token, db: 0, key: key)
        c.call("SADD", "s", "a")
        c.call("SREM", "s", "zz")
        c.call("SMOVE", "s", "other", "zz")
        XCTAssertFalse(token.dirty.load(ordering: .relaxed), "no-op writes do not touch watchers")
        c.call("SINTERSTORE", "s", "s")
        XCTAssertTrue(token.dirty.load(ordering: .relaxed), "a STORE rewrites its destination")
    }
}
