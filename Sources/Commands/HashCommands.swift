import Basics
import NIOCore
import Keyspace
import RESP

/// Hashes: Redis 7.0's t_hash.c.
///
/// Write commands find their key through `ctx.modify` (Redis's `lookupKeyWrite`: no hit/miss
/// statistics), read commands through `ctx.read` (`lookupKeyRead`). Fields and values taken from
/// the request are copied with `owned()` before they are stored.
extension CommandTable {
    static let hashCommands: [Command] = [
        Command("hset", arity: -4, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Creates or modifies the value of a field in a hash.", handler: hset),
        Command("hmset", arity: -4, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Sets the values of multiple fields.", handler: hmset),
        Command("hsetnx", arity: 4, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Sets the value of a field in a hash only when the field doesn't exist.",
                handler: hsetnx),
        Command("hget", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns the value of a field in a hash.", handler: hget),
        Command("hmget", arity: -3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns the values of all fields in a hash.", handler: hmget),
        Command("hgetall", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns all fields and values in a hash.", handler: hgetall),
        Command("hkeys", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns all fields in a hash.", handler: hkeys),
        Command("hvals", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns all values in a hash.", handler: hvals),
        Command("hdel", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Deletes one or more fields and their values from a hash.", handler: hdel),
        Command("hlen", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns the number of fields in a hash.", handler: hlen),
        Command("hstrlen", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns the length of the value of a field.", handler: hstrlen),
        Command("hexists", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Determines whether a field exists in a hash.", handler: hexists),
        Command("hincrby", arity: 4, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Increments the integer value of a field in a hash by a number.",
                handler: hincrby),
        Command("hincrbyfloat", arity: 4, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Increments the floating point value of a field by a number.",
                handler: hincrbyfloat),
        Command("hrandfield", arity: -2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Returns one or more random fields from a hash.", handler: hrandfield),
        Command("hscan", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "hash", summary: "Iterates over fields and values of a hash.", handler: hscan),
    ]

    typealias HashValue = [ByteBuffer: ByteBuffer]

    /// HSET key field value [field value ...]: replies the number of new fields.
    static func hset(_ ctx: inout CommandContext) {
        if let created = setFields(&ctx) { ctx.out.integer(created) }
    }

    /// HMSET, HSET's deprecated twin: replies OK.
    static func hmset(_ ctx: inout CommandContext) {
        if setFields(&ctx) != nil { ctx.out.ok() }
    }

    /// Stores the field/value pairs of HSET/HMSET; returns how many fields are new, or replies
    /// the error and returns nil.
    private static func setFields(_ ctx: inout CommandContext) -> Int? {
        // The dispatcher's arity (-4) cannot express "an even number of arguments".
        guard ctx.args.count % 2 == 0 else {
            ctx.out.error("ERR wrong number of arguments for '\(ctx.commandName)' command")
            return nil
        }
        let args = ctx.args
        let key = args[1]
        let access = ctx.modify(key, as: .hash, create: true) { (hash: inout HashValue) -> Int in
            var created = 0
            for i in stride(from: 2, to: args.count, by: 2) where store(&hash, field: args[i], value: args.unsafeBytes(i + 1)) {
                created += 1
            }
            return created
        }
        guard case .found(let created) = access else {
            ctx.replyWrongType()
            return nil
        }
        // Redis counts every pair as a change, overwritten with the same value or not.
        ctx.changed(key, count: (args.count - 2) / 2)
        ctx.notify(.hash, "hset", key)
        return created
    }

    /// Sets `field` to `value`; true when the field is new. An existing field keeps its stored
    /// key, so only new fields pay for a copy of the name, and its value's buffer, overwritten in
    /// place where that is safe (see `ByteBuffer.overwrite(copying:)`).
    @inline(__always)
    private static func store(_ hash: inout HashValue, field: ByteBuffer, value: UnsafeRawBufferPointer) -> Bool {
        if let index = hash.index(forKey: field) {
            hash.values[index].overwrite(copying: value)
            return false
        }
        hash[field.owned()] = ByteBufferAllocator().buffer(bytes: value)
        return true
    }

    static func hsetnx(_ ctx: inout CommandContext) {
        let args = ctx.args
        let access = ctx.modify(args[1], as: .hash, create: true) { (hash: inout HashValue) -> Bool in
            guard hash[args[2]] == nil else { return false }
            hash[args[2].owned()] = args[3].owned()
            return true
        }
        guard case .found(let created) = access else { return ctx.replyWrongType() }
        if created {
            ctx.changed(args[1])
            ctx.notify(.hash, "hset", args[1])
        }
        ctx.out.integer(created ? 1 : 0)
    }

    static func hget(_ ctx: inout CommandContext) {
        guard let hash = ctx.found(ctx.read(ctx.args[1], as: .hash), orReply: .null) else { return }
        if let value = hash[ctx.args[2]] { ctx.out.bulk(value) } else { ctx.out.null() }
    }

    static func hmget(_ ctx: inout CommandContext) {
        var hash: HashValue = [:]
        switch ctx.read(ctx.args[1], as: .hash) {
        case .missing: break
        case .wrongType: return ctx.replyWrongType()
        case .found(let h): hash = h
        }
        ctx.out.array(ctx.args.count - 2)
        for i in 2..<ctx.args.count {
            if let value = hash[ctx.args[i]] { ctx.out.bulk(value) } else { ctx.out.null() }
        }
    }

    static func hgetall(_ ctx: inout CommandContext) {
        guard let hash = ctx.found(ctx.read(ctx.args[1], as: .hash), orReply: .emptyMap) else { return }
        ctx.out.map(hash.count)
        for (field, value) in hash {
            ctx.out.bulk(field)
            ctx.out.bulk(value)
        }
    }

    static func hkeys(_ ctx: inout CommandContext) {
        guard let hash = ctx.found(ctx.read(ctx.args[1], as: .hash), orReply: .emptyArray) else { return }
        ctx.out.array(hash.count)
        for field in hash.keys { ctx.out.bulk(field) }
    }

    static func hvals(_ ctx: inout CommandContext) {
        guard let hash = ctx.found(ctx.read(ctx.args[1], as: .hash), orReply: .emptyArray) else { return }
        ctx.out.array(hash.count)
        for value in hash.values { ctx.out.bulk(value) }
    }

    static func hdel(_ ctx: inout CommandContext) {
        let args = ctx.args
        let key = args[1]
        let access = ctx.modify(key, as: .hash, create: false) { (hash: inout HashValue) -> Int in
            var deleted = 0
            for i in 2..<args.count where hash.removeValue(forKey: args[i]) != nil {
                deleted += 1
            }
            return deleted
        }
        switch access {
        case .missing: ctx.out.integer(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let deleted):
            if deleted > 0 {
                ctx.changed(key, count: deleted)
                ctx.notifyRemoval(.hash, "hdel", key)
            }
            ctx.out.integer(deleted)
        }
    }

    static func hlen(_ ctx: inout CommandContext) {
        guard let hash = ctx.found(ctx.read(ctx.args[1], as: .hash), orReply: .zero) else { return }
        ctx.out.integer(hash.count)
    }

    static func hstrlen(_ ctx: inout CommandContext) {
        guard let hash = ctx.found(ctx.read(ctx.args[1], as: .hash), orReply: .zero) else { return }
        ctx.out.integer(hash[ctx.args[2]]?.readableBytes ?? 0)
    }

    static func hexists(_ ctx: inout CommandContext) {
        guard let hash = ctx.found(ctx.read(ctx.args[1], as: .hash), orReply: .zero) else { return }
        ctx.out.integer(hash[ctx.args[2]] == nil ? 0 : 1)
    }

    /// How an HINCRBY/HINCRBYFLOAT body ended; errors leave the hash untouched.
    private enum Increment<T> {
        case stored(T)
        case notNumber
        case outOfRange
    }

    static func hincrby(_ ctx: inout CommandContext) {
        guard let increment = ctx.args[3].int64Value else { return ctx.replyNotInteger() }
        let args = ctx.args
        let access = ctx.modify(args[1], as: .hash, create: true) { (hash: inout HashValue) -> Increment<Int64> in
            var current: Int64 = 0
            if let stored = hash[args[2]] {
                guard let v = stored.int64Value else { return .notNumber }
                current = v
            }
            let (sum, overflow) = current.addingReportingOverflow(increment)
            if overflow { return .outOfRange }
            _ = sum.asBytes.withUnsafeReadableBytes { store(&hash, field: args[2], value: $0) }
            return .stored(sum)
        }
        switch access {
        case .missing: preconditionFailure("modify with create never reports a missing key")
        case .wrongType: ctx.replyWrongType()
        case .found(.notNumber): ctx.out.error("ERR hash value is not an integer")
        case .found(.outOfRange): ctx.out.error("ERR increment or decrement would overflow")
        case .found(.stored(let sum)):
            ctx.changed(args[1])
            ctx.notify(.hash, "hincrby", args[1])
            ctx.out.integer(Int(sum))
        }
    }

    /// Redis does the sum in `long double` and stores the `%.17Lf`-style text, so
    /// `10.5 + -1.1` gives "9.4" and later increments start from exactly that text.
    static func hincrbyfloat(_ ctx: inout CommandContext) {
        guard let increment = parseLongDouble(ctx.args[3]) else { return ctx.replyNotFloat() }
        // `string2ld` accepts "inf"; Redis then rejects it with its own message.
        guard increment.isFinite else { return ctx.out.error("ERR value is NaN or Infinity") }
        let args = ctx.args
        let access = ctx.modify(args[1], as: .hash, create: true) { (hash: inout HashValue) -> Increment<String> in
            var current: LongDouble = 0
            if let stored = hash[args[2]] {
                // A stored "inf" parses, as in Redis, and the sum below then fails.
                guard let v = parseLongDouble(stored) else { return .notNumber }
                current = v
            }
            let sum = current + increment
            guard sum.isFinite else { return .outOfRange }
            let text = formatLongDouble(sum)
            var utf8 = text
            _ = utf8.withUTF8 { store(&hash, field: args[2], value: UnsafeRawBufferPointer($0)) }
            return .stored(text)
        }
        switch access {
        case .missing: preconditionFailure("modify with create never reports a missing key")
        case .wrongType: ctx.replyWrongType()
        case .found(.notNumber): ctx.out.error("ERR hash value is not a float")
        case .found(.outOfRange): ctx.out.error("ERR increment would produce NaN or Infinity")
        case .found(.stored(let text)):
            ctx.changed(args[1])
            ctx.notify(.hash, "hincrbyfloat", args[1])
            // The result as HSET, as Redis does: float formatting is not replayed.
            ctx.propagate(.text("HSET"), .bytes(args[1]), .bytes(args[2]), .text(text))
            ctx.out.bulk(text)
        }
    }

    /// HRANDFIELD key [count [WITHVALUES]]
    static func hrandfield(_ ctx: inout CommandContext) {
        guard ctx.args.count >= 3 else {
            switch ctx.read(ctx.args[1], as: .hash) {
            case .missing: ctx.out.null()
            case .wrongType: ctx.replyWrongType()
            case .found(let hash):
                var random = SplitMix64()
                ctx.out.bulk(hash.randomElement(using: &random)!.key)
            }
            return
        }
        guard let requested = ctx.args[2].int64Value else { return ctx.replyNotInteger() }
        guard requested != .min else { return RandomPicks.replyCountOutOfRange(&ctx) }
        guard ctx.args.count == 3 || (ctx.args.count == 4 && ctx.args[3].equalsIgnoringCase("WITHVALUES")) else {
            return ctx.replySyntaxError()
        }
        let withValues = ctx.args.count == 4
        // Twice the count must still fit in a long: RESP2 replies field and value flat.
        if withValues && requested.magnitude > UInt64(Int64.max / 2) {
            return ctx.out.error("ERR value is out of range")
        }
        let hash: HashValue
        switch ctx.read(ctx.args[1], as: .hash) {
        case .missing: return ctx.out.array(0)
        case .wrongType: return ctx.replyWrongType()
        case .found(let h): hash = h
        }
        let count = Int(requested.magnitude)
        if count == 0 { return ctx.out.array(0) }
        var random = SplitMix64()
        var entries = Array(hash)
        if requested < 0 || count == 1 {
            // Independent draws: the same field may come back several times.
            ctx.replyRandomFieldsHeader(count, withValues: withValues)
            for _ in 0..<count {
                ctx.replyRandomField(entries[Int.random(in: 0..<entries.count, using: &random)], withValues: withValues)
            }
            return
        }
        let picks = count >= entries.count ? entries[...] : RandomPicks.distinct(&entries, count, using: &random)
        ctx.replyRandomFieldsHeader(picks.count, withValues: withValues)
        for entry in picks { ctx.replyRandomField(entry, withValues: withValues) }
    }

    /// HSCAN key cursor [MATCH pattern] [COUNT count]
    static func hscan(_ ctx: inout CommandContext) {
        guard let cursor = ctx.cursorArgument(2) else { return }
        switch ctx.read(ctx.args[1], as: .hash) {
        case .missing: ctx.replyEmptyScan()
        case .wrongType: ctx.replyWrongType()
        case .found(let hash):
            ctx.replyScanPage(hash, cursor: cursor, whole: Value.hash(hash).encodingName == "listpack", itemsPerElement: 2,
                              name: { $0.key }) { out, pair in
                out.bulk(pair.key)
                out.bulk(pair.value)
            }
        }
    }
}

extension CommandContext {
    /// HRANDFIELD with a count: RESP2 lists fields and values flat, RESP3 nests each pair.
    fileprivate mutating func replyRandomFieldsHeader(_ count: Int, withValues: Bool) {
        out.array(withValues && out.proto == .resp2 ? count * 2 : count)
    }

    fileprivate mutating func replyRandomField(_ entry: (key: ByteBuffer, value: ByteBuffer), withValues: Bool) {
        if withValues && out.proto == .resp3 { out.array(2) }
        out.bulk(entry.key)
        if withValues { out.bulk(entry.value) }
    }
}
