import NIOCore
import Keyspace
import RESP

/// Strings: Redis's t_string.c and bitops.c.
extension CommandTable {
    static let stringCommands: [Command] = [
        Command("get", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "string",
                summary: "Returns the string value of a key.", handler: get),
        Command("set", arity: -3, flags: [.write, .denyoom], keys: oneKey, group: "string",
                summary: "Sets the string value of a key, ignoring its type.", handler: set),
        Command("setnx", arity: 3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Set the string value of a key only when the key doesn't exist.", handler: setnx),
        Command("setex", arity: 4, flags: [.write, .denyoom], keys: oneKey, group: "string",
                summary: "Sets the string value and expiration time of a key.") { setWithExpiry(&$0, .seconds) },
        Command("psetex", arity: 4, flags: [.write, .denyoom], keys: oneKey, group: "string",
                summary: "Sets both string value and expiration time in milliseconds of a key.") { setWithExpiry(&$0, .milliseconds) },
        Command("getset", arity: 3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Returns the previous string value of a key after setting it to a new value.", handler: getset),
        Command("getdel", arity: 2, flags: [.write, .fast], keys: oneKey, group: "string",
                summary: "Returns the string value of a key after deleting the key.", handler: getdel),
        Command("getex", arity: -2, flags: [.write, .fast], keys: oneKey, group: "string",
                summary: "Returns the string value of a key after setting its expiration time.", handler: getex),
        Command("mget", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: -1, step: 1), group: "string",
                summary: "Atomically returns the string values of one or more keys.", handler: mget),
        Command("mset", arity: -3, flags: [.write, .denyoom], keys: .range(first: 1, last: -1, step: 2), group: "string",
                summary: "Atomically creates or modifies the string values of one or more keys.") { mset(&$0, onlyIfNoneExist: false) },
        Command("msetnx", arity: -3, flags: [.write, .denyoom], keys: .range(first: 1, last: -1, step: 2), group: "string",
                summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.") { mset(&$0, onlyIfNoneExist: true) },
        Command("append", arity: 3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", handler: append),
        Command("strlen", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "string",
                summary: "Returns the length of a string value.", handler: strlen),
        Command("getrange", arity: 4, flags: [.readonly], keys: oneKey, group: "string",
                summary: "Returns a substring of the string stored at a key.", handler: getrange),
        Command("substr", arity: 4, flags: [.readonly], keys: oneKey, group: "string",
                summary: "Returns a substring from a string value.", handler: getrange),
        Command("setrange", arity: 4, flags: [.write, .denyoom], keys: oneKey, group: "string",
                summary: "Overwrites a part of a string value with another by an offset.", handler: setrange),
        Command("incr", arity: 2, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Increments the integer value of a key by one.") { incrementBy(&$0, 1) },
        Command("decr", arity: 2, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Decrements the integer value of a key by one.") { incrementBy(&$0, -1) },
        Command("incrby", arity: 3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Increments the integer value of a key by a number.", handler: incrby),
        Command("decrby", arity: 3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Decrements a number from the integer value of a key.", handler: decrby),
        Command("incrbyfloat", arity: 3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "string",
                summary: "Increment the floating point value of a key by a number.", handler: incrbyfloat),
        Command("lcs", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 2, step: 1), group: "string",
                summary: "Finds the longest common substring.", handler: lcs),
    ]

    static let oneKey = KeySpec.range(first: 1, last: 1, step: 1)
    /// Redis's `proto-max-bulk-len` default: the largest string SETRANGE/APPEND/SETBIT may build.
    static let maxStringLength = 512 * 1024 * 1024

    static func get(_ ctx: inout CommandContext) {
        guard let value = ctx.found(ctx.read(ctx.args[1], as: .string), orReply: .null) else { return }
        ctx.out.bulk(value)
    }

    /// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL]
    static func set(_ ctx: inout CommandContext) {
        guard let options = SetOptions.parse(&ctx, from: 3, allowGet: true) else { return }
        let key = ctx.args[1]
        if options.condition == .none && !options.get {
            // Plain SET: no need to look at the old value first.
            ctx.setString(key, copyingArgument: 2, expireAt: options.expireAt ?? 0, keepTTL: options.keepTTL)
            notifySet(&ctx, key, expires: options.expireAt != nil)
            if let at = options.expireAt { ctx.propagateSet(key, ctx.args[2], expireAt: at) }
            return ctx.out.ok()
        }
        let old = ctx.entry(key)
        var oldValue: CompactBytes? = nil
        if options.get, let old {
            guard case .string(let s) = old.value else { return ctx.replyWrongType() }
            oldValue = s
        }
        if (options.condition == .nx && old != nil) || (options.condition == .xx && old == nil) {
            return options.get ? reply(oldValue, &ctx) : ctx.out.null()
        }
        ctx.setString(key, copyingArgument: 2, expireAt: options.expireAt ?? 0, keepTTL: options.keepTTL)
        notifySet(&ctx, key, expires: options.expireAt != nil)
        if let at = options.expireAt { ctx.propagateSet(key, ctx.args[2], expireAt: at) }
        if options.get { reply(oldValue, &ctx) } else { ctx.out.ok() }
    }

    /// SET's events: `set`, and `expire` when it set a time to live. Inlined: with
    /// notifications off, a call here was 28 instructions per SET for one flag test.
    @inline(__always)
    private static func notifySet(_ ctx: inout CommandContext, _ key: ByteBuffer, expires: Bool) {
        ctx.notify(.string, "set", key)
        if expires { ctx.notify(.generic, "expire", key) }
    }

    private static func reply(_ value: CompactBytes?, _ ctx: inout CommandContext) {
        if let value { ctx.out.bulk(value) } else { ctx.out.null() }
    }

    static func setnx(_ ctx: inout CommandContext) {
        if ctx.exists(ctx.args[1]) { return ctx.out.integer(0) }
        ctx.set(ctx.args[1], .string(copying: ctx.args[2]))
        ctx.notify(.string, "set", ctx.args[1])
        ctx.out.integer(1)
    }

    /// SETEX key seconds value / PSETEX key milliseconds value
    private static func setWithExpiry(_ ctx: inout CommandContext, _ unit: ExpiryUnit) {
        guard let at = unit.absoluteMillis(ctx.args[2], now: ctx.now, ctx: &ctx, command: ctx.commandName) else { return }
        ctx.setString(ctx.args[1], copyingArgument: 3, expireAt: at)
        notifySet(&ctx, ctx.args[1], expires: true)
        ctx.propagateSet(ctx.args[1], ctx.args[3], expireAt: at)
        ctx.out.ok()
    }

    static func getset(_ ctx: inout CommandContext) {
        let key = ctx.args[1]
        var old: CompactBytes? = nil
        if let entry = ctx.entry(key) {
            guard case .string(let s) = entry.value else { return ctx.replyWrongType() }
            old = s
        }
        ctx.set(key, .string(copying: ctx.args[2]))
        ctx.notify(.string, "set", key)
        reply(old, &ctx)
    }

    static func getdel(_ ctx: inout CommandContext) {
        guard let value = ctx.found(ctx.read(ctx.args[1], as: .string), orReply: .null) else { return }
        ctx.delete(ctx.args[1])
        ctx.notify(.generic, "del", ctx.args[1])
        ctx.out.bulk(value)
    }

    /// GETEX key [EX s|PX ms|EXAT ts|PXAT ts|PERSIST]
    static func getex(_ ctx: inout CommandContext) {
        guard let options = SetOptions.parse(&ctx, from: 2, allowGet: false, forGetEx: true) else { return }
        let key = ctx.args[1]
        switch ctx.read(key, as: .string) {
        case .missing: return ctx.out.null()
        case .wrongType: return ctx.replyWrongType()
        case .found(let value):
            if let at = options.expireAt {
                if at <= ctx.now {
                    ctx.delete(key)   // an expiry in the past deletes, as Redis does
                    ctx.notify(.generic, "del", key)
                    ctx.propagate(.text("DEL"), .bytes(key))
                } else {
                    ctx.setExpire(key, at: at)
                    ctx.notify(.generic, "expire", key)
                    ctx.propagate(.text("PEXPIREAT"), .bytes(key), .number(at))
                }
            } else if options.persist, let entry = ctx.entry(key), entry.expireAt != 0 {
                ctx.setExpire(key, at: 0)
                ctx.notify(.generic, "persist", key)
                ctx.propagate(.text("PERSIST"), .bytes(key))
            }
            ctx.out.bulk(value)
        }
    }

    static func mget(_ ctx: inout CommandContext) {
        ctx.out.array(ctx.args.count - 1)
        for i in 1..<ctx.args.count {
            // MGET answers nil for a key of another type instead of an error.
            if case .found(let value) = ctx.read(ctx.args[i], as: .string) {
                ctx.out.bulk(value)
            } else {
                ctx.out.null()
            }
        }
    }

    private static func mset(_ ctx: inout CommandContext, onlyIfNoneExist: Bool) {
        guard ctx.args.count % 2 == 1 else {
            return ctx.out.error("ERR wrong number of arguments for '\(ctx.commandName)' command")
        }
        if onlyIfNoneExist {
            for i in stride(from: 1, to: ctx.args.count, by: 2) where ctx.exists(ctx.args[i]) {
                return ctx.out.integer(0)
            }
        }
        for i in stride(from: 1, to: ctx.args.count, by: 2) {
            ctx.setString(ctx.args[i], copyingArgument: i + 1)
            ctx.notify(.string, "set", ctx.args[i])
        }
        if onlyIfNoneExist { ctx.out.integer(1) } else { ctx.out.ok() }
    }

    static func append(_ ctx: inout CommandContext) {
        let key = ctx.args[1]
        let suffix = ctx.args[2]
        if let entry = ctx.entry(key), case .string(let s) = entry.value,
           s.count + suffix.readableBytes > maxStringLength {
            return ctx.out.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        }
        let result = ctx.modify(key, as: .string, create: true) { (s: inout CompactBytes) -> Int in
            suffix.withUnsafeReadableBytes { s.append($0) }
            return s.count
        }
        switch result {
        case .wrongType: ctx.replyWrongType()
        case .missing: ctx.out.integer(0)
        case .found(let length):
            ctx.changed(key)
            ctx.notify(.string, "append", key)
            ctx.out.integer(length)
        }
    }

    static func strlen(_ ctx: inout CommandContext) {
        guard let value = ctx.found(ctx.read(ctx.args[1], as: .string), orReply: .zero) else { return }
        ctx.out.integer(value.count)
    }

    static func getrange(_ ctx: inout CommandContext) {
        guard var start = ctx.args[2].intValue, var end = ctx.args[3].intValue else { return ctx.replyNotInteger() }
        switch ctx.read(ctx.args[1], as: .string) {
        case .missing: ctx.out.bulk("")
        case .wrongType: ctx.replyWrongType()
        case .found(let value):
            let n = value.count
            // Redis 7.0: a negative start beyond a negative end is empty before clamping.
            if start < 0 && end < 0 && start > end { return ctx.out.bulk("") }
            if start < 0 { start += n }
            if end < 0 { end += n }
            start = max(start, 0)
            end = max(end, 0)
            if end >= n { end = n - 1 }
            if n == 0 || start > end { return ctx.out.bulk("") }
            value.withUnsafeBytes { ctx.out.bulk(raw: UnsafeRawBufferPointer(rebasing: $0[start...end])) }
        }
    }

    static func setrange(_ ctx: inout CommandContext) {
        guard let offset = ctx.args[2].intValue else { return ctx.replyNotInteger() }
        guard offset >= 0 else { return ctx.out.error("ERR offset is out of range") }
        let key = ctx.args[1]
        let patch = ctx.args[3]
        let existing = ctx.entry(key)
        if let existing {
            guard case .string = existing.value else { return ctx.replyWrongType() }
        }
        if patch.readableBytes == 0 {
            // Nothing to write: report the current length without creating the key.
            if case .string(let s)? = existing?.value { return ctx.out.integer(s.count) }
            return ctx.out.integer(0)
        }
        guard offset + patch.readableBytes <= maxStringLength else {
            return ctx.out.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        }
        let result = ctx.modify(key, as: .string, create: true) { (s: inout CompactBytes) -> Int in
            s.withUnsafeMutableBytes(growingTo: offset + patch.readableBytes) { bytes in
                patch.withUnsafeReadableBytes { (bytes.baseAddress! + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            return s.count
        }
        if case .found(let length) = result {
            ctx.changed(key)
            ctx.notify(.string, "setrange", key)
            ctx.out.integer(length)
        }
    }

    // MARK: counters

    static func incrby(_ ctx: inout CommandContext) {
        guard let by = ctx.args[2].int64Value else { return ctx.replyNotInteger() }
        incrementBy(&ctx, by)
    }

    static func decrby(_ ctx: inout CommandContext) {
        guard let by = ctx.args[2].int64Value else { return ctx.replyNotInteger() }
        guard by != Int64.min else { return ctx.out.error("ERR decrement would overflow") }
        incrementBy(&ctx, -by)
    }

    /// INCR/DECR/INCRBY/DECRBY: one lookup, and the counter's digits are written inline in the
    /// entry (any 64-bit integer fits: no allocation).
    private static func incrementBy(_ ctx: inout CommandContext, _ by: Int64) {
        enum Outcome { case value(Int64), wrongType, notInteger, overflow }
        let key = ctx.args[1]
        let isNew = ctx.notifiesNewKeys && !ctx.exists(key)
        // (The access stamp is the database's job: `Database.modify`.)
        let outcome = ctx.modifyEntry(key) { slot -> Outcome in
            // Taken out of the slot (moved, not copied); put back on every path below.
            guard var entry = slot.take() else {
                slot = Entry(value: .string(CompactBytes(decimal: by)))
                return .value(by)
            }
            guard case .string(let text) = entry.value else {
                slot = entry
                return .wrongType
            }
            guard let current = text.int64Value else {
                slot = entry
                return .notInteger
            }
            let (result, overflow) = current.addingReportingOverflow(by)
            guard !overflow else {
                slot = entry
                return .overflow
            }
            entry.value = .string(CompactBytes(decimal: result))
            slot = entry
            return .value(result)
        }
        switch outcome {
        case .value(let v):
            ctx.changed(key)
            if isNew { ctx.notify(.newKey, "new", key) }
            ctx.notify(.string, "incrby", key)
            ctx.out.integer(Int(v))
        case .wrongType: ctx.replyWrongType()
        case .notInteger: ctx.replyNotInteger()
        case .overflow: ctx.out.error("ERR increment or decrement would overflow")
        }
    }

    static func incrbyfloat(_ ctx: inout CommandContext) {
        let key = ctx.args[1]
        guard let by = parseLongDouble(ctx.args[2]) else { return ctx.replyNotFloat() }
        var current: LongDouble = 0
        var expireAt: Int64 = 0
        if let entry = ctx.entry(key) {
            guard case .string(let s) = entry.value else { return ctx.replyWrongType() }
            guard let v = parseLongDouble(s.byteBuffer) else { return ctx.replyNotFloat() }
            current = v
            expireAt = entry.expireAt
        }
        let result = current + by
        guard result.isFinite else { return ctx.out.error("ERR increment would produce NaN or Infinity") }
        let text = formatLongDouble(result)
        let value = ByteBuffer(string: text)
        ctx.set(key, .string(copying: value), expireAt: expireAt)
        ctx.notify(.string, "incrbyfloat", key)
        // The result, not the increment: float formatting must not be replayed differently.
        ctx.propagate(.text("SET"), .bytes(key), .bytes(value), .text("KEEPTTL"))
        ctx.out.bulk(text)
    }

    // MARK: LCS

    /// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
    static func lcs(_ ctx: inout CommandContext) {
        var wantLen = false, wantIdx = false, withMatchLen = false
        var minMatchLen = 0
        var i = 3
        while i < ctx.args.count {
            let a = ctx.args[i]
            if a.equalsIgnoringCase("LEN") { wantLen = true }
            else if a.equalsIgnoringCase("IDX") { wantIdx = true }
            else if a.equalsIgnoringCase("WITHMATCHLEN") { withMatchLen = true }
            else if a.equalsIgnoringCase("MINMATCHLEN") && i + 1 < ctx.args.count {
                guard let n = ctx.args[i + 1].intValue else { return ctx.replyNotInteger() }
                minMatchLen = max(0, n)
                i += 1
            } else {
                return ctx.replySyntaxError()
            }
            i += 1
        }
        if wantLen && wantIdx {
            return ctx.out.error("ERR If you want both the length and indexes, please just use IDX.")
        }
        var strings: [[UInt8]] = []
        for k in [ctx.args[1], ctx.args[2]] {
            switch ctx.read(k, as: .string) {
            case .missing: strings.append([])
            case .wrongType: return ctx.out.error("ERR The specified keys must contain string values")
            case .found(let s): strings.append(s.bytes)
            }
        }
        let a = strings[0], b = strings[1]
        // Dynamic programming table of LCS lengths of every prefix pair, as Redis does.
        let w = b.count + 1
        var table = [UInt32](repeating: 0, count: (a.count + 1) * w)
        if !a.isEmpty && !b.isEmpty {
            for x in 1...a.count {
                for y in 1...b.count {
                    table[x * w + y] = a[x - 1] == b[y - 1]
                        ? table[(x - 1) * w + y - 1] + 1
                        : max(table[(x - 1) * w + y], table[x * w + y - 1])
                }
            }
        }
        let length = Int(table[a.count * w + b.count])
        if wantLen && !wantIdx { return ctx.out.integer(length) }
        // Walk back from the end, collecting the common string and the matching ranges.
        var common = [UInt8](repeating: 0, count: length)
        var matches: [((Int, Int), (Int, Int), Int)] = []
        var x = a.count, y = b.count, idx = length
        var rangeA: (Int, Int)? = nil, rangeB: (Int, Int)? = nil
        func emit() {
            if let ra = rangeA, let rb = rangeB {
                let len = ra.1 - ra.0 + 1
                if len >= minMatchLen { matches.append((ra, rb, len)) }
            }
            rangeA = nil
            rangeB = nil
        }
        while x > 0 && y > 0 {
            if a[x - 1] == b[y - 1] {
                idx -= 1
                common[idx] = a[x - 1]
                if let ra = rangeA, let rb = rangeB, ra.0 == x, rb.0 == y {
                    rangeA = (x - 1, ra.1)
                    rangeB = (y - 1, rb.1)
                } else {
                    emit()
                    rangeA = (x - 1, x - 1)
                    rangeB = (y - 1, y - 1)
                }
                x -= 1
                y -= 1
            } else if table[(x - 1) * w + y] > table[x * w + y - 1] {
                x -= 1
            } else {
                y -= 1
            }
        }
        emit()
        if !wantIdx { return ctx.out.bulk(bytes: common) }
        ctx.out.map(2)
        ctx.out.bulk("matches")
        ctx.out.array(matches.count)
        for (ra, rb, len) in matches {
            ctx.out.array(withMatchLen ? 3 : 2)
            ctx.out.array(2); ctx.out.integer(ra.0); ctx.out.integer(ra.1)
            ctx.out.array(2); ctx.out.integer(rb.0); ctx.out.integer(rb.1)
            if withMatchLen { ctx.out.integer(len) }
        }
        ctx.out.bulk("len")
        ctx.out.integer(length)
    }
}

/// The options shared by SET and GETEX: condition, expiry, GET.
struct SetOptions {
    enum Condition { case none, nx, xx }
    var condition = Condition.none
    var get = false
    var keepTTL = false
    var persist = false
    /// Absolute expiry in Unix ms, already converted from EX/PX/EXAT/PXAT.
    var expireAt: Int64? = nil

    /// Parses options from `ctx.args[start...]`; replies the error and returns nil when invalid.
    /// As in Redis, repeating the same expiry option is fine (the last one wins) but mixing two
    /// kinds (EX with PX, KEEPTTL or PERSIST with any unit) is a syntax error.
    static func parse(_ ctx: inout CommandContext, from start: Int, allowGet: Bool, forGetEx: Bool = false) -> SetOptions? {
        var o = SetOptions()
        var i = start
        var unit: ExpiryUnit? = nil
        var unitIndex = 0
        while i < ctx.args.count {
            let a = ctx.args[i]
            let hasNext = i + 1 < ctx.args.count
            if !forGetEx && a.equalsIgnoringCase("NX") && o.condition != .xx {
                o.condition = .nx
            } else if !forGetEx && a.equalsIgnoringCase("XX") && o.condition != .nx {
                o.condition = .xx
            } else if allowGet && a.equalsIgnoringCase("GET") {
                o.get = true
            } else if !forGetEx && a.equalsIgnoringCase("KEEPTTL") && unit == nil {
                o.keepTTL = true
            } else if forGetEx && a.equalsIgnoringCase("PERSIST") && unit == nil {
                o.persist = true
            } else if hasNext, !o.keepTTL, !o.persist, let u = ExpiryUnit(a), unit == nil || unit == u {
                unit = u
                unitIndex = i + 1
                i += 1
            } else {
                ctx.replySyntaxError()
                return nil
            }
            i += 1
        }
        // Syntax errors win over value errors, as in Redis: the value is checked last.
        if let unit {
            guard let at = unit.absoluteMillis(ctx.args[unitIndex], now: ctx.now, ctx: &ctx, command: ctx.commandName) else { return nil }
            o.expireAt = at
        }
        return o
    }
}

/// EX / PX / EXAT / PXAT: how an expiry argument becomes absolute Unix milliseconds. Every
/// relative expiry is made absolute on the way in, so what reaches the keyspace (and later the
/// append-only file and replicas) is deterministic.
enum ExpiryUnit {
    case seconds, milliseconds, unixSeconds, unixMilliseconds

    init?(_ arg: ByteBuffer) {
        if arg.equalsIgnoringCase("EX") { self = .seconds }
        else if arg.equalsIgnoringCase("PX") { self = .milliseconds }
        else if arg.equalsIgnoringCase("EXAT") { self = .unixSeconds }
        else if arg.equalsIgnoringCase("PXAT") { self = .unixMilliseconds }
        else { return nil }
    }

    /// Replies Redis's error and returns nil for a non-integer, non-positive or overflowing value.
    func absoluteMillis(_ arg: ByteBuffer, now: Int64, ctx: inout CommandContext, command: String) -> Int64? {
        guard let v = arg.int64Value else {
            ctx.replyNotInteger()
            return nil
        }
        guard v > 0 else {
            ctx.out.error("ERR invalid expire time in '\(command)' command")
            return nil
        }
        var ms = v
        var overflow = false
        if self == .seconds || self == .unixSeconds {
            (ms, overflow) = v.multipliedReportingOverflow(by: 1000)
        }
        if !overflow && (self == .seconds || self == .milliseconds) {
            (ms, overflow) = ms.addingReportingOverflow(now)
        }
        guard !overflow else {
            ctx.out.error("ERR invalid expire time in '\(command)' command")
            return nil
        }
        return ms
    }
}
