import Basics
import NIOCore
import Keyspace
import RESP

/// Sets: Redis 7.0's t_set.c.
///
/// Write commands find their key through `ctx.modify`/`ctx.entry` (Redis's `lookupKeyWrite`: no
/// hit/miss statistics); read commands and the sources of the STORE forms through `ctx.read`
/// (`lookupKeyRead`), as Redis does. Members taken from the request are copied with `owned()`
/// before they are stored; members computed from stored sets already own their bytes.
extension CommandTable {
    static let setCommands: [Command] = [
        Command("sadd", arity: -3, flags: [.write, .denyoom, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Adds one or more members to a set.", handler: sadd),
        Command("srem", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Removes one or more members from a set.", handler: srem),
        Command("smembers", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Returns all members of a set.", handler: smembers),
        Command("sismember", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Determines whether a member belongs to a set.", handler: sismember),
        Command("smismember", arity: -3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Determines whether multiple members belong to a set.", handler: smismember),
        Command("scard", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Returns the number of members in a set.", handler: scard),
        Command("spop", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Returns one or more random members from a set after removing them.",
                handler: spop),
        Command("srandmember", arity: -2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Returns one or more random members from a set.", handler: srandmember),
        Command("smove", arity: 4, flags: [.write, .fast], keys: .range(first: 1, last: 2, step: 1),
                group: "set", summary: "Moves a member from one set to another.", handler: smove),
        Command("sinter", arity: -2, flags: [.readonly], keys: .range(first: 1, last: -1, step: 1),
                group: "set", summary: "Returns the intersect of multiple sets.", handler: sinter),
        Command("sinterstore", arity: -3, flags: [.write, .denyoom], keys: .range(first: 1, last: -1, step: 1),
                group: "set", summary: "Stores the intersect of multiple sets in a key.", handler: sinterstore),
        Command("sintercard", arity: -3, flags: [.readonly], keys: .counted(countIndex: 1, also: []),
                group: "set", summary: "Returns the number of members of the intersect of multiple sets.",
                handler: sintercard),
        Command("sunion", arity: -2, flags: [.readonly], keys: .range(first: 1, last: -1, step: 1),
                group: "set", summary: "Returns the union of multiple sets.", handler: sunion),
        Command("sunionstore", arity: -3, flags: [.write, .denyoom], keys: .range(first: 1, last: -1, step: 1),
                group: "set", summary: "Stores the union of multiple sets in a key.", handler: sunionstore),
        Command("sdiff", arity: -2, flags: [.readonly], keys: .range(first: 1, last: -1, step: 1),
                group: "set", summary: "Returns the difference of multiple sets.", handler: sdiff),
        Command("sdiffstore", arity: -3, flags: [.write, .denyoom], keys: .range(first: 1, last: -1, step: 1),
                group: "set", summary: "Stores the difference of multiple sets in a key.", handler: sdiffstore),
        Command("sscan", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1),
                group: "set", summary: "Iterates over members of a set.", handler: sscan),
    ]

    typealias SetValue = Set<ByteBuffer>

    static func sadd(_ ctx: inout CommandContext) {
        let args = ctx.args
        let key = args[1]
        let access = ctx.modify(key, as: .set, create: true) { (set: inout SetValue) -> Int in
            var added = 0
            // Only members that are really new pay for a copy.
            for i in 2..<args.count {
                let member = args[i]
                if !set.contains(member) {
                    set.insert(member.owned())
                    added += 1
                }
            }
            return added
        }
        guard case .found(let added) = access else { return ctx.replyWrongType() }
        if added > 0 {
            ctx.changed(key, count: added)
            ctx.notify(.set, "sadd", key)
        }
        ctx.out.integer(added)
    }

    static func srem(_ ctx: inout CommandContext) {
        let args = ctx.args
        let access = ctx.modify(args[1], as: .set, create: false) { (set: inout SetValue) -> Int in
            var removed = 0
            for i in 2..<args.count where set.remove(args[i]) != nil { removed += 1 }
            return removed
        }
        switch access {
        case .missing: ctx.out.integer(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let removed):
            if removed > 0 {
                ctx.changed(args[1], count: removed)
                ctx.notifyRemoval(.set, "srem", args[1])
            }
            ctx.out.integer(removed)
        }
    }

    static func smembers(_ ctx: inout CommandContext) {
        guard let set = ctx.found(ctx.read(ctx.args[1], as: .set), orReply: .emptySet) else { return }
        ctx.replySet(set)
    }

    static func sismember(_ ctx: inout CommandContext) {
        guard let set = ctx.found(ctx.read(ctx.args[1], as: .set), orReply: .zero) else { return }
        ctx.out.integer(set.contains(ctx.args[2]) ? 1 : 0)
    }

    static func smismember(_ ctx: inout CommandContext) {
        var set: SetValue = []
        switch ctx.read(ctx.args[1], as: .set) {
        case .missing: break
        case .wrongType: return ctx.replyWrongType()
        case .found(let s): set = s
        }
        ctx.out.array(ctx.args.count - 2)
        for i in 2..<ctx.args.count { ctx.out.integer(set.contains(ctx.args[i]) ? 1 : 0) }
    }

    static func scard(_ ctx: inout CommandContext) {
        guard let set = ctx.found(ctx.read(ctx.args[1], as: .set), orReply: .zero) else { return }
        ctx.out.integer(set.count)
    }

    /// SPOP key [count]
    static func spop(_ ctx: inout CommandContext) {
        if ctx.args.count == 3 { return spopWithCount(&ctx) }
        guard ctx.args.count == 2 else { return ctx.replySyntaxError() }
        let key = ctx.args[1]
        let access = ctx.modify(key, as: .set, create: false) { (set: inout SetValue) -> ByteBuffer in
            var random = SplitMix64()
            return set.remove(at: set.index(set.startIndex, offsetBy: Int.random(in: 0..<set.count, using: &random)))
        }
        switch access {
        case .missing: ctx.out.null()
        case .wrongType: ctx.replyWrongType()
        case .found(let member):
            ctx.changed(key)
            ctx.notifyRemoval(.set, "spop", key)
            // The member chosen at random, so that replay removes the same one.
            ctx.propagate(.text("SREM"), .bytes(key), .bytes(member))
            ctx.out.bulk(member)
        }
    }

    private static func spopWithCount(_ ctx: inout CommandContext) {
        guard let requested = ctx.args[2].int64Value, requested >= 0 else {
            return ctx.out.error("ERR value is out of range, must be positive")
        }
        let key = ctx.args[1]
        let count = Int(requested)
        var everything = false
        let access = ctx.modify(key, as: .set, create: false) { (set: inout SetValue) -> [ByteBuffer] in
            if count == 0 { return [] }
            if count >= set.count {
                // Everything goes: the key is deleted when the body leaves the set empty.
                everything = true
                let all = Array(set)
                set.removeAll()
                return all
            }
            var random = SplitMix64()
            var members = Array(set)
            let popped = RandomPicks.distinct(&members, count, using: &random)
            for member in popped { set.remove(member) }
            return Array(popped)
        }
        switch access {
        case .missing: ctx.out.set(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let popped):
            if !popped.isEmpty {
                ctx.changed(key, count: popped.count)
                ctx.notifyRemoval(.set, "spop", key)
                // As Redis 7.0: DEL when the whole set went, else one SREM per member chosen
                // (several commands, so they leave wrapped in MULTI/EXEC).
                if everything {
                    ctx.propagate(.text("DEL"), .bytes(key))
                } else if ctx.server.propagating {
                    for member in popped { ctx.propagate(.text("SREM"), .bytes(key), .bytes(member)) }
                }
            }
            ctx.out.set(popped.count)
            for member in popped { ctx.out.bulk(member) }
        }
    }

    /// SRANDMEMBER key [count]
    static func srandmember(_ ctx: inout CommandContext) {
        if ctx.args.count == 3 { return srandmemberWithCount(&ctx) }
        guard ctx.args.count == 2 else { return ctx.replySyntaxError() }
        guard let set = ctx.found(ctx.read(ctx.args[1], as: .set), orReply: .null) else { return }
        var random = SplitMix64()
        ctx.out.bulk(set.randomElement(using: &random)!)
    }

    /// A positive count returns distinct members (at most the whole set); a negative count
    /// returns exactly |count| independent draws, so members may repeat.
    private static func srandmemberWithCount(_ ctx: inout CommandContext) {
        guard let requested = ctx.args[2].int64Value else { return ctx.replyNotInteger() }
        guard requested != .min else { return RandomPicks.replyCountOutOfRange(&ctx) }
        let set: SetValue
        switch ctx.read(ctx.args[1], as: .set) {
        case .missing: return ctx.out.array(0)
        case .wrongType: return ctx.replyWrongType()
        case .found(let s): set = s
        }
        let count = Int(requested.magnitude)
        if count == 0 { return ctx.out.array(0) }
        var random = SplitMix64()
        if requested < 0 || count == 1 {
            let members = Array(set)
            ctx.out.array(count)
            for _ in 0..<count { ctx.out.bulk(members[Int.random(in: 0..<members.count, using: &random)]) }
        } else if count >= set.count {
            ctx.out.array(set.count)
            for member in set { ctx.out.bulk(member) }
        } else {
            var members = Array(set)
            let picks = RandomPicks.distinct(&members, count, using: &random)
            ctx.out.array(picks.count)
            for member in picks { ctx.out.bulk(member) }
        }
    }

    /// SMOVE source destination member
    static func smove(_ ctx: inout CommandContext) {
        let (source, destination, member) = (ctx.args[1], ctx.args[2], ctx.args[3])
        let sourceState = ctx.setState(source)
        if case .missing = sourceState { return ctx.out.integer(0) }
        // Both types are checked before anything moves (a missing source wins over a bad destination).
        if case .wrongType = sourceState { return ctx.replyWrongType() }
        if case .wrongType = ctx.setState(destination) { return ctx.replyWrongType() }
        if source == destination {
            return ctx.out.integer(ctx.setState(source, contains: member) ? 1 : 0)
        }
        let removed = ctx.modify(source, as: .set, create: false) { (set: inout SetValue) in set.remove(member) != nil }
        guard case .found(true) = removed else { return ctx.out.integer(0) }
        ctx.changed(source)
        ctx.notifyRemoval(.set, "srem", source)
        let added = ctx.modify(destination, as: .set, create: true) { (set: inout SetValue) -> Bool in
            guard !set.contains(member) else { return false }
            set.insert(member.owned())
            return true
        }
        if case .found(true) = added {
            ctx.changed(destination)
            ctx.notify(.set, "sadd", destination)
        }
        ctx.out.integer(1)
    }

    // MARK: intersection, union, difference

    static func sinter(_ ctx: inout CommandContext) {
        guard let sets = loadSets(&ctx, 1..<ctx.args.count) else { return }
        var members: [ByteBuffer] = []
        forEachCommonMember(sets) { members.append($0); return true }
        ctx.out.set(members.count)
        for member in members { ctx.out.bulk(member) }
    }

    static func sinterstore(_ ctx: inout CommandContext) {
        guard let sets = loadSets(&ctx, 2..<ctx.args.count) else { return }
        var result = SetValue()
        forEachCommonMember(sets) { result.insert($0); return true }
        ctx.storeSet(result, at: ctx.args[1], event: "sinterstore")
    }

    /// SINTERCARD numkeys key [key ...] [LIMIT limit]
    static func sintercard(_ ctx: inout CommandContext) {
        guard let numkeys = ctx.args[1].intValue, numkeys > 0 else {
            return ctx.out.error("ERR numkeys should be greater than 0")
        }
        guard numkeys <= ctx.args.count - 2 else {
            return ctx.out.error("ERR Number of keys can't be greater than number of args")
        }
        var limit = 0   // no limit
        var i = 2 + numkeys
        while i < ctx.args.count {
            guard ctx.args[i].equalsIgnoringCase("LIMIT"), i + 1 < ctx.args.count else { return ctx.replySyntaxError() }
            guard let l = ctx.args[i + 1].intValue, l >= 0 else { return ctx.out.error("ERR LIMIT can't be negative") }
            limit = l
            i += 2
        }
        guard let sets = loadSets(&ctx, 2..<(2 + numkeys)) else { return }
        var cardinality = 0
        forEachCommonMember(sets) { _ in
            cardinality += 1
            return limit == 0 || cardinality < limit
        }
        ctx.out.integer(cardinality)
    }

    static func sunion(_ ctx: inout CommandContext) {
        guard let sets = loadSets(&ctx, 1..<ctx.args.count) else { return }
        ctx.replySet(union(sets))
    }

    static func sunionstore(_ ctx: inout CommandContext) {
        guard let sets = loadSets(&ctx, 2..<ctx.args.count) else { return }
        ctx.storeSet(union(sets), at: ctx.args[1], event: "sunionstore")
    }

    static func sdiff(_ ctx: inout CommandContext) {
        guard let sets = loadSets(&ctx, 1..<ctx.args.count) else { return }
        ctx.replySet(difference(sets))
    }

    static func sdiffstore(_ ctx: inout CommandContext) {
        guard let sets = loadSets(&ctx, 2..<ctx.args.count) else { return }
        ctx.storeSet(difference(sets), at: ctx.args[1], event: "sdiffstore")
    }

    /// The sets named by `ctx.args[range]`, nil for a missing key (an empty set). Replies
    /// WRONGTYPE and returns nil when any key holds another type: Redis 7.0 checks every key
    /// before computing, so `SINTER missing wrongtype` is an error, not an empty set.
    private static func loadSets(_ ctx: inout CommandContext, _ range: Range<Int>) -> [SetValue?]? {
        var sets: [SetValue?] = []
        sets.reserveCapacity(range.count)
        for i in range {
            switch ctx.read(ctx.args[i], as: .set) {
            case .missing: sets.append(nil)
            case .wrongType:
                ctx.replyWrongType()
                return nil
            case .found(let set): sets.append(set)
            }
        }
        return sets
    }

    /// Calls `body` with each member of the intersection until it returns false. Walks the
    /// smallest set and probes the others, so the cost follows the smallest input.
    private static func forEachCommonMember(_ sets: [SetValue?], _ body: (ByteBuffer) -> Bool) {
        var present: [SetValue] = []
        present.reserveCapacity(sets.count)
        for case let set? in sets { present.append(set) }
        guard present.count == sets.count else { return }   // a missing key is an empty set
        present.sort { $0.count < $1.count }
        let others = present.dropFirst()
        for member in present[0] where others.allSatisfy({ $0.contains(member) }) {
            if !body(member) { return }
        }
    }

    private static func union(_ sets: [SetValue?]) -> SetValue {
        var present = sets.compactMap { $0 }
        guard !present.isEmpty else { return [] }
        // Grow a copy of the largest set: fewer members to insert.
        present.sort { $0.count > $1.count }
        var result = present[0]
        for set in present.dropFirst() { result.formUnion(set) }
        return result
    }

    private static func difference(_ sets: [SetValue?]) -> SetValue {
        guard var result = sets[0] else { return [] }
        for case let set? in sets.dropFirst() {
            if result.isEmpty { break }
            result.subtract(set)
        }
        return result
    }

    /// SSCAN key cursor [MATCH pattern] [COUNT count]
    static func sscan(_ ctx: inout CommandContext) {
        guard let cursor = ctx.cursorArgument(2) else { return }
        switch ctx.read(ctx.args[1], as: .set) {
        case .missing: ctx.replyEmptyScan()
        case .wrongType: ctx.replyWrongType()
        case .found(let set):
            ctx.replyScanPage(set, cursor: cursor, whole: Value.set(set).encodingName == "intset", itemsPerElement: 1,
                              name: { $0 }) { out, member in out.bulk(member) }
        }
    }
}

extension CommandContext {
    fileprivate enum SetState {
        case missing, wrongType, set
    }

    /// The key's type as SMOVE needs it. Returns no reference to the set: one kept alive would
    /// make the following in-place `modify` copy the whole set.
    fileprivate mutating func setState(_ key: ByteBuffer) -> SetState {
        guard let entry = entry(key) else { return .missing }
        if case .set = entry.value { return .set }
        return .wrongType
    }

    fileprivate mutating func setState(_ key: ByteBuffer, contains member: ByteBuffer) -> Bool {
        guard case .set(let set)? = entry(key)?.value else { return false }
        return set.contains(member)
    }

    /// A set reply: RESP3 `~`, an array in RESP2.
    fileprivate mutating func replySet(_ set: Set<ByteBuffer>) {
        out.set(set.count)
        for member in set { out.bulk(member) }
    }

    /// The STORE forms: the destination is overwritten whatever its type (and loses its TTL), or
    /// deleted when the result is empty; the reply is the result's cardinality.
    fileprivate mutating func storeSet(_ result: Set<ByteBuffer>, at destination: ByteBuffer, event: StaticString) {
        if result.isEmpty {
            if delete(destination) { notify(.generic, "del", destination) }
        } else {
            set(destination, .set(result))
            notify(.set, event, destination)
        }
        out.integer(result.count)
    }
}

/// Random picks for SPOP, SRANDMEMBER and HRANDFIELD.
enum RandomPicks {
    /// `k` (< `all.count`) distinct elements chosen uniformly, in random order: a partial
    /// Fisher-Yates shuffle of `all` in place, O(k).
    static func distinct<T>(_ all: inout [T], _ k: Int, using random: inout SplitMix64) -> ArraySlice<T> {
        for i in 0..<k {
            all.swapAt(i, Int.random(in: i..<all.count, using: &random))
        }
        return all[..<k]
    }

    /// Redis takes counts in [-LONG_MAX, LONG_MAX] so that negating one cannot overflow; the
    /// message (grammar included) is Redis 7.0's.
    static func replyCountOutOfRange(_ ctx: inout CommandContext) {
        ctx.out.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    }
}
