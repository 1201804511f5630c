import NIOCore
import XCTest
@testable import Commands
@testable import Keyspace

/// The dispatcher and the command table: key specs, arity, unknown commands, NOAUTH, the RESP2
/// subscriber context, MULTI queueing, CLIENT REPLY.
final class DispatchTests: XCTestCase {
    /// Three key names in three different shards, so a handler that touches a key its spec does
    /// not name hits an unlocked shard (debug builds assert in `CommandContext.shard`).
    private static let keys: [String] = {
        var picked: [String] = []
        var shards = Set<Int>()
        var i = 0
        while picked.count < 3 {
            let k = "key:\(i)"
            if shards.insert(KeySlot.shard(ByteBuffer(string: k))).inserted { picked.append(k) }
            i += 1
        }
        return picked
    }()

    /// One invocation per command and subcommand, with data set up so the handler reaches every
    /// key it can touch. `K1`..`K3` stand for the keys above.
    private static let samples: [(setup: [[String]], command: [String])] = {
        let strings = [["SET", "K1", "10"], ["SET", "K2", "20"], ["SET", "K3", "30"]]
        let lists = [["RPUSH", "K1", "a", "b"], ["RPUSH", "K2", "c"], ["RPUSH", "K3", "d"]]
        let onlyLast = [["RPUSH", "K3", "d"]]
        let hashes = [["HSET", "K1", "f", "v", "n", "1"]]
        let sets = [["SADD", "K1", "a", "b"], ["SADD", "K2", "b", "c"], ["SADD", "K3", "b", "d"]]
        let zsets = [["ZADD", "K1", "1", "a", "2", "b"], ["ZADD", "K2", "2", "b", "3", "c"], ["ZADD", "K3", "1", "b", "4", "d"]]
        let zlast = [["ZADD", "K3", "1", "b"]]
        let future = String(Int(Date().timeIntervalSince1970) + 1000)
        return [
            (strings, ["GET", "K1"]), (strings, ["SET", "K1", "v", "GET"]), ([], ["SETNX", "K1", "v"]),
            ([], ["SETEX", "K1", "10", "v"]), ([], ["PSETEX", "K1", "1000", "v"]), (strings, ["GETSET", "K1", "v"]),
            (strings, ["GETDEL", "K1"]), (strings, ["GETEX", "K1", "EX", "10"]), (strings, ["MGET", "K1", "K2", "K3"]),
            ([], ["MSET", "K1", "a", "K2", "b", "K3", "c"]), ([], ["MSETNX", "K1", "a", "K2", "b", "K3", "c"]),
            (strings, ["APPEND", "K1", "x"]), (strings, ["STRLEN", "K1"]), (strings, ["GETRANGE", "K1", "0", "-1"]),
            (strings, ["SUBSTR", "K1", "0", "-1"]), (strings, ["SETRANGE", "K1", "0", "x"]), (strings, ["INCR", "K1"]),
            (strings, ["DECR", "K1"]), (strings, ["INCRBY", "K1", "2"]), (strings, ["DECRBY", "K1", "2"]),
            (strings, ["INCRBYFLOAT", "K1", "1.5"]), (strings, ["LCS", "K1", "K2", "IDX"]),
            (strings, ["SETBIT", "K1", "3", "1"]), (strings, ["GETBIT", "K1", "3"]), (strings, ["BITCOUNT", "K1", "0", "-1"]),
            (strings, ["BITPOS", "K1", "1"]), (strings, ["BITOP", "AND", "K1", "K2", "K3"]),
            ([], ["PING"]), ([], ["ECHO", "x"]), ([], ["QUIT"]), ([], ["RESET"]), ([], ["AUTH", "pw"]), ([], ["HELLO", "3"]),
            ([], ["SELECT", "1"]), ([], ["CLIENT", "ID"]), ([], ["CLIENT", "SETNAME", "x"]), ([], ["CLIENT", "GETNAME"]),
            ([], ["CLIENT", "LIST"]), ([], ["CLIENT", "INFO"]), ([], ["CLIENT", "KILL", "ID", "99999"]),
            ([], ["CLIENT", "SETINFO", "LIB-NAME", "x"]), ([], ["CLIENT", "NO-EVICT", "on"]), ([], ["CLIENT", "NO-TOUCH", "on"]),
            ([], ["CLIENT", "REPLY", "ON"]), ([], ["CLIENT", "HELP"]), ([], ["CLIENT", "PAUSE", "0"]), ([], ["CLIENT", "UNPAUSE"]),
            (strings, ["DEL", "K1", "K2", "K3"]), (strings, ["UNLINK", "K1", "K2", "K3"]), (strings, ["EXISTS", "K1", "K2", "K3"]),
            (strings, ["TOUCH", "K1", "K2", "K3"]), (strings, ["TYPE", "K1"]), (strings, ["KEYS", "*"]), (strings, ["SCAN", "0"]),
            (strings, ["RANDOMKEY"]), (strings, ["RENAME", "K1", "K2"]), ([["SET", "K1", "x"]], ["RENAMENX", "K1", "K3"]),
            (strings, ["MOVE", "K1", "1"]), (strings, ["COPY", "K1", "K2", "REPLACE"]), (strings, ["EXPIRE", "K1", "100"]),
            (strings, ["PEXPIRE", "K1", "100000"]), (strings, ["EXPIREAT", "K1", future]), (strings, ["PEXPIREAT", "K1", future + "000"]),
            (strings, ["TTL", "K1"]), (strings, ["PTTL", "K1"]), (strings, ["EXPIRETIME", "K1"]), (strings, ["PEXPIRETIME", "K1"]),
            (strings + [["EXPIRE", "K1", "100"]], ["PERSIST", "K1"]), (strings, ["OBJECT", "ENCODING", "K1"]),
            (strings, ["OBJECT", "REFCOUNT", "K1"]), (strings, ["OBJECT", "IDLETIME", "K1"]), (strings, ["OBJECT", "FREQ", "K1"]),
            ([], ["OBJECT", "HELP"]),
            ([], ["ACL", "SETUSER", "u", "on", "+@read", "~K*"]), ([["ACL", "SETUSER", "u"]], ["ACL", "GETUSER", "u"]),
            ([["ACL", "SETUSER", "u"]], ["ACL", "DELUSER", "u"]), ([], ["ACL", "LIST"]), ([], ["ACL", "USERS"]),
            ([], ["ACL", "WHOAMI"]), ([], ["ACL", "CAT", "read"]), ([], ["ACL", "GENPASS"]), ([], ["ACL", "LOG"]),
            ([["ACL", "SETUSER", "u"]], ["ACL", "DRYRUN", "u", "GET", "K1"]), ([], ["ACL", "LOAD"]), ([], ["ACL", "SAVE"]),
            ([], ["ACL", "HELP"]),
            (strings, ["MEMORY", "USAGE", "K1", "SAMPLES", "0"]), ([], ["MEMORY", "STATS"]), ([], ["MEMORY", "DOCTOR"]),
            ([], ["MEMORY", "MALLOC-STATS"]), ([], ["MEMORY", "PURGE"]), ([], ["MEMORY", "HELP"]),
            ([], ["SLOWLOG", "GET"]), ([], ["SLOWLOG", "LEN"]), ([], ["SLOWLOG", "RESET"]), ([], ["SLOWLOG", "HELP"]),
            ([], ["LATENCY", "LATEST"]), ([], ["LATENCY", "HISTORY", "command"]), ([], ["LATENCY", "RESET"]),
            ([], ["LATENCY", "DOCTOR"]), ([], ["LATENCY", "GRAPH", "command"]), ([], ["LATENCY", "HISTOGRAM"]), ([], ["LATENCY", "HELP"]), ([], ["MONITOR"]),
            ([], ["LPUSH", "K1", "x"]), ([], ["RPUSH", "K1", "x"]), (lists, ["LPUSHX", "K1", "x"]), (lists, ["RPUSHX", "K1", "x"]),
            (lists, ["LPOP", "K1"]), (lists, ["RPOP", "K1", "2"]), (lists, ["LLEN", "K1"]), (lists, ["LRANGE", "K1", "0", "-1"]),
            (lists, ["LINDEX", "K1", "0"]), (lists, ["LSET", "K1", "0", "z"]), (lists, ["LINSERT", "K1", "BEFORE", "a", "z"]),
            (lists, ["LREM", "K1", "0", "a"]), (lists, ["LTRIM", "K1", "0", "0"]), (lists, ["LPOS", "K1", "a"]),
            (lists, ["LMOVE", "K1", "K2", "LEFT", "RIGHT"]), (lists, ["RPOPLPUSH", "K1", "K2"]),
            (onlyLast, ["LMPOP", "3", "K1", "K2", "K3", "LEFT"]), (onlyLast, ["BLPOP", "K1", "K2", "K3", "0"]),
            (onlyLast, ["BRPOP", "K1", "K2", "K3", "0"]), (lists, ["BLMOVE", "K1", "K2", "LEFT", "LEFT", "0"]),
            (lists, ["BRPOPLPUSH", "K1", "K2", "0"]), (onlyLast, ["BLMPOP", "0", "3", "K1", "K2", "K3", "LEFT"]),
            ([], ["HSET", "K1", "f", "v"]), (hashes, ["HSETNX", "K1", "g", "v"]), (hashes, ["HGET", "K1", "f"]),
            (hashes, ["HMSET", "K1", "f", "v"]), (hashes, ["HMGET", "K1", "f", "g"]), (hashes, ["HGETALL", "K1"]),
            (hashes, ["HDEL", "K1", "f"]), (hashes, ["HLEN", "K1"]), (hashes, ["HSTRLEN", "K1", "f"]), (hashes, ["HEXISTS", "K1", "f"]),
            (hashes, ["HKEYS", "K1"]), (hashes, ["HVALS", "K1"]), (hashes, ["HINCRBY", "K1", "n", "1"]),
            (hashes, ["HINCRBYFLOAT", "K1", "n", "1.5"]), (hashes, ["HRANDFIELD", "K1", "2", "WITHVALUES"]), (hashes, ["HSCAN", "K1", "0"]),
            ([], ["SADD", "K1", "a"]), (sets, ["SREM", "K1", "a"]), (sets, ["SMEMBERS", "K1"]), (sets, ["SISMEMBER", "K1", "a"]),
            (sets, ["SMISMEMBER", "K1", "a", "b"]), (sets, ["SCARD", "K1"]), (sets, ["SPOP", "K1"]), (sets, ["SRANDMEMBER", "K1", "-3"]),
            (sets, ["SMOVE", "K1", "K2", "a"]), (sets, ["SINTER", "K1", "K2", "K3"]), (sets, ["SINTERSTORE", "K1", "K2", "K3"]),
            (sets, ["SINTERCARD", "3", "K1", "K2", "K3"]), (sets, ["SUNION", "K1", "K2", "K3"]), (sets, ["SUNIONSTORE", "K1", "K2", "K3"]),
            (sets, ["SDIFF", "K1", "K2", "K3"]), (sets, ["SDIFFSTORE", "K1", "K2", "K3"]), (sets, ["SSCAN", "K1", "0"]),
            ([], ["ZADD", "K1", "1", "a"]), (zsets, ["ZINCRBY", "K1", "2", "a"]), (zsets, ["ZREM", "K1", "a"]), (zsets, ["ZCARD", "K1"]),
            (zsets, ["ZCOUNT", "K1", "-inf", "+inf"]), (zsets, ["ZLEXCOUNT", "K1", "-", "+"]), (zsets, ["ZSCORE", "K1", "a"]),
            (zsets, ["ZMSCORE", "K1", "a", "b"]), (zsets, ["ZRANK", "K1", "a"]), (zsets, ["ZREVRANK", "K1", "a"]),
            (zsets, ["ZRANGE", "K1", "0", "-1", "WITHSCORES"]), (zsets, ["ZRANGESTORE", "K2", "K1", "0", "-1"]),
            (zsets, ["ZREVRANGE", "K1", "0", "-1"]), (zsets, ["ZRANGEBYSCORE", "K1", "-inf", "+inf"]),
            (zsets, ["ZREVRANGEBYSCORE", "K1", "+inf", "-inf"]), (zsets, ["ZRANGEBYLEX", "K1", "-", "+"]),
            (zsets, ["ZREVRANGEBYLEX", "K1", "+", "-"]), (zsets, ["ZREMRANGEBYRANK", "K1", "0", "0"]),
            (zsets, ["ZREMRANGEBYSCORE", "K1", "1", "1"]), (zsets, ["ZREMRANGEBYLEX", "K1", "-", "+"]),
            (zsets, ["ZPOPMIN", "K1"]), (zsets, ["ZPOPMAX", "K1", "2"]), (zlast, ["BZPOPMIN", "K1", "K2", "K3", "0"]),
            (zlast, ["BZPOPMAX", "K1", "K2", "K3", "0"]), (zlast, ["ZMPOP", "3", "K1", "K2", "K3", "MIN"]),
            (zlast, ["BZMPOP", "0", "3", "K1", "K2", "K3", "MAX"]), (zsets, ["ZRANDMEMBER", "K1", "-3", "WITHSCORES"]),
            (zsets, ["ZUNION", "3", "K1", "K2", "K3", "WITHSCORES"]), (zsets, ["ZINTER", "3", "K1", "K2", "K3"]),
            (zsets, ["ZDIFF", "3", "K1", "K2", "K3"]), (zsets, ["ZUNIONSTORE", "K1", "3", "K1", "K2", "K3"]),
            (zsets, ["ZINTERSTORE", "K2", "3", "K1", "K2", "K3", "WEIGHTS", "1", "2", "3"]),
            (zsets, ["ZDIFFSTORE", "K3", "3", "K1", "K2", "K3"]), (zsets, ["ZINTERCARD", "3", "K1", "K2", "K3", "LIMIT", "1"]),
            (zsets, ["ZSCAN", "K1", "0"]),
            (lists, ["SORT", "K1", "ALPHA", "STORE", "K2"]), (zsets, ["SORT_RO", "K1", "BY", "nosort"]),
            ([], ["SUBSCRIBE", "ch"]), ([["SUBSCRIBE", "ch"]], ["UNSUBSCRIBE"]), ([], ["PSUBSCRIBE", "c*"]),
            ([["PSUBSCRIBE", "c*"]], ["PUNSUBSCRIBE"]), ([], ["PUBLISH", "ch", "m"]), ([], ["SSUBSCRIBE", "sc"]),
            ([["SSUBSCRIBE", "sc"]], ["SUNSUBSCRIBE"]), ([], ["SPUBLISH", "sc", "m"]), ([], ["PUBSUB", "CHANNELS"]),
            ([], ["PUBSUB", "NUMSUB", "ch"]), ([], ["PUBSUB", "NUMPAT"]), ([], ["PUBSUB", "SHARDCHANNELS"]),
            ([], ["PUBSUB", "SHARDNUMSUB", "sc"]),
            (strings, ["DBSIZE"]), (strings, ["FLUSHDB"]), (strings, ["FLUSHALL"]), (strings, ["SWAPDB", "0", "1"]),
            ([], ["INFO"]), ([], ["TIME"]), ([], ["LASTSAVE"]), ([], ["SHUTDOWN"]), ([], ["CONFIG", "GET", "*"]),
            ([], ["CONFIG", "SET", "hz", "10"]), ([], ["CONFIG", "RESETSTAT"]), ([], ["CONFIG", "REWRITE"]), ([], ["CONFIG", "HELP"]),
            ([], ["COMMAND"]), ([], ["COMMAND", "COUNT"]), ([], ["COMMAND", "DOCS", "get"]), ([], ["COMMAND", "GETKEYS", "GET", "k"]),
            ([], ["COMMAND", "HELP"]), ([], ["COMMAND", "INFO", "get"]), ([], ["COMMAND", "LIST"]),
            ([], ["CLIENT", "UNBLOCK", "99999"]), ([], ["DEBUG", "SLEEP", "0"]), ([], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), ([], ["DEBUG", "HELP"]), ([], ["DEBUG", "FORBIDDEN-SYSCALL"]),
            (strings, ["SAVE"]), (strings, ["BGSAVE"]), (strings, ["BGREWRITEAOF"]), (strings, ["DEBUG", "RELOAD"]), ([], ["DEBUG", "POPULATE", "50", "K1"]),
            ([], ["FUNCTION", "LIST"]), ([], ["FUNCTION", "FLUSH"]),
            ([], ["MULTI"]), ([["MULTI"], ["SET", "K1", "x"], ["MSET", "K2", "a", "K3", "b"], ["RPUSH", "K1", "y"], ["FLUSHALL"]], ["EXEC"]),
            ([["MULTI"]], ["DISCARD"]), (strings, ["WATCH", "K1", "K2", "K3"]), ([["WATCH", "K1", "K2", "K3"]], ["UNWATCH"]),
            ([["WATCH", "K1", "K2", "K3"], ["MULTI"], ["UNWATCH"], ["SET", "K1", "z"]], ["EXEC"]),
            ([], ["REPLICAOF", "NO", "ONE"]), ([], ["SLAVEOF", "NO", "ONE"]), ([], ["REPLCONF", "listening-port", "6380"]),
            ([], ["PSYNC", "?", "-1"]), ([], ["SYNC"]), ([], ["ROLE"]), ([], ["WAIT", "0", "0"]),
        ]
    }()

    private static func substitute(_ args: [String]) -> [String] {
        args.map { a in
            switch a {
            case "K1": return keys[0]
            case "K2": return keys[1]
            case "K3": return keys[2]
            default: return a
            }
        }
    }

    /// Every command runs under exactly the locks its key spec names: a handler touching any
    /// other key would trip the debug assertion and crash this test.
    func testEveryCommandRunsWithinItsKeySpec() {
        for (setup, command) in Self.samples {
            let s = TestServer()
            let c = s.client()
            for cmd in setup { c.call(Self.substitute(cmd)) }
            let reply = c.call(Self.substitute(command))
            if case .error(let e)? = reply, e.hasPrefix("ERR wrong number") || e.hasPrefix("ERR unknown") || e.hasPrefix("ERR syntax") {
                XCTFail("sample \(command) was rejected: \(e)")
            }
        }
    }

    /// Every write that changes a key publishes a keyspace event: a handler that forgot to
    /// notify fails here (the events themselves are compared with redis-server's in
    /// Tests/Integration/test_notifications.py). The exceptions publish nothing in Redis either.
    func testEveryKeyChangePublishesAnEvent() {
        let silent: Set<String> = ["flushdb", "flushall", "swapdb", "debug", "exec", "shutdown", "save", "bgsave",
                                   "bgrewriteaof", "function", "replicaof", "slaveof", "multi", "psync", "sync"]
        for (setup, command) in Self.samples where !silent.contains(command[0].lowercased()) {
            let s = TestServer()
            let c = s.client()
            for cmd in setup { c.call(Self.substitute(cmd)) }
            let watcher = s.client()
            watcher.call("PSUBSCRIBE", "__key*__:*")
            watcher.pushed.removeAll()
            s.runtime.keyspaceEvents.store(KeyspaceEventClass(letters: "AKEn").rawValue, ordering: .relaxed)
            let before = s.runtime.stats.changesSinceSave.load(ordering: .relaxed)
            c.call(Self.substitute(command))
            let changed = s.runtime.stats.changesSinceSave.load(ordering: .relaxed) != before
            if changed {
                XCTAssertFalse(watcher.pushed.isEmpty, "\(command) changed data without a keyspace event")
            }
        }
    }

    /// A new command without a sample above fails here, so the key-spec check stays complete.
    func testSamplesCoverTheWholeTable() {
        let table = CommandTable.standard
        var expected = Set<String>()
        for c in table.commands.values {
            if c.subcommands.isEmpty { expected.insert(c.name) } else { for s in c.subcommands.values { expected.insert(s.fullName) } }
        }
        var covered = Set<String>()
        for (_, command) in Self.samples {
            let name = command[0].lowercased()
            guard let c = table.commands[name] else { XCTFail("sample for unknown command \(name)"); continue }
            if c.subcommands.isEmpty || command.count == 1 { covered.insert(name) } else { covered.insert("\(name)|\(command[1].lowercased())") }
        }
        XCTAssertEqual(expected.subtracting(covered).sorted(), [], "commands without a dispatch sample")
    }

    func testArityErrorsFollowTheTable() {
        let s = TestServer()
        let c = s.client()
        for cmd in s.runtime.table.commands.values where cmd.subcommands.isEmpty && cmd.arity != -1 {
            // One argument short of the minimum, or one more than an exact arity.
            let count = cmd.arity > 0 ? cmd.arity + 1 : -cmd.arity - 1
            let args = [cmd.name] + Array(repeating: "x", count: count - 1)
            XCTAssertEqual(c.call(args), .error("ERR wrong number of arguments for '\(cmd.name)' command"), cmd.name)
        }
        for cmd in s.runtime.table.commands.values where !cmd.subcommands.isEmpty {
            if !cmd.runsWithoutSubcommand {
                XCTAssertEqual(c.call(cmd.name), .error("ERR wrong number of arguments for '\(cmd.name)' command"), cmd.name)
            }
            for sub in cmd.subcommands.values where sub.arity != -2 {
                let count = sub.arity > 0 ? sub.arity + 1 : -sub.arity - 1
                let args = [cmd.name, sub.name] + Array(repeating: "x", count: count - 2)
                XCTAssertEqual(c.call(args), .error("ERR wrong number of arguments for '\(cmd.name)|\(sub.name)' command"), sub.fullName)
            }
        }
    }

    func testUnknownCommandsAndSubcommands() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("NOPE"), .error("ERR unknown command 'NOPE', with args beginning with: "))
        XCTAssertEqual(c.call("nope", "a", "b"), .error("ERR unknown command 'nope', with args beginning with: 'a' 'b' "))
        XCTAssertEqual(c.call("CLIENT", "nope"), .error("ERR unknown subcommand 'nope'. Try CLIENT HELP."))
        XCTAssertEqual(c.call("config", "Nope", "x"), .error("ERR unknown subcommand 'Nope'. Try CONFIG HELP."))
        // Command names are case-insensitive.
        XCTAssertEqual(c.call("pInG"), .simple("PONG"))
        XCTAssertEqual(c.call("client", "GetName"), .null)
    }

    func testNoauth() {
        let s = TestServer()
        s.runtime.acl.setDefaultPassword("pw")
        let c = s.client()
        c.state.authenticated = false
        XCTAssertEqual(c.call("SET", "k", "v"), .error("NOAUTH Authentication required."))
        XCTAssertEqual(c.call("CLIENT", "ID"), .error("NOAUTH Authentication required."))
        XCTAssertEqual(c.call("MULTI"), .error("NOAUTH Authentication required."))
        // Arity is checked before authentication.
        XCTAssertEqual(c.call("GET"), .error("ERR wrong number of arguments for 'get' command"))
        XCTAssertEqual(c.call("AUTH", "pw"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .null)
        XCTAssertEqual(c.call("RESET"), .simple("RESET"))
        XCTAssertFalse(c.state.authenticated, "RESET goes back to the default user, which needs a password")
        s.runtime.acl.setDefaultPassword("")
        c.state.authenticated = false
        XCTAssertEqual(c.call("RESET"), .simple("RESET"))
        XCTAssertTrue(c.state.authenticated, "RESET re-authenticates when no password is required")
    }

    func testMultiQueueing() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("MULTI"), .simple("OK"))
        // Everything but the transaction-control commands is queued, even what would fail.
        XCTAssertEqual(c.call("SET", "k", "v"), .simple("QUEUED"))
        XCTAssertEqual(c.call("SELECT", "99"), .simple("QUEUED"))
        XCTAssertEqual(c.call("CLIENT", "SETNAME", "a b"), .simple("QUEUED"))
        XCTAssertEqual(c.call("EXEC"), .array([
            .simple("OK"), .error("ERR DB index is out of range"),
            .error("ERR Client names cannot contain spaces, newlines or special characters."),
        ]))
        XCTAssertEqual(c.call("MULTI"), .simple("OK"))
        XCTAssertEqual(c.call("CLIENT", "nope"), .error("ERR unknown subcommand 'nope'. Try CLIENT HELP."))
        XCTAssertEqual(c.call("EXEC"), .error("EXECABORT Transaction discarded because of previous errors."))
    }

    func testClientReplyOffAndSkip() {
        let c = TestServer().client()
        XCTAssertNil(c.call("CLIENT", "REPLY", "OFF"))
        XCTAssertNil(c.call("SET", "k", "v"))
        XCTAssertEqual(c.call("CLIENT", "REPLY", "ON"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
        XCTAssertNil(c.call("CLIENT", "REPLY", "SKIP"))
        XCTAssertNil(c.call("PING"))
        XCTAssertEqual(c.call("PING"), .simple("PONG"))
        // SKIP then OFF: still silent.
        XCTAssertNil(c.call("CLIENT", "REPLY", "SKIP"))
        XCTAssertNil(c.call("CLIENT", "REPLY", "OFF"))
        XCTAssertNil(c.call("PING"))
        XCTAssertEqual(c.call("CLIENT", "REPLY", "ON"), .simple("OK"))
        XCTAssertEqual(c.call("CLIENT", "REPLY", "FOO"), .error("ERR syntax error"))
    }
}
