import Basics
import NIOCore
import Keyspace
import RESP
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sorted sets: Redis 7.0's t_zset.c, argument parsing, error order and reply shapes included.
extension CommandTable {
    static let sortedSetCommands: [Command] = [
        Command("zadd", arity: -4, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Adds one or more members to a sorted set, or updates their scores.", handler: zadd),
        Command("zincrby", arity: 4, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Increments the score of a member in a sorted set.", handler: zincrby),
        Command("zrem", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Removes one or more members from a sorted set.", handler: zrem),
        Command("zcard", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns the number of members in a sorted set.", handler: zcard),
        Command("zcount", arity: 4, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns the count of members in a sorted set that have scores within a range.", handler: zcount),
        Command("zlexcount", arity: 4, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns the number of members in a sorted set within a lexicographical range.", handler: zlexcount),
        Command("zscore", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns the score of a member in a sorted set.", handler: zscore),
        Command("zmscore", arity: -3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns the score of one or more members in a sorted set.", handler: zmscore),
        Command("zrank", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns the index of a member in a sorted set ordered by ascending scores.",
                handler: { zrank(&$0, reverse: false) }),
        Command("zrevrank", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns the index of a member in a sorted set ordered by descending scores.",
                handler: { zrank(&$0, reverse: true) }),
        Command("zrange", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns members in a sorted set within a range of indexes, scores or members.",
                handler: { range(&$0, destination: nil, kind: nil, reverse: nil) }),
        Command("zrangestore", arity: -5, flags: [.write, .denyoom], keys: .range(first: 1, last: 2, step: 1),
                group: "sorted_set", summary: "Stores a range of members from sorted set in a key.",
                handler: { range(&$0, destination: 1, kind: nil, reverse: nil) }),
        Command("zrevrange", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns members in a sorted set within a range of indexes, in reverse order.",
                handler: { range(&$0, destination: nil, kind: .rank, reverse: true) }),
        Command("zrangebyscore", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns members in a sorted set within a range of scores.",
                handler: { range(&$0, destination: nil, kind: .score, reverse: false) }),
        Command("zrevrangebyscore", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns members in a sorted set within a range of scores in reverse order.",
                handler: { range(&$0, destination: nil, kind: .score, reverse: true) }),
        Command("zrangebylex", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns members in a sorted set within a lexicographical range.",
                handler: { range(&$0, destination: nil, kind: .lex, reverse: false) }),
        Command("zrevrangebylex", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns members in a sorted set within a lexicographical range in reverse order.",
                handler: { range(&$0, destination: nil, kind: .lex, reverse: true) }),
        Command("zremrangebyrank", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Removes members in a sorted set within a range of indexes.",
                handler: { removeRange(&$0, kind: .rank) }),
        Command("zremrangebyscore", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Removes members in a sorted set within a range of scores.",
                handler: { removeRange(&$0, kind: .score) }),
        Command("zremrangebylex", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Removes members in a sorted set within a lexicographical range.",
                handler: { removeRange(&$0, kind: .lex) }),
        Command("zpopmin", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Removes and returns the members with the lowest scores in a sorted set.",
                handler: { zpop(&$0, max: false) }),
        Command("zpopmax", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Removes and returns the members with the highest scores in a sorted set.",
                handler: { zpop(&$0, max: true) }),
        Command("bzpopmin", arity: -3, flags: [.write, .noscript, .blocking, .fast], keys: .range(first: 1, last: -2, step: 1),
                group: "sorted_set", summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise.",
                handler: { bzpop(&$0, max: false) }),
        Command("bzpopmax", arity: -3, flags: [.write, .noscript, .blocking, .fast], keys: .range(first: 1, last: -2, step: 1),
                group: "sorted_set", summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member is available otherwise.",
                handler: { bzpop(&$0, max: true) }),
        Command("zmpop", arity: -4, flags: [.write], keys: .counted(countIndex: 1, also: []),
                group: "sorted_set", summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them.",
                handler: { mpop(&$0, numkeysIndex: 1, blocking: false) }),
        Command("bzmpop", arity: -5, flags: [.write, .blocking], keys: .counted(countIndex: 2, also: []),
                group: "sorted_set", summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise.",
                handler: { mpop(&$0, numkeysIndex: 2, blocking: true) }),
        Command("zrandmember", arity: -2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Returns one or more random members from a sorted set.", handler: zrandmember),
        Command("zunion", arity: -3, flags: [.readonly], keys: .counted(countIndex: 1, also: []),
                group: "sorted_set", summary: "Returns the union of multiple sorted sets.",
                handler: { combine(&$0, .union, destination: nil, numkeysIndex: 1) }),
        Command("zinter", arity: -3, flags: [.readonly], keys: .counted(countIndex: 1, also: []),
                group: "sorted_set", summary: "Returns the intersect of multiple sorted sets.",
                handler: { combine(&$0, .inter, destination: nil, numkeysIndex: 1) }),
        Command("zdiff", arity: -3, flags: [.readonly], keys: .counted(countIndex: 1, also: []),
                group: "sorted_set", summary: "Returns the difference between multiple sorted sets.",
                handler: { combine(&$0, .diff, destination: nil, numkeysIndex: 1) }),
        Command("zunionstore", arity: -4, flags: [.write, .denyoom], keys: .counted(countIndex: 2, also: [1]),
                group: "sorted_set", summary: "Stores the union of multiple sorted sets in a key.",
                handler: { combine(&$0, .union, destination: 1, numkeysIndex: 2) }),
        Command("zinterstore", arity: -4, flags: [.write, .denyoom], keys: .counted(countIndex: 2, also: [1]),
                group: "sorted_set", summary: "Stores the intersect of multiple sorted sets in a key.",
                handler: { combine(&$0, .inter, destination: 1, numkeysIndex: 2) }),
        Command("zdiffstore", arity: -4, flags: [.write, .denyoom], keys: .counted(countIndex: 2, also: [1]),
                group: "sorted_set", summary: "Stores the difference of multiple sorted sets in a key.",
                handler: { combine(&$0, .diff, destination: 1, numkeysIndex: 2) }),
        Command("zintercard", arity: -3, flags: [.readonly], keys: .counted(countIndex: 1, also: []),
                group: "sorted_set", summary: "Returns the number of members of the intersect of multiple sorted sets.",
                handler: { combine(&$0, .inter, destination: nil, numkeysIndex: 1, cardinalityOnly: true) }),
        Command("zscan", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "sorted_set", summary: "Iterates over members and scores of a sorted set.", handler: zscan),
    ]

    // MARK: adding and removing

    static func zadd(_ ctx: inout CommandContext) { add(&ctx, incrementOnly: false) }
    static func zincrby(_ ctx: inout CommandContext) { add(&ctx, incrementOnly: true) }

    /// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], and ZINCRBY as ZADD
    /// INCR (Redis's zaddGenericCommand: ZINCRBY also accepts the flags, which then leave an odd
    /// number of arguments and a syntax error). Every score is parsed before anything changes.
    private static func add(_ ctx: inout CommandContext, incrementOnly: Bool) {
        var nx = false, xx = false, gt = false, lt = false, ch = false, incr = incrementOnly
        var first = 2
        while first < ctx.args.count {
            let option = ctx.args.unsafeBytes(first)
            if option.equalsIgnoringCase("NX") { nx = true }
            else if option.equalsIgnoringCase("XX") { xx = true }
            else if option.equalsIgnoringCase("CH") { ch = true }
            else if option.equalsIgnoringCase("INCR") { incr = true }
            else if option.equalsIgnoringCase("GT") { gt = true }
            else if option.equalsIgnoringCase("LT") { lt = true }
            else { break }
            first += 1
        }
        let remaining = ctx.args.count - first
        guard remaining > 0, remaining % 2 == 0 else { return ctx.replySyntaxError() }
        if nx && xx {
            return ctx.out.error("ERR XX and NX options at the same time are not compatible")
        }
        if (gt && nx) || (lt && nx) || (gt && lt) {
            return ctx.out.error("ERR GT, LT, and/or NX options at the same time are not compatible")
        }
        if incr && remaining > 2 {
            return ctx.out.error("ERR INCR option supports a single increment-element pair")
        }
        // Scores live on the stack for the usual few pairs: the write path allocates only what
        // it stores.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: remaining / 2) { scores in
            for j in 0..<scores.count {
                guard let score = parseDouble(ctx.args.unsafeBytes(first + 2 * j)) else { return ctx.replyNotFloat() }
                scores[j] = score
            }
            let flags = AddFlags(nx: nx, xx: xx, gt: gt, lt: lt, incr: incr)
            let args = ctx.args
            let key = args[1]
            let access = ctx.modify(key, as: .zset, create: !xx) { (z: inout SortedSet) in
                flags.apply(UnsafeBufferPointer(scores), members: args, from: first + 1, to: &z)
            }
            var outcome = AddFlags.Outcome()
            switch access {
            case .wrongType: return ctx.replyWrongType()
            case .missing: break   // XX on a missing key: nothing to do
            case .found(let o): outcome = o
            }
            if outcome.nan { return ctx.out.error("ERR resulting score is not a number (NaN)") }
            if outcome.added + outcome.updated > 0 {
                ctx.changed(key)
                ctx.notify(.zset, incr ? "zincr" : "zadd", key)
            }
            if incr {
                if outcome.processed > 0 { ctx.out.double(outcome.score) } else { ctx.out.null() }
            } else {
                ctx.out.integer(ch ? outcome.added + outcome.updated : outcome.added)
            }
        }
    }

    /// ZADD's update rules (Redis's zsetAdd) applied to score/member pairs.
    private struct AddFlags {
        var nx: Bool, xx: Bool, gt: Bool, lt: Bool, incr: Bool

        struct Outcome { var added = 0, updated = 0, processed = 0, score = 0.0, nan = false }

        /// `scores[j]` goes with the member at `args[firstMember + 2 * j]`.
        func apply(_ scores: UnsafeBufferPointer<Double>, members args: Arguments, from firstMember: Int,
                   to z: inout SortedSet) -> Outcome {
            var outcome = Outcome()
            for (j, given) in scores.enumerated() {
                let member = args[firstMember + 2 * j]
                if let current = z.score(of: member) {
                    if nx { continue }
                    var score = given
                    if incr {
                        score += current
                        // INCR takes one pair, so nothing has changed when this bails out.
                        if score.isNaN { outcome.nan = true; return outcome }
                    }
                    if (lt && score >= current) || (gt && score <= current) { continue }
                    if score != current {
                        z.insert(member, score: score)   // the stored member is kept
                        outcome.updated += 1
                    }
                    outcome.score = score
                    outcome.processed += 1
                } else if !xx {
                    z.insert(member.owned(), score: given)
                    outcome.added += 1
                    outcome.score = given
                    outcome.processed += 1
                }
            }
            return outcome
        }
    }

    /// ZREM key member [member ...]
    static func zrem(_ ctx: inout CommandContext) {
        let args = ctx.args
        let access = ctx.modify(args[1], as: .zset, create: false) { (z: inout SortedSet) -> Int in
            var removed = 0
            for i in 2..<args.count where z.remove(args[i]) != nil { removed += 1 }
            return removed
        }
        switch access {
        case .missing: ctx.out.integer(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let removed):
            if removed > 0 {
                ctx.changed(args[1])
                ctx.notifyRemoval(.zset, "zrem", args[1])
            }
            ctx.out.integer(removed)
        }
    }

    /// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max: the range is validated
    /// before the key is looked at.
    private static func removeRange(_ ctx: inout CommandContext, kind: RangeKind) {
        guard let bounds = RangeBounds.parse(&ctx, kind: kind, min: ctx.args[2], max: ctx.args[3]) else { return }
        let access = ctx.modify(ctx.args[1], as: .zset, create: false) { (z: inout SortedSet) -> Int in
            z.removeRanks(bounds.ranks(in: z))
        }
        switch access {
        case .missing: ctx.out.integer(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let removed):
            if removed > 0 {
                ctx.changed(ctx.args[1])
                let event: StaticString = kind == .rank ? "zremrangebyrank" : kind == .score ? "zremrangebyscore" : "zremrangebylex"
                ctx.notifyRemoval(.zset, event, ctx.args[1])
            }
            ctx.out.integer(removed)
        }
    }

    // MARK: reading single members

    /// ZCARD key
    static func zcard(_ ctx: inout CommandContext) {
        guard let z = ctx.found(ctx.read(ctx.args[1], as: .zset), orReply: .zero) else { return }
        ctx.out.integer(z.count)
    }

    /// ZSCORE key member
    static func zscore(_ ctx: inout CommandContext) {
        guard let z = ctx.found(ctx.read(ctx.args[1], as: .zset), orReply: .null) else { return }
        if let score = z.score(of: ctx.args[2]) { ctx.out.double(score) } else { ctx.out.null() }
    }

    /// ZMSCORE key member [member ...]: a null for each missing member (all of them when the
    /// key is missing).
    static func zmscore(_ ctx: inout CommandContext) {
        var z = SortedSet()
        switch ctx.read(ctx.args[1], as: .zset) {
        case .missing: break
        case .wrongType: return ctx.replyWrongType()
        case .found(let found): z = found
        }
        ctx.out.array(ctx.args.count - 2)
        for i in 2..<ctx.args.count {
            if let score = z.score(of: ctx.args[i]) { ctx.out.double(score) } else { ctx.out.null() }
        }
    }

    /// ZRANK / ZREVRANK key member
    private static func zrank(_ ctx: inout CommandContext, reverse: Bool) {
        guard let z = ctx.found(ctx.read(ctx.args[1], as: .zset), orReply: .null) else { return }
        if let rank = z.rank(of: ctx.args[2], reverse: reverse) { ctx.out.integer(rank) } else { ctx.out.null() }
    }

    /// ZCOUNT key min max
    static func zcount(_ ctx: inout CommandContext) { countInRange(&ctx, kind: .score) }
    /// ZLEXCOUNT key min max
    static func zlexcount(_ ctx: inout CommandContext) { countInRange(&ctx, kind: .lex) }

    private static func countInRange(_ ctx: inout CommandContext, kind: RangeKind) {
        guard let bounds = RangeBounds.parse(&ctx, kind: kind, min: ctx.args[2], max: ctx.args[3]) else { return }
        guard let z = ctx.found(ctx.read(ctx.args[1], as: .zset), orReply: .zero) else { return }
        ctx.out.integer(bounds.ranks(in: z).count)
    }

    // MARK: ranges

    /// ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX (Redis's
    /// zrangeGenericCommand). `kind` and `reverse` are fixed by the legacy commands and chosen by
    /// BYSCORE/BYLEX/REV for ZRANGE and ZRANGESTORE. `destination` is the argument index of
    /// ZRANGESTORE's destination; the source key follows it.
    private static func range(_ ctx: inout CommandContext, destination: Int?, kind fixedKind: RangeKind?, reverse fixedReverse: Bool?) {
        let source = destination.map { $0 + 1 } ?? 1
        var kind = fixedKind
        var reverse = fixedReverse
        var withScores = false
        var offset = 0
        var limit = -1
        var j = source + 3
        while j < ctx.args.count {
            let option = ctx.args[j]
            let left = ctx.args.count - j - 1
            if destination == nil && option.equalsIgnoringCase("WITHSCORES") {
                withScores = true
            } else if option.equalsIgnoringCase("LIMIT") && left >= 2 {
                guard let o = ctx.integerArgument(j + 1), let l = ctx.integerArgument(j + 2) else { return }
                offset = o
                limit = l
                j += 2
            } else if reverse == nil && option.equalsIgnoringCase("REV") {
                reverse = true
            } else if kind == nil && option.equalsIgnoringCase("BYLEX") {
                kind = .lex
            } else if kind == nil && option.equalsIgnoringCase("BYSCORE") {
                kind = .score
            } else {
                return ctx.replySyntaxError()
            }
            j += 1
        }
        let rangeKind = kind ?? .rank
        let descending = reverse ?? false
        // As in Redis, an explicit "LIMIT x -1" is indistinguishable from no LIMIT.
        if limit != -1 && rangeKind == .rank {
            return ctx.out.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if withScores && rangeKind == .lex {
            return ctx.out.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        // Reversed score and lex ranges are written max first.
        let swap = descending && rangeKind != .rank
        let minArg = ctx.args[source + (swap ? 2 : 1)]
        let maxArg = ctx.args[source + (swap ? 1 : 2)]
        guard var bounds = RangeBounds.parse(&ctx, kind: rangeKind, min: minArg, max: maxArg) else { return }
        bounds.offset = offset
        bounds.limit = limit

        switch ctx.read(ctx.args[source], as: .zset) {
        case .wrongType:
            ctx.replyWrongType()
        case .missing:
            if let destination { store(&ctx, SortedSet(), at: destination, event: "zrangestore") } else { ctx.out.array(0) }
        case .found(let z):
            let ranks = bounds.window(in: z, reverse: descending)
            let elements = z.elements(inRanks: ranks, reverse: descending)
            if let destination {
                var scores = [ByteBuffer: Double](minimumCapacity: ranks.count)
                for (member, score) in elements { scores[member] = score }
                store(&ctx, SortedSet(scores), at: destination, event: "zrangestore")
            } else {
                reply(&ctx, elements, count: ranks.count, withScores: withScores)
            }
        }
    }

    /// Writes members, or member/score pairs: one flat array in RESP2, an array of [member,
    /// score] arrays in RESP3 (Redis keeps order, so not a map).
    private static func reply<S: Sequence>(_ ctx: inout CommandContext, _ elements: S, count: Int, withScores: Bool)
    where S.Element == SortedSet.Element {
        let pairs = withScores && ctx.out.proto == .resp3
        ctx.out.array(withScores && !pairs ? count * 2 : count)
        for (member, score) in elements {
            if pairs { ctx.out.array(2) }
            ctx.out.bulk(member)
            if withScores { ctx.out.double(score) }
        }
    }

    /// The *STORE ending: the result replaces the destination (any type, TTL cleared); an empty
    /// result deletes it. Replies the result's size.
    private static func store(_ ctx: inout CommandContext, _ result: SortedSet, at destination: Int, event: StaticString) {
        let key = ctx.args[destination]
        if result.isEmpty {
            if ctx.delete(key) { ctx.notify(.generic, "del", key) }
        } else {
            ctx.set(key, .zset(result))
            ctx.notify(.zset, event, key)
        }
        ctx.out.integer(result.count)
    }

    // MARK: popping

    /// ZPOPMIN / ZPOPMAX key [count]
    private static func zpop(_ ctx: inout CommandContext, max: Bool) {
        guard ctx.args.count <= 3 else { return ctx.replySyntaxError() }
        var count = -1   // no count: one element, always a flat reply
        if ctx.args.count == 3 {
            guard let n = ctx.args[2].intValue, n >= 0 else {
                return ctx.out.error("ERR value is out of range, must be positive")
            }
            count = n
        }
        let key = ctx.args[1]
        switch ctx.zsetState(key) {
        case .wrongType: return ctx.replyWrongType()
        case .missing: return ctx.out.array(0)
        case .found: break
        }
        if count == 0 { return ctx.out.array(0) }
        let shape: PopShape = ctx.out.proto == .resp3 && count != -1 ? .pairs : .flat
        pop(&ctx, key: key, max: max, count: Swift.max(count, 1), shape: shape)
    }

    /// BZPOPMIN / BZPOPMAX key [key ...] timeout
    private static func bzpop(_ ctx: inout CommandContext, max: Bool) {
        guard let timeout = ctx.timeoutArgument(ctx.args.count - 1) else { return }
        popFirstAvailable(&ctx, keys: 1..<ctx.args.count - 1, max: max, count: 1, shape: .keyFlat, timeout: timeout)
    }

    /// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] and BZMPOP timeout numkeys ...: numkeys,
    /// direction and COUNT are validated before the timeout, as Redis does.
    private static func mpop(_ ctx: inout CommandContext, numkeysIndex: Int, blocking: Bool) {
        guard let numkeys = ctx.args[numkeysIndex].intValue, numkeys >= 1 else {
            return ctx.out.error("ERR numkeys should be greater than 0")
        }
        guard numkeys < ctx.args.count - numkeysIndex - 1 else { return ctx.replySyntaxError() }
        let whereIndex = numkeysIndex + numkeys + 1
        let max: Bool
        if ctx.args[whereIndex].equalsIgnoringCase("MIN") { max = false }
        else if ctx.args[whereIndex].equalsIgnoringCase("MAX") { max = true }
        else { return ctx.replySyntaxError() }
        var count = -1
        var j = whereIndex + 1
        while j < ctx.args.count {
            guard count == -1, ctx.args[j].equalsIgnoringCase("COUNT"), j + 1 < ctx.args.count else {
                return ctx.replySyntaxError()
            }
            guard let n = ctx.args[j + 1].intValue, n >= 1 else {
                return ctx.out.error("ERR count should be greater than 0")
            }
            count = n
            j += 2
        }
        let keys = numkeysIndex + 1..<whereIndex
        if blocking {
            guard let timeout = ctx.timeoutArgument(1) else { return }
            popFirstAvailable(&ctx, keys: keys, max: max, count: Swift.max(count, 1), shape: .keyNested, timeout: timeout)
            return
        }
        for i in keys {
            switch ctx.zsetState(ctx.args[i]) {
            case .missing: continue
            case .wrongType: return ctx.replyWrongType()
            case .found: return pop(&ctx, key: ctx.args[i], max: max, count: Swift.max(count, 1), shape: .keyNested)
            }
        }
        ctx.out.nullArray()
    }

    /// The blocking pops: pop from the first key (in argument order) holding a sorted set, else
    /// block. Also the re-run when a key gets data: then a key of another type is passed over
    /// rather than reported, and the client keeps waiting if nothing can be taken (Redis 7.0
    /// serves waiters only from sorted sets).
    private static func popFirstAvailable(_ ctx: inout CommandContext, keys: Range<Int>, max: Bool, count: Int,
                                          shape: PopShape, timeout: Int64) {
        for i in keys {
            switch ctx.zsetState(ctx.args[i]) {
            case .missing: continue
            case .wrongType:
                if ctx.servingBlocked { continue }
                return ctx.replyWrongType()
            case .found: return pop(&ctx, key: ctx.args[i], max: max, count: count, shape: shape)
            }
        }
        ctx.blockOrTimeOut(keys: keys.map { ctx.args[$0] }, timeoutMillis: timeout)
    }

    /// Reply layouts of Redis's genericZpopCommand.
    private enum PopShape {
        /// member, score, ... (ZPOPMIN/ZPOPMAX in RESP2, or without count)
        case flat
        /// [member, score], ... (ZPOPMIN/ZPOPMAX with count in RESP3)
        case pairs
        /// key, member, score (BZPOPMIN/BZPOPMAX)
        case keyFlat
        /// key, [[member, score], ...] (ZMPOP/BZMPOP)
        case keyNested
    }

    /// Pops up to `count` elements from the low or high end of `key` (known to hold a sorted
    /// set) and replies them in `shape`.
    private static func pop(_ ctx: inout CommandContext, key: ByteBuffer, max: Bool, count: Int, shape: PopShape) {
        let access = ctx.modify(key, as: .zset, create: false) { (z: inout SortedSet) -> [SortedSet.Element] in
            let n = Swift.min(count, z.count)
            let ranks = max ? z.count - n..<z.count : 0..<n
            let popped = Array(z.elements(inRanks: ranks, reverse: max))
            z.removeRanks(ranks)
            return popped
        }
        guard case .found(let popped) = access else { return ctx.replyWrongType() }
        ctx.changed(key)
        if !popped.isEmpty { ctx.notifyRemoval(.zset, max ? "zpopmax" : "zpopmin", key) }
        // BZPOP*, ZMPOP, BZMPOP: the key chosen, as the plain pop (which never blocks); with a
        // count for the MPOPs, without for BZPOPMIN/BZPOPMAX, as Redis 7.0 writes them.
        if shape == .keyFlat {
            ctx.propagate(.text(max ? "ZPOPMAX" : "ZPOPMIN"), .bytes(key))
        } else if shape == .keyNested {
            ctx.propagate(.text(max ? "ZPOPMAX" : "ZPOPMIN"), .bytes(key), .number(Int64(popped.count)))
        }
        switch shape {
        case .flat: ctx.out.array(popped.count * 2)
        case .pairs: ctx.out.array(popped.count)
        case .keyFlat:
            ctx.out.array(popped.count * 2 + 1)
            ctx.out.bulk(key)
        case .keyNested:
            ctx.out.array(2)
            ctx.out.bulk(key)
            ctx.out.array(popped.count)
        }
        let nested = shape == .pairs || shape == .keyNested
        for (member, score) in popped {
            if nested { ctx.out.array(2) }
            ctx.out.bulk(member)
            ctx.out.double(score)
        }
    }

    // MARK: random members

    /// ZRANDMEMBER key [count [WITHSCORES]]: a positive count gives distinct members, a negative
    /// one |count| independent picks.
    static func zrandmember(_ ctx: inout CommandContext) {
        guard ctx.args.count >= 3 else {
            switch ctx.read(ctx.args[1], as: .zset) {
            case .missing: ctx.out.null()
            case .wrongType: ctx.replyWrongType()
            case .found(let z): ctx.out.bulk(z.element(atRank: Int.random(in: 0..<z.count)).member)
            }
            return
        }
        guard let requested = ctx.integerArgument(2) else { return }
        guard requested != Int.min else {
            return ctx.out.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        }
        if ctx.args.count > 4 || (ctx.args.count == 4 && !ctx.args[3].equalsIgnoringCase("WITHSCORES")) {
            return ctx.replySyntaxError()
        }
        let withScores = ctx.args.count == 4
        // Twice the count must still fit (the RESP2 reply has two entries per member).
        if withScores && (requested < -Int.max / 2 || requested > Int.max / 2) {
            return ctx.out.error("ERR value is out of range")
        }
        let z: SortedSet
        switch ctx.read(ctx.args[1], as: .zset) {
        case .missing: return ctx.out.array(0)
        case .wrongType: return ctx.replyWrongType()
        case .found(let found): z = found
        }
        let count = abs(requested)
        if count == 0 { return ctx.out.array(0) }
        var rng = SplitMix64()   // seeded once: ZRANDMEMBER with a large count makes one system call
        if requested < 0 || count == 1 {
            reply(&ctx, (0..<count).lazy.map { _ in z.element(atRank: rng.next(below: z.count)) },
                  count: count, withScores: withScores)
        } else if count >= z.count {
            reply(&ctx, z, count: z.count, withScores: withScores)
        } else {
            var picked: [Int]
            if count * 3 > z.count {
                // Most of the set: a partial shuffle of all ranks.
                picked = Array(0..<z.count)
                for i in 0..<count { picked.swapAt(i, i + rng.next(below: z.count - i)) }
                picked.removeLast(z.count - count)
            } else {
                // A small share: draw until enough distinct ranks.
                var seen = Set<Int>(minimumCapacity: count)
                picked = []
                picked.reserveCapacity(count)
                while picked.count < count {
                    let rank = rng.next(below: z.count)
                    if seen.insert(rank).inserted { picked.append(rank) }
                }
            }
            reply(&ctx, picked.lazy.map { z.element(atRank: $0) }, count: count, withScores: withScores)
        }
    }

    // MARK: union, intersection, difference

    private enum Combination { case union, inter, diff }

    /// One input of a set operation: plain sets count as sorted sets whose scores are all 1.
    private enum Operand {
        case missing
        case sorted(SortedSet)
        case plain(Set<ByteBuffer>)

        var count: Int {
            switch self {
            case .missing: return 0
            case .sorted(let z): return z.count
            case .plain(let s): return s.count
            }
        }

        func score(of member: ByteBuffer) -> Double? {
            switch self {
            case .missing: return nil
            case .sorted(let z): return z.score(of: member)
            case .plain(let s): return s.contains(member) ? 1 : nil
            }
        }

        /// Visits every member in no particular order until `body` returns false.
        func forEach(_ body: (ByteBuffer, Double) -> Bool) {
            switch self {
            case .missing: break
            case .sorted(let z): for (member, score) in z.scoresByMember where !body(member, score) { return }
            case .plain(let s): for member in s where !body(member, 1) { return }
            }
        }
    }

    private enum Aggregate { case sum, min, max }

    /// ZUNION/ZINTER/ZDIFF numkeys key ... and their STORE forms, and ZINTERCARD (Redis's
    /// zunionInterDiffGenericCommand). Inputs are type-checked before the options are parsed.
    private static func combine(_ ctx: inout CommandContext, _ operation: Combination, destination: Int?,
                                numkeysIndex: Int, cardinalityOnly: Bool = false) {
        guard let numkeys = ctx.integerArgument(numkeysIndex) else { return }
        guard numkeys >= 1 else {
            return ctx.out.error("ERR at least 1 input key is needed for '\(ctx.commandName)' command")
        }
        guard numkeys <= ctx.args.count - (numkeysIndex + 1) else { return ctx.replySyntaxError() }
        var operands: [Operand] = []
        operands.reserveCapacity(numkeys)
        for i in numkeysIndex + 1...numkeysIndex + numkeys {
            // Like Redis, the STORE forms read their inputs as writes: no keyspace hit or miss.
            let value = destination == nil ? ctx.lookup(ctx.args[i]) : ctx.entry(ctx.args[i])?.value
            switch value {
            case nil: operands.append(.missing)
            case .zset(let z)?: operands.append(.sorted(z))
            case .set(let s)?: operands.append(.plain(s))
            default: return ctx.replyWrongType()
            }
        }

        var weights = [Double](repeating: 1, count: numkeys)
        var aggregate = Aggregate.sum
        var withScores = false
        var limit = 0
        var j = numkeysIndex + 1 + numkeys
        while j < ctx.args.count {
            let option = ctx.args[j]
            let remaining = ctx.args.count - j
            let weighted = operation != .diff && !cardinalityOnly
            if weighted && remaining >= numkeys + 1 && option.equalsIgnoringCase("WEIGHTS") {
                for k in 0..<numkeys {
                    guard let w = parseDouble(ctx.args[j + 1 + k]) else {
                        return ctx.out.error("ERR weight value is not a float")
                    }
                    weights[k] = w
                }
                j += numkeys + 1
            } else if weighted && remaining >= 2 && option.equalsIgnoringCase("AGGREGATE") {
                let name = ctx.args[j + 1]
                if name.equalsIgnoringCase("SUM") { aggregate = .sum }
                else if name.equalsIgnoringCase("MIN") { aggregate = .min }
                else if name.equalsIgnoringCase("MAX") { aggregate = .max }
                else { return ctx.replySyntaxError() }
                j += 2
            } else if destination == nil && !cardinalityOnly && option.equalsIgnoringCase("WITHSCORES") {
                withScores = true
                j += 1
            } else if cardinalityOnly && remaining >= 2 && option.equalsIgnoringCase("LIMIT") {
                guard let l = ctx.args[j + 1].intValue, l >= 0 else {
                    return ctx.out.error("ERR LIMIT can't be negative")
                }
                limit = l
                j += 2
            } else {
                return ctx.replySyntaxError()
            }
        }

        // inf * 0 and inf + -inf are NaN; Redis counts them as 0.
        func weigh(_ score: Double, _ weight: Double) -> Double {
            let v = score * weight
            return v.isNaN ? 0 : v
        }
        func combined(_ a: Double, _ b: Double) -> Double {
            switch aggregate {
            case .sum: let s = a + b; return s.isNaN ? 0 : s
            case .min: return b < a ? b : a
            case .max: return b > a ? b : a
            }
        }

        var result: [ByteBuffer: Double] = [:]
        var cardinality = 0
        switch operation {
        case .union:
            // Smallest first, as Redis (the order is visible only through inf + -inf sums).
            let order = operands.indices.sorted { operands[$0].count < operands[$1].count }
            result.reserveCapacity(operands.map(\.count).max() ?? 0)
            for i in order {
                operands[i].forEach { member, score in
                    let v = weigh(score, weights[i])
                    if let slot = result.index(forKey: member) {
                        result.values[slot] = combined(result.values[slot], v)
                    } else {
                        result[member] = v
                    }
                    return true
                }
            }
        case .inter:
            if operands.contains(where: { if case .missing = $0 { return true } else { return false } }) { break }
            let order = operands.indices.sorted { operands[$0].count < operands[$1].count }
            let smallest = order[0]
            operands[smallest].forEach { member, score in
                var total = weigh(score, weights[smallest])
                for i in order.dropFirst() {
                    guard let other = operands[i].score(of: member) else { return true }
                    total = combined(total, weigh(other, weights[i]))
                }
                guard cardinalityOnly else {
                    result[member] = total
                    return true
                }
                cardinality += 1
                return limit == 0 || cardinality < limit
            }
        case .diff:
            operands[0].forEach { member, score in
                for other in operands.dropFirst() where other.score(of: member) != nil { return true }
                result[member] = score
                return true
            }
        }

        if cardinalityOnly { return ctx.out.integer(cardinality) }
        if let destination {
            let event: StaticString = operation == .union ? "zunionstore" : operation == .inter ? "zinterstore" : "zdiffstore"
            return store(&ctx, SortedSet(result), at: destination, event: event)
        }
        let sorted = result.sorted { a, b in
            a.value < b.value || (a.value == b.value && SortedSet.compare(a.key, b.key) < 0)
        }
        reply(&ctx, sorted.lazy.map { (member: $0.key, score: $0.value) }, count: sorted.count, withScores: withScores)
    }

    // MARK: scanning

    /// ZSCAN key cursor [MATCH pattern] [COUNT count]: scores as bulk strings. Options are only
    /// checked when the key exists, as in Redis.
    static func zscan(_ ctx: inout CommandContext) {
        guard let cursor = ctx.cursorArgument(2) else { return }
        switch ctx.read(ctx.args[1], as: .zset) {
        case .missing: ctx.replyEmptyScan()
        case .wrongType: ctx.replyWrongType()
        case .found(let z):
            ctx.replyScanPage(z.scoresByMember, cursor: cursor, whole: false, itemsPerElement: 2,
                              name: { $0.key }) { out, pair in
                out.bulk(pair.key)
                out.bulk(formatDouble(pair.value))
            }
        }
    }
}

// MARK: - argument parsing

/// How a range's two bounds are read.
private enum RangeKind { case rank, score, lex }

/// Parsed bounds of a rank, score or lex range, plus LIMIT, turned into ranks of a given set.
private struct RangeBounds {
    var kind: RangeKind
    var start = 0
    var end = 0
    var score = ScoreRange(min: 0, max: 0)
    var lex = LexRange(min: .minusInfinity, max: .plusInfinity)
    var offset = 0
    /// Negative: no limit.
    var limit = -1

    /// Parses `min` and `max` (start and stop for ranks), replying Redis's error when invalid.
    static func parse(_ ctx: inout CommandContext, kind: RangeKind, min: ByteBuffer, max: ByteBuffer) -> RangeBounds? {
        var bounds = RangeBounds(kind: kind)
        switch kind {
        case .rank:
            guard let start = min.intValue, let end = max.intValue else {
                ctx.replyNotInteger()
                return nil
            }
            bounds.start = start
            bounds.end = end
        case .score:
            guard let low = scoreBound(min), let high = scoreBound(max) else {
                ctx.out.error("ERR min or max is not a float")
                return nil
            }
            bounds.score = ScoreRange(min: low.value, max: high.value, minExclusive: low.exclusive, maxExclusive: high.exclusive)
        case .lex:
            guard let low = lexBound(min), let high = lexBound(max) else {
                ctx.out.error("ERR min or max not valid string range item")
                return nil
            }
            bounds.lex = LexRange(min: low, max: high)
        }
        return bounds
    }

    /// All ranks inside the bounds, ignoring LIMIT. Rank bounds count from the end when
    /// negative and are clipped to the set.
    func ranks(in z: SortedSet) -> Range<Int> {
        switch kind {
        case .rank:
            let n = z.count
            var start = self.start < 0 ? n + self.start : self.start
            let end = self.end < 0 ? n + self.end : self.end
            if start < 0 { start = 0 }
            if start > end || start >= n { return 0..<0 }
            return start..<Swift.min(end, n - 1) + 1
        case .score: return z.ranks(in: score)
        case .lex: return z.ranks(in: lex)
        }
    }

    /// The ranks to emit: rank bounds apply to the requested direction; score and lex ranges
    /// skip `offset` and keep `limit` elements from the end they are walked from.
    func window(in z: SortedSet, reverse: Bool) -> Range<Int> {
        let all = ranks(in: z)
        if kind == .rank {
            // Positions counted from the top: flip them into ascending ranks.
            return reverse ? z.count - all.upperBound..<z.count - all.lowerBound : all
        }
        // A negative offset skips everything, as in Redis's `while (offset--)`.
        guard offset >= 0, offset < all.count else { return 0..<0 }
        let available = all.count - offset
        let take = limit < 0 ? available : Swift.min(limit, available)
        if reverse {
            let top = all.upperBound - offset
            return top - take..<top
        }
        let bottom = all.lowerBound + offset
        return bottom..<bottom + take
    }
}

/// One end of a score range as Redis's `zslParseRange` reads it: an optional `(` for an open
/// bound, then anything C's strtod takes whole. That is looser than a score: leading spaces are
/// fine, an empty text is 0, and overflow gives an infinite bound.
private func scoreBound(_ text: ByteBuffer) -> (value: Double, exclusive: Bool)? {
    var text = text
    let exclusive = text.readableBytesView.first == UInt8(ascii: "(")
    if exclusive { text.moveReaderIndex(forwardBy: 1) }
    guard let (value, _) = strtodWhole(text), !value.isNaN else { return nil }
    return (value, exclusive)
}

/// One end of a lex range: `-`, `+`, `[member` or `(member` (Redis's zslParseLexRangeItem).
private func lexBound(_ text: ByteBuffer) -> LexBound? {
    guard let first = text.readableBytesView.first else { return nil }
    switch first {
    case UInt8(ascii: "+") where text.readableBytes == 1: return .plusInfinity
    case UInt8(ascii: "-") where text.readableBytes == 1: return .minusInfinity
    case UInt8(ascii: "["): return .inclusive(text.getSlice(at: text.readerIndex + 1, length: text.readableBytes - 1)!)
    case UInt8(ascii: "("): return .exclusive(text.getSlice(at: text.readerIndex + 1, length: text.readableBytes - 1)!)
    default: return nil
    }
}

extension CommandContext {
    fileprivate enum ZsetState { case missing, wrongType, found }

    /// Whether `key` holds a sorted set, without keeping a reference to it (a kept copy would make
    /// the next `modify` copy the whole set) and without counting a keyspace hit.
    fileprivate mutating func zsetState(_ key: ByteBuffer) -> ZsetState {
        guard let entry = entry(key) else { return .missing }
        if case .zset = entry.value { return .found }
        return .wrongType
    }
}
