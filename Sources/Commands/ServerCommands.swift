import Basics
import CSwiftletSeccomp
import NIOCore
import Keyspace
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// Server-level commands: keyspace-wide operations (DBSIZE, FLUSHDB, SWAPDB), introspection
/// (INFO, COMMAND, CONFIG, TIME) and administration (SHUTDOWN, DEBUG).
extension CommandTable {
    static let serverCommands: [Command] = [
        Command("dbsize", arity: 1, flags: [.readonly, .fast, .wholeKeyspace], group: "server",
                summary: "Returns the number of keys in the database.", handler: dbsize),
        Command("flushdb", arity: -1, flags: [.write, .wholeKeyspace], group: "server",
                summary: "Removes all keys from the current database.", handler: flushdb),
        Command("flushall", arity: -1, flags: [.write, .wholeKeyspace], group: "server",
                summary: "Removes all keys from all databases.", handler: flushall),
        Command("swapdb", arity: 3, flags: [.write, .fast, .wholeKeyspace], group: "server",
                summary: "Swaps two Redis databases.", handler: swapdb),
        Command("info", arity: -1, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns information and statistics about the server.", handler: info),
        Command("time", arity: 1, flags: [.noKeyspace, .fast, .loading, .stale], group: "server",
                summary: "Returns the server time.", handler: time),
        Command("shutdown", arity: -1, flags: [.noKeyspace, .admin, .noscript, .loading, .stale, .noMulti], group: "server",
                summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", handler: shutdown),
        Command("config", arity: -2, flags: [.noKeyspace], group: "server", summary: "A container for server configuration commands.",
                subcommands: configSubcommands),
        Command("command", arity: -1, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns detailed information about all commands.", subcommands: commandSubcommands,
                runsWithoutSubcommand: true) { ctx in
            let all = ctx.server.table.commands.values.sorted { $0.name < $1.name }
            ctx.out.array(all.count)
            for c in all { writeInfo(c, &ctx) }
        },
        Command("debug", arity: -2, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "server",
                summary: "A container for debugging commands.", subcommands: debugSubcommands + persistenceDebugSubcommands),
        Command("function", arity: -2, flags: [.noKeyspace], group: "scripting", summary: "A container for function commands.",
                subcommands: [
                    // Functions arrive with scripting in a later release; until then the library list is empty.
                    Command("list", arity: -2, flags: [.noKeyspace, .noscript], group: "scripting",
                            summary: "Returns information about all libraries.") { ctx in ctx.out.array(0) },
                    Command("flush", arity: -2, flags: [.noKeyspace, .write, .noscript], group: "scripting",
                            summary: "Deletes all libraries and functions.") { ctx in
                        guard ctx.args.count <= 3 else { return ctx.replySyntaxError() }
                        if ctx.args.count == 3 && !ctx.args[2].equalsIgnoringCase("ASYNC") && !ctx.args[2].equalsIgnoringCase("SYNC") {
                            return ctx.out.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
                        }
                        ctx.out.ok()
                    },
                ]),
    ]

    static func dbsize(_ ctx: inout CommandContext) {
        var n = 0
        for shard in ctx.keyspace.shards { n += shard.dbs[ctx.db].count }
        ctx.out.integer(n)
    }

    /// Parses the optional ASYNC|SYNC of FLUSHDB/FLUSHALL. Freeing is always immediate here.
    private static func flushMode(_ ctx: inout CommandContext) -> Bool {
        guard ctx.args.count <= 2 else { ctx.replySyntaxError(); return false }
        if ctx.args.count == 2 && !ctx.args[1].equalsIgnoringCase("ASYNC") && !ctx.args[1].equalsIgnoringCase("SYNC") {
            ctx.replySyntaxError()
            return false
        }
        return true
    }

    static func flushdb(_ ctx: inout CommandContext) {
        guard flushMode(&ctx) else { return }
        var removed = 0
        for shard in ctx.keyspace.shards {
            removed += shard.dbs[ctx.db].count
            shard.touchWatchedBeforeReplacing(db: ctx.db)
            shard.dbs[ctx.db].removeAll()
        }
        ctx.recordChanges(max(removed, 1))
        ctx.out.ok()
    }

    static func flushall(_ ctx: inout CommandContext) {
        guard flushMode(&ctx) else { return }
        var removed = 0
        for shard in ctx.keyspace.shards {
            for db in 0..<shard.dbs.count {
                removed += shard.dbs[db].count
                shard.touchWatchedBeforeReplacing(db: db)
                shard.dbs[db].removeAll()
            }
        }
        ctx.recordChanges(max(removed, 1))
        ctx.server.hooks.flushedAll(ctx.keyspace.snapshotHoldingLocks(now: ctx.now))
        ctx.out.ok()
    }

    static func swapdb(_ ctx: inout CommandContext) {
        guard let a = ctx.args[1].intValue else { return ctx.out.error("ERR invalid first DB index") }
        guard let b = ctx.args[2].intValue else { return ctx.out.error("ERR invalid second DB index") }
        let n = ctx.keyspace.databaseCount
        guard a >= 0, a < n, b >= 0, b < n else { return ctx.out.error("ERR DB index is out of range") }
        if a != b {
            for shard in ctx.keyspace.shards {
                shard.touchWatchedBeforeReplacing(db: a, with: b)
                shard.touchWatchedBeforeReplacing(db: b, with: a)
                shard.dbs.swapAt(a, b)
            }
            ctx.recordChanges(1)
            // Clients blocked on a key that the swap filled are served after this command.
            if ctx.server.blocking.hasWaiters {
                ctx.readyKeys += ctx.server.blocking.waitingKeys(db: a) + ctx.server.blocking.waitingKeys(db: b)
            }
        }
        ctx.out.ok()
    }

    static func info(_ ctx: inout CommandContext) {
        let sections = ctx.args.dropFirst().map { $0.string }
        ctx.out.verbatim(ctx.server.hooks.info(sections: sections, client: ctx.client))
    }

    static func time(_ ctx: inout CommandContext) {
        let micros = currentTimeMicros()
        ctx.out.array(2)
        ctx.out.bulk(String(micros / 1_000_000))
        ctx.out.bulk(String(micros % 1_000_000))
    }

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
    static func shutdown(_ ctx: inout CommandContext) {
        var save: Bool? = nil
        for a in ctx.args.dropFirst() {
            if a.equalsIgnoringCase("NOSAVE") && save == nil { save = false }
            else if a.equalsIgnoringCase("SAVE") && save == nil { save = true }
            else if a.equalsIgnoringCase("NOW") || a.equalsIgnoringCase("FORCE") { continue }
            else if a.equalsIgnoringCase("ABORT") { return ctx.out.error("ERR No shutdown in progress.") }
            else { return ctx.replySyntaxError() }
        }
        if let error = ctx.server.hooks.shutdown(save: save) {
            ctx.out.error(error)
        } else {
            // The server is going away; like Redis, the client just sees the connection close.
            ctx.closeAfterReply = true
        }
    }

    // MARK: CONFIG

    static let configSubcommands: [Command] = [
        Command("get", arity: -3, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "server",
                summary: "Returns the effective values of configuration parameters.") { ctx in
            let pairs = ctx.server.hooks.configGet(ctx.args.dropFirst(2).map { $0.string.lowercased() })
            ctx.out.map(pairs.count)
            for (k, v) in pairs {
                ctx.out.bulk(k)
                ctx.out.bulk(v)
            }
        },
        Command("set", arity: -4, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "server",
                summary: "Sets configuration parameters in-flight.") { ctx in
            guard ctx.args.count % 2 == 0 else {
                return ctx.out.error("ERR wrong number of arguments for 'config|set' command")
            }
            var pairs: [(String, String)] = []
            var i = 2
            while i + 1 < ctx.args.count {
                let name = ctx.args[i].string.lowercased()
                if pairs.contains(where: { $0.0 == name }) {
                    return ctx.out.error("ERR CONFIG SET failed (possibly related to argument '\(name)') - duplicate parameter")
                }
                pairs.append((name, ctx.args[i + 1].string))
                i += 2
            }
            if let error = ctx.server.hooks.configSet(pairs) { ctx.out.error(error) } else { ctx.out.ok() }
        },
        Command("resetstat", arity: 2, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "server",
                summary: "Resets the server's statistics.") { ctx in
            ctx.server.hooks.resetStats()
            ctx.out.ok()
        },
        Command("rewrite", arity: 2, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "server",
                summary: "Persists the effective configuration to file.") { ctx in
            if let error = ctx.server.hooks.configRewrite() { ctx.out.error(error) } else { ctx.out.ok() }
        },
        Command("help", arity: 2, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns helpful text about the different subcommands.") { ctx in
            let lines = ["CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                         "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
                         "RESETSTAT", "    Reset statistics reported by the INFO command.",
                         "REWRITE", "    Rewrite the configuration file.",
                         "HELP", "    Print this help."]
            ctx.replyHelp(lines)
        },
    ]

    // MARK: DEBUG

    static let debugSubcommands: [Command] = [
        Command("sleep", arity: 3, flags: [.noKeyspace, .admin], group: "server",
                summary: "Blocks the connection's thread for the given seconds.") { ctx in
            guard let seconds = parseDouble(ctx.args[2]), seconds >= 0 else { return ctx.replyNotFloat() }
            usleep(UInt32(min(seconds, 3600) * 1_000_000))
            ctx.out.ok()
        },
        Command("set-active-expire", arity: 3, flags: [.noKeyspace, .admin], group: "server",
                summary: "Switches the active expiry cycle on (1) or off (0).") { ctx in
            guard let v = ctx.args[2].intValue, v == 0 || v == 1 else { return ctx.replyNotInteger() }
            ctx.server.activeExpireEnabled.store(v == 1, ordering: .relaxed)
            ctx.out.ok()
        },
        Command("populate", arity: -3, flags: [.admin, .write, .wholeKeyspace], group: "server",
                summary: "Creates keys prefix:0 .. prefix:count-1 holding value:N, as Redis's test helper does.", handler: debugPopulate),
        // Swiftlet's own, for testing the seccomp filter (`seccomp yes`): a system call the
        // allowlist leaves out on purpose. Like Redis's DEBUG SEGFAULT it is meant to kill the
        // server (naming the call in the log); without the filter, or with `seccomp log`, the call
        // is harmless (it only reads the execution domain) and the answer is OK.
        Command("forbidden-syscall", arity: 2, flags: [.noKeyspace, .admin], group: "server",
                summary: "Makes a system call outside the seccomp allowlist.") { ctx in
            _ = swiftlet_seccomp_forbidden_syscall()
            ctx.out.ok()
        },
        Command("help", arity: 2, flags: [.noKeyspace], group: "server", summary: "Returns helpful text.") { ctx in
            let lines = ["DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
                         "SET-ACTIVE-EXPIRE <0|1>", "    Setting it to 0 disables expiring keys in background.",
                         "POPULATE <count> [<prefix>] [<size>]", "    Create <count> string keys named key:<num>. If <prefix> is specified then it is used instead of the 'key' prefix. These are not propagated to replicas. Cache master will be reduced or even evicted.",
                         "RELOAD [option ...]", "    Save the RDB on disk and reload it back to memory. Options: MERGE, NOFLUSH, NOSAVE.",
                         "FORBIDDEN-SYSCALL", "    Make a system call outside the seccomp allowlist: with 'seccomp yes' this kills the server.",
                         "HELP", "    Print this help."]
            ctx.replyHelp(lines)
        },
    ]

    /// DEBUG POPULATE count [prefix] [size]: `prefix:N` = `value:N`, cut or zero-padded to
    /// `size` bytes when given; existing keys are left alone (Redis's semantics, used to build
    /// large datasets quickly for benchmarks and tests).
    static func debugPopulate(_ ctx: inout CommandContext) {
        guard ctx.args.count <= 5 else { return ctx.replySyntaxError() }
        guard let count = ctx.args[2].int64Value, count >= 0 else {
            return ctx.out.error("ERR value is out of range, must be positive")
        }
        let prefix = ctx.args.count > 3 ? ctx.args[3].string : "key"
        var size = 0
        if ctx.args.count > 4 {
            guard let s = ctx.args[4].intValue, s >= 0 else { return ctx.out.error("ERR size is out of range") }
            size = s
        }
        for n in 0..<Int(count) {
            let key = ByteBuffer(string: "\(prefix):\(n)")
            let (shard, table) = ctx.place(key)
            guard shard.dbs[ctx.db].entry(key, table: table) == nil else { continue }
            var value = ByteBuffer()
            let text = "value:\(n)"
            if size == 0 {
                value.writeString(text)
            } else {
                value.writeString(String(text.prefix(size)))
                value.writeRepeatingByte(0, count: size - value.readableBytes)
            }
            shard.dbs[ctx.db].set(key, .string(copying: value), table: table)
            ctx.changed(key)
        }
        ctx.out.ok()
    }

    // MARK: COMMAND

    static let commandSubcommands: [Command] = [
        Command("count", arity: 2, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns a count of commands.") { ctx in
            ctx.out.integer(ctx.server.table.commands.count)
        },
        Command("info", arity: -2, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns information about one, multiple or all commands.") { ctx in
            let table = ctx.server.table
            let names = ctx.args.dropFirst(2).map { $0.string.lowercased() }
            if names.isEmpty {
                let all = table.commands.values.sorted { $0.name < $1.name }
                ctx.out.array(all.count)
                for c in all { writeInfo(c, &ctx) }
                return
            }
            ctx.out.array(names.count)
            for n in names {
                if let c = find(n, table) { writeInfo(c, &ctx) } else { ctx.out.nullArray() }
            }
        },
        Command("docs", arity: -2, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns documentary information about one, multiple or all commands.") { ctx in
            let table = ctx.server.table
            let names = ctx.args.count > 2 ? ctx.args.dropFirst(2).map { $0.string.lowercased() } : table.commands.keys.sorted()
            let found = names.compactMap { n in find(n, table).map { (n, $0) } }
            ctx.out.map(found.count)
            for (n, c) in found {
                ctx.out.bulk(n)
                ctx.out.map(3)
                ctx.out.bulk("summary"); ctx.out.bulk(c.summary)
                ctx.out.bulk("since"); ctx.out.bulk("1.0.0")
                ctx.out.bulk("group"); ctx.out.bulk(c.group)
            }
        },
        Command("list", arity: -2, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns a list of command names.") { ctx in
            let table = ctx.server.table
            // Subcommands are listed too, as `parent|sub`, like Redis 7.0.
            var names = table.commands.values.flatMap { [$0.name] + $0.subcommands.values.map(\.fullName) }.sorted()
            if ctx.args.count == 5 && ctx.args[2].equalsIgnoringCase("FILTERBY") {
                let how = ctx.args[3], value = ctx.args[4]
                if how.equalsIgnoringCase("PATTERN") {
                    let p = value.bytes
                    names = names.filter { p.globMatches(Array($0.utf8), nocase: true) }
                } else if how.equalsIgnoringCase("ACLCAT") {
                    let cat = value.string.lowercased()
                    names = names.filter { n in find(n, table).map { $0.aclCategories.names.contains(cat) } ?? false }
                } else if how.equalsIgnoringCase("MODULE") {
                    names = []
                } else {
                    return ctx.replySyntaxError()
                }
            } else if ctx.args.count != 2 {
                return ctx.replySyntaxError()
            }
            ctx.out.array(names.count)
            for n in names { ctx.out.bulk(n) }
        },
        Command("getkeys", arity: -4, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Extracts the key names from an arbitrary command.") { ctx in
            let args = Arguments(ctx.args.dropFirst(2))
            guard let c = ctx.server.table.lookup(args[0]) else { return ctx.out.error("ERR Invalid command specified") }
            guard c.acceptsArgumentCount(args.count) else { return ctx.out.error("ERR Invalid number of arguments specified for command") }
            let positions = c.keys.positions(in: args)
            guard !positions.isEmpty else { return ctx.out.error("ERR The command has no key arguments") }
            ctx.out.array(positions.count)
            for p in positions { ctx.out.bulk(args[p]) }
        },
        Command("help", arity: 2, flags: [.noKeyspace, .loading, .stale], group: "server",
                summary: "Returns helpful text about the different subcommands.") { ctx in
            let lines = ["COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "(no subcommand)", "    Return details about all Redis commands.",
                         "COUNT", "    Return the total number of commands in this Redis server.",
                         "LIST", "    Return a list of all commands in this Redis server.",
                         "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
                         "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
                         "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
                         "HELP", "    Print this help."]
            ctx.replyHelp(lines)
        },
    ]

    private static func find(_ name: String, _ table: CommandTable) -> Command? {
        let parts = name.split(separator: "|", maxSplits: 1).map(String.init)
        guard let c = table.commands[parts[0]] else { return nil }
        if parts.count == 2 { return c.subcommands[parts[1]] }
        return c
    }

    /// One COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL categories,
    /// tips, key specs, subcommands (Redis 7 layout).
    private static func writeInfo(_ c: Command, _ ctx: inout CommandContext) {
        ctx.out.array(10)
        ctx.out.bulk(c.fullName)
        ctx.out.integer(c.arity)
        let flags = c.flags.names
        ctx.out.set(flags.count)
        for f in flags { ctx.out.simple(f) }
        let (first, last, step) = c.keys.legacy
        ctx.out.integer(first)
        ctx.out.integer(last)
        ctx.out.integer(step)
        let cats = c.aclCategories.names
        ctx.out.set(cats.count)
        for cat in cats { ctx.out.simple("@" + cat) }
        ctx.out.array(0)   // tips
        ctx.out.array(0)   // key specs
        let subs = c.subcommands.values.sorted { $0.name < $1.name }
        ctx.out.array(subs.count)
        for s in subs { writeInfo(s, &ctx) }
    }
}
