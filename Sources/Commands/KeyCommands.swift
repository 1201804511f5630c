import Basics
import NIOCore
import Keyspace
import RESP

/// Generic key commands: Redis's db.c, expire.c and object.c.
extension CommandTable {
    static let keyCommands: [Command] = [
        Command("del", arity: -2, flags: [.write], keys: .range(first: 1, last: -1, step: 1),
                group: "generic", summary: "Deletes one or more keys.", handler: del),
        Command("unlink", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: -1, step: 1),
                group: "generic", summary: "Asynchronously deletes one or more keys.", handler: del),
        Command("exists", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: -1, step: 1),
                group: "generic", summary: "Determines whether one or more keys exist.", handler: exists),
        Command("touch", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: -1, step: 1),
                group: "generic", summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.", handler: touch),
        Command("type", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "generic",
                summary: "Determines the type of value stored at a key.", handler: type),
        Command("keys", arity: 2, flags: [.readonly, .wholeKeyspace], group: "generic",
                summary: "Returns all key names that match a pattern.", handler: keys),
        Command("scan", arity: -2, flags: [.readonly, .wholeKeyspace], group: "generic",
                summary: "Iterates over the key names in the database.", handler: scan),
        Command("randomkey", arity: 1, flags: [.readonly, .wholeKeyspace], group: "generic",
                summary: "Returns a random key name from the database.", handler: randomkey),
        Command("rename", arity: 3, flags: [.write], keys: .range(first: 1, last: 2, step: 1), group: "generic",
                summary: "Renames a key and overwrites the destination.") { rename(&$0, onlyIfAbsent: false) },
        Command("renamenx", arity: 3, flags: [.write, .fast], keys: .range(first: 1, last: 2, step: 1), group: "generic",
                summary: "Renames a key only when the target key name doesn't exist.") { rename(&$0, onlyIfAbsent: true) },
        Command("move", arity: 3, flags: [.write, .fast], keys: oneKey, group: "generic",
                summary: "Moves a key to another database.", handler: move),
        Command("copy", arity: -3, flags: [.write, .denyoom], keys: .range(first: 1, last: 2, step: 1), group: "generic",
                summary: "Copies the value of a key to a new key.", handler: copy),
        Command("expire", arity: -3, flags: [.write, .fast], keys: oneKey, group: "generic",
                summary: "Sets the expiration time of a key in seconds.") { expire(&$0, .seconds) },
        Command("pexpire", arity: -3, flags: [.write, .fast], keys: oneKey, group: "generic",
                summary: "Sets the expiration time of a key in milliseconds.") { expire(&$0, .milliseconds) },
        Command("expireat", arity: -3, flags: [.write, .fast], keys: oneKey, group: "generic",
                summary: "Sets the expiration time of a key to a Unix timestamp.") { expire(&$0, .unixSeconds) },
        Command("pexpireat", arity: -3, flags: [.write, .fast], keys: oneKey, group: "generic",
                summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.") { expire(&$0, .unixMilliseconds) },
        Command("ttl", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "generic",
                summary: "Returns the expiration time in seconds of a key.") { ttl(&$0, milliseconds: false, absolute: false) },
        Command("pttl", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "generic",
                summary: "Returns the expiration time in milliseconds of a key.") { ttl(&$0, milliseconds: true, absolute: false) },
        Command("expiretime", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "generic",
                summary: "Returns the expiration time of a key as a Unix timestamp.") { ttl(&$0, milliseconds: false, absolute: true) },
        Command("pexpiretime", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "generic",
                summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.") { ttl(&$0, milliseconds: true, absolute: true) },
        Command("persist", arity: 2, flags: [.write, .fast], keys: oneKey, group: "generic",
                summary: "Removes the expiration time of a key.", handler: persist),
        Command("object", arity: -2, flags: [.readonly], group: "generic", summary: "A container for object introspection commands.",
                subcommands: objectSubcommands),
    ]

    static func del(_ ctx: inout CommandContext) {
        var n = 0
        for i in 1..<ctx.args.count where ctx.delete(ctx.args[i]) {
            ctx.notify(.generic, "del", ctx.args[i])
            n += 1
        }
        ctx.out.integer(n)
    }

    static func exists(_ ctx: inout CommandContext) {
        var n = 0
        for i in 1..<ctx.args.count where ctx.exists(ctx.args[i]) { n += 1 }
        ctx.out.integer(n)
    }

    static func touch(_ ctx: inout CommandContext) {
        var n = 0
        for i in 1..<ctx.args.count where ctx.lookup(ctx.args[i]) != nil { n += 1 }
        ctx.out.integer(n)
    }

    static func type(_ ctx: inout CommandContext) {
        guard let entry = ctx.entry(ctx.args[1]) else { return ctx.out.simple("none") }
        ctx.out.simple(entry.value.typeName)
    }

    static func keys(_ ctx: inout CommandContext) {
        let pattern = ctx.args[1].bytes
        let all = pattern == [UInt8(ascii: "*")]
        var found: [CompactBytes] = []
        for shard in ctx.keyspace.shards {
            for table in shard.dbs[ctx.db].tables {
                for (key, entry) in table where !Database.isExpired(entry, now: ctx.now) {
                    if all || key.withUnsafeBytes({ pattern.globMatches($0) }) { found.append(key) }
                }
            }
        }
        ctx.out.array(found.count)
        for k in found { k.withUnsafeBytes { ctx.out.bulk(raw: $0) } }
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor is the next slot to
    /// visit (see `KeySlot`): slots are never split across calls, so every key present for the
    /// whole iteration is returned at least once, however the keyspace changes meanwhile.
    static func scan(_ ctx: inout CommandContext) {
        guard let cursor = ctx.cursorArgument(1) else { return }
        guard let options = ScanOptions.parse(&ctx, from: 2, allowType: true) else { return }
        var slot = Int(min(cursor, UInt64(KeySlot.slotCount)))
        var found: [CompactBytes] = []
        var visited = 0
        // Like Redis, COUNT is an amount of work: stop once about COUNT keys were looked at. Empty
        // slots cost next to nothing, so a small database is finished in one call, as in Redis.
        while slot < KeySlot.slotCount && visited < options.count {
            let shard = ctx.keyspace.shards[KeySlot.shard(ofSlot: slot)]
            let table = shard.dbs[ctx.db].tables[KeySlot.localIndex(ofSlot: slot)]
            for (key, entry) in table {
                visited += 1
                if Database.isExpired(entry, now: ctx.now) { continue }
                if let type = options.type, String(describing: entry.value.typeName) != type { continue }
                if options.matches(key) { found.append(key) }
            }
            slot += 1
        }
        ctx.out.array(2)
        ctx.out.bulk(slot >= KeySlot.slotCount ? "0" : String(slot))
        ctx.out.array(found.count)
        for k in found { k.withUnsafeBytes { ctx.out.bulk(raw: $0) } }
    }

    static func randomkey(_ ctx: inout CommandContext) {
        var generator = SystemRandomNumberGenerator()
        let shards = ctx.keyspace.shards
        // A few attempts, since a sampled key may turn out to be expired (and is then deleted).
        for _ in 0..<100 {
            let nonEmpty = shards.filter { $0.dbs[ctx.db].count > 0 }
            guard let shard = nonEmpty.randomElement(using: &generator),
                  let key = shard.dbs[ctx.db].randomKey(using: &generator) else { return ctx.out.null() }
            let buffer = key.byteBuffer
            if ctx.entry(buffer) != nil { return ctx.out.bulk(buffer) }
        }
        ctx.out.null()
    }

    static func rename(_ ctx: inout CommandContext, onlyIfAbsent: Bool) {
        let source = ctx.args[1], destination = ctx.args[2]
        guard let entry = ctx.entry(source) else { return ctx.out.error("ERR no such key") }
        if source == destination {
            return onlyIfAbsent ? ctx.out.integer(0) : ctx.out.ok()
        }
        if onlyIfAbsent && ctx.exists(destination) { return ctx.out.integer(0) }
        ctx.delete(source)
        // An overwritten destination goes silently; the new one is `new`, as Redis's dbAdd.
        ctx.delete(destination)
        ctx.set(destination, entry.value, expireAt: entry.expireAt)
        ctx.notify(.generic, "rename_from", source)
        ctx.notify(.generic, "rename_to", destination)
        if onlyIfAbsent { ctx.out.integer(1) } else { ctx.out.ok() }
    }

    static func move(_ ctx: inout CommandContext) {
        guard let target = ctx.args[2].intValue else { return ctx.replyNotInteger() }
        guard target >= 0 && target < ctx.keyspace.databaseCount else {
            return ctx.out.error("ERR DB index is out of range")
        }
        guard target != ctx.db else {
            return ctx.out.error("ERR source and destination objects are the same")
        }
        let key = ctx.args[1]
        guard let entry = ctx.entry(key) else { return ctx.out.integer(0) }
        let source = ctx.db
        ctx.db = target
        if ctx.exists(key) {
            ctx.db = source
            return ctx.out.integer(0)
        }
        ctx.set(key, entry.value, expireAt: entry.expireAt)
        ctx.db = source
        ctx.delete(key)
        ctx.notify(.generic, "move_from", key)
        ctx.db = target
        ctx.notify(.generic, "move_to", key)
        ctx.db = source
        ctx.out.integer(1)
    }

    /// COPY source destination [DB destination-db] [REPLACE]
    static func copy(_ ctx: inout CommandContext) {
        var targetDB = ctx.db
        var replace = false
        var i = 3
        while i < ctx.args.count {
            if ctx.args[i].equalsIgnoringCase("REPLACE") {
                replace = true
            } else if ctx.args[i].equalsIgnoringCase("DB") && i + 1 < ctx.args.count {
                guard let db = ctx.args[i + 1].intValue else { return ctx.replyNotInteger() }
                guard db >= 0 && db < ctx.keyspace.databaseCount else { return ctx.out.error("ERR DB index is out of range") }
                targetDB = db
                i += 1
            } else {
                return ctx.replySyntaxError()
            }
            i += 1
        }
        let source = ctx.args[1], destination = ctx.args[2]
        if source == destination && targetDB == ctx.db {
            return ctx.out.error("ERR source and destination objects are the same")
        }
        guard let entry = ctx.entry(source) else { return ctx.out.integer(0) }
        let sourceDB = ctx.db
        ctx.db = targetDB
        defer { ctx.db = sourceDB }
        if ctx.exists(destination) && !replace { return ctx.out.integer(0) }
        // Values are copy-on-write: the copy shares storage until one side is written. A replaced
        // destination goes silently; the copy is `new`, as Redis's dbAdd.
        ctx.delete(destination)
        ctx.set(destination, entry.value, expireAt: entry.expireAt)
        ctx.notify(.generic, "copy_to", destination)
        ctx.out.integer(1)
    }

    /// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT]
    static func expire(_ ctx: inout CommandContext, _ unit: ExpiryUnit) {
        var nx = false, xx = false, gt = false, lt = false
        for a in ctx.args.dropFirst(3) {
            if a.equalsIgnoringCase("NX") { nx = true }
            else if a.equalsIgnoringCase("XX") { xx = true }
            else if a.equalsIgnoringCase("GT") { gt = true }
            else if a.equalsIgnoringCase("LT") { lt = true }
            else { return ctx.out.error("ERR Unsupported option \(a.string)") }
        }
        if nx && (xx || gt || lt) {
            return ctx.out.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if gt && lt { return ctx.out.error("ERR GT and LT options at the same time are not compatible") }
        guard let amount = ctx.args[2].int64Value else { return ctx.replyNotInteger() }
        // Absolute time in ms; unlike SET, EXPIRE accepts zero and negative values (already expired).
        var at = amount
        var overflow = false
        if unit == .seconds || unit == .unixSeconds { (at, overflow) = amount.multipliedReportingOverflow(by: 1000) }
        if !overflow && (unit == .seconds || unit == .milliseconds) { (at, overflow) = at.addingReportingOverflow(ctx.now) }
        guard !overflow else { return ctx.out.error("ERR invalid expire time in '\(ctx.commandName)' command") }
        let key = ctx.args[1]
        guard let entry = ctx.entry(key) else { return ctx.out.integer(0) }
        let current = entry.expireAt
        if nx && current != 0 { return ctx.out.integer(0) }
        if xx && current == 0 { return ctx.out.integer(0) }
        // No expiry counts as an infinite TTL for GT/LT.
        if gt && (current == 0 || at <= current) { return ctx.out.integer(0) }
        if lt && current != 0 && at >= current { return ctx.out.integer(0) }
        // Propagated as the absolute PEXPIREAT, or as the DEL an expiry in the past amounts to.
        if at <= ctx.now {
            ctx.delete(key)
            ctx.notify(.generic, "del", key)
            ctx.propagate(.text("DEL"), .bytes(key))
        } else {
            ctx.setExpire(key, at: at)
            ctx.notify(.generic, "expire", key)
            // The NX/XX/GT/LT flags stay, as Redis 7.0 writes them.
            if ctx.server.propagating {
                ctx.propagate(as: [ByteBuffer(string: "PEXPIREAT"), key, ByteBuffer(string: String(at))] + ctx.args.dropFirst(3))
            }
        }
        ctx.out.integer(1)
    }

    static func ttl(_ ctx: inout CommandContext, milliseconds: Bool, absolute: Bool) {
        guard let entry = ctx.entry(ctx.args[1]) else { return ctx.out.integer(-2) }
        guard entry.expireAt != 0 else { return ctx.out.integer(-1) }
        if absolute {
            return ctx.out.integer(Int(milliseconds ? entry.expireAt : (entry.expireAt + 500) / 1000))
        }
        let remaining = max(0, entry.expireAt - ctx.now)
        ctx.out.integer(Int(milliseconds ? remaining : (remaining + 500) / 1000))
    }

    static func persist(_ ctx: inout CommandContext) {
        guard let entry = ctx.entry(ctx.args[1]), entry.expireAt != 0 else { return ctx.out.integer(0) }
        ctx.setExpire(ctx.args[1], at: 0)
        ctx.notify(.generic, "persist", ctx.args[1])
        ctx.out.integer(1)
    }

    // MARK: OBJECT

    static let objectSubcommands: [Command] = [
        Command("encoding", arity: 3, flags: [.readonly], keys: .range(first: 2, last: 2, step: 1), group: "generic",
                summary: "Returns the internal encoding of a Redis object.") { ctx in
            guard let entry = ctx.entry(ctx.args[2]) else { return ctx.out.null() }
            ctx.out.bulk(entry.value.encodingName)
        },
        Command("refcount", arity: 3, flags: [.readonly], keys: .range(first: 2, last: 2, step: 1), group: "generic",
                summary: "Returns the reference count of a value of a key.") { ctx in
            guard ctx.entry(ctx.args[2]) != nil else { return ctx.out.null() }
            ctx.out.integer(1)
        },
        Command("idletime", arity: 3, flags: [.readonly], keys: .range(first: 2, last: 2, step: 1), group: "generic",
                summary: "Returns the time since the last access to a Redis object.") { ctx in
            guard let entry = ctx.entry(ctx.args[2]) else { return ctx.out.null() }
            guard !ctx.server.memory.policy.usesLFU else {
                return ctx.out.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
            }
            ctx.out.integer(Int(AccessClock(seconds: ctx.clock).idleSeconds(entry.lastAccess)))
        },
        Command("freq", arity: 3, flags: [.readonly], keys: .range(first: 2, last: 2, step: 1), group: "generic",
                summary: "Returns the logarithmic access frequency counter of a Redis object.") { ctx in
            guard let entry = ctx.entry(ctx.args[2]) else { return ctx.out.null() }
            guard ctx.server.memory.policy.usesLFU else {
                return ctx.out.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
            }
            // As Redis: the counter after the decay due, without counting this look as an access.
            let clock = ctx.accessClock()
            ctx.out.integer(Int(clock.decayedCount(entry.lastAccess, decayMinutes: clock.lfu?.decayMinutes ?? 0)))
        },
        Command("help", arity: 2, flags: [.readonly, .noKeyspace], group: "generic", summary: "Returns helpful text.") { ctx in
            let lines = ["OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "ENCODING <key>", "    Return the kind of internal representation used in order to store the value",
                         "    associated with a <key>.",
                         "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is",
                         "    proportional to the logarithm of the recent access frequency of the key.",
                         "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of",
                         "    seconds elapsed since the last access to the key.",
                         "REFCOUNT <key>", "    Return the number of references of the value associated with the specified",
                         "    <key>.",
                         "HELP", "    Prints this help."]
            ctx.replyHelp(lines)
        },
    ]
}
