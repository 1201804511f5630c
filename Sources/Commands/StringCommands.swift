import NIOCore
import Keyspace
import RESP

/// Strings: Redis's t_string.c.
extension CommandTable {
    static let stringCommands: [Command] = [
        Command("get", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "string", summary: "Returns the string value of a key.", handler: get),
        Command("set", arity: -3, flags: [.write, .denyoom], keys: .range(first: 1, last: 1, step: 1),
                group: "string", summary: "Sets the string value of a key, ignoring its type.", handler: set),
    ]

    static func get(_ ctx: inout CommandContext) {
        switch ctx.read(ctx.args[1], as: .string) {
        case .missing: ctx.out.null()
        case .wrongType: ctx.replyWrongType()
        case .found(let value): ctx.out.bulk(value)
        }
    }

    /// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL]
    static func set(_ ctx: inout CommandContext) {
        guard let options = SetOptions.parse(&ctx, from: 3, allowGet: true) else { return }
        let key = ctx.args[1]
        let old = ctx.entry(key)
        var oldValue: ByteBuffer? = nil
        if options.get, let old {
            guard case .string(let s) = old.value else { return ctx.replyWrongType() }
            oldValue = s
        }
        if (options.condition == .nx && old != nil) || (options.condition == .xx && old == nil) {
            return options.get ? reply(oldValue, &ctx) : ctx.out.null()
        }
        ctx.set(key, .string(ctx.args[2]), expireAt: options.expireAt ?? 0, keepTTL: options.keepTTL)
        if options.get { reply(oldValue, &ctx) } else { ctx.out.ok() }
    }

    private static func reply(_ value: ByteBuffer?, _ ctx: inout CommandContext) {
        if let value { ctx.out.bulk(value) } else { ctx.out.null() }
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
    static func parse(_ ctx: inout CommandContext, from start: Int, allowGet: Bool, forGetEx: Bool = false) -> SetOptions? {
        var o = SetOptions()
        var i = start
        var expirySeen = false
        while i < ctx.args.count {
            let a = ctx.args[i]
            let hasNext = i + 1 < ctx.args.count
            if !forGetEx && a.equalsIgnoringCase("NX") && o.condition != .xx {
                o.condition = .nx
            } else if !forGetEx && a.equalsIgnoringCase("XX") && o.condition != .nx {
                o.condition = .xx
            } else if allowGet && !forGetEx && a.equalsIgnoringCase("GET") {
                o.get = true
            } else if !forGetEx && a.equalsIgnoringCase("KEEPTTL") && !expirySeen {
                o.keepTTL = true
                expirySeen = true
            } else if forGetEx && a.equalsIgnoringCase("PERSIST") && !expirySeen {
                o.persist = true
                expirySeen = true
            } else if hasNext && !expirySeen,
                      let unit = ExpiryUnit(a) {
                i += 1
                guard let at = unit.absoluteMillis(ctx.args[i], now: ctx.now, ctx: &ctx, command: ctx.commandName) else { return nil }
                o.expireAt = at
                expirySeen = true
            } else {
                ctx.replySyntaxError()
                return nil
            }
            i += 1
        }
        return o
    }
}

/// EX / PX / EXAT / PXAT: how an expiry argument is turned into absolute Unix milliseconds.
/// Every relative expiry is made absolute on the way in, so what reaches the keyspace (and, later,
/// the append-only file and replicas) is deterministic.
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
        let (ms, overflow1): (Int64, Bool)
        switch self {
        case .seconds, .unixSeconds: (ms, overflow1) = v.multipliedReportingOverflow(by: 1000)
        case .milliseconds, .unixMilliseconds: (ms, overflow1) = (v, false)
        }
        var result = ms
        var overflow2 = false
        if self == .seconds || self == .milliseconds {
            (result, overflow2) = ms.addingReportingOverflow(now)
        }
        guard !overflow1 && !overflow2 else {
            ctx.out.error("ERR invalid expire time in '\(command)' command")
            return nil
        }
        return result
    }
}
