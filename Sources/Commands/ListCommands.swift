import DequeModule
import NIOCore
import Keyspace
import RESP

/// Lists: Redis's t_list.c, including the blocking forms.
///
/// Argument checks run in Redis's order (some before the key lookup, some after), because that
/// order decides which error a client sees for an invocation that is wrong in two ways.
/// Write commands look keys up without counting keyspace hits/misses, as Redis's
/// `lookupKeyWrite` does; read commands go through `ctx.read`, which counts them.
extension CommandTable {
    private static let sourceAndDestination = KeySpec.range(first: 1, last: 2, step: 1)

    static let listCommands: [Command] = [
        Command("lpush", arity: -3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "list",
                summary: "Prepend one or multiple elements to a list", handler: { push(&$0, to: .left, onlyIfExists: false) }),
        Command("rpush", arity: -3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "list",
                summary: "Append one or multiple elements to a list", handler: { push(&$0, to: .right, onlyIfExists: false) }),
        Command("lpushx", arity: -3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "list",
                summary: "Prepend an element to a list, only if the list exists", handler: { push(&$0, to: .left, onlyIfExists: true) }),
        Command("rpushx", arity: -3, flags: [.write, .denyoom, .fast], keys: oneKey, group: "list",
                summary: "Append an element to a list, only if the list exists", handler: { push(&$0, to: .right, onlyIfExists: true) }),
        Command("lpop", arity: -2, flags: [.write, .fast], keys: oneKey, group: "list",
                summary: "Remove and get the first elements in a list", handler: { pop(&$0, from: .left) }),
        Command("rpop", arity: -2, flags: [.write, .fast], keys: oneKey, group: "list",
                summary: "Remove and get the last elements in a list", handler: { pop(&$0, from: .right) }),
        Command("llen", arity: 2, flags: [.readonly, .fast], keys: oneKey, group: "list",
                summary: "Get the length of a list", handler: llen),
        Command("lrange", arity: 4, flags: [.readonly], keys: oneKey, group: "list",
                summary: "Get a range of elements from a list", handler: lrange),
        Command("lindex", arity: 3, flags: [.readonly], keys: oneKey, group: "list",
                summary: "Get an element from a list by its index", handler: lindex),
        Command("lset", arity: 4, flags: [.write, .denyoom], keys: oneKey, group: "list",
                summary: "Set the value of an element in a list by its index", handler: lset),
        Command("linsert", arity: 5, flags: [.write, .denyoom], keys: oneKey, group: "list",
                summary: "Insert an element before or after another element in a list", handler: linsert),
        Command("lrem", arity: 4, flags: [.write], keys: oneKey, group: "list",
                summary: "Remove elements from a list", handler: lrem),
        Command("ltrim", arity: 4, flags: [.write], keys: oneKey, group: "list",
                summary: "Trim a list to the specified range", handler: ltrim),
        Command("lpos", arity: -3, flags: [.readonly], keys: oneKey, group: "list",
                summary: "Return the index of matching elements on a list", handler: lpos),
        Command("lmove", arity: 5, flags: [.write, .denyoom], keys: sourceAndDestination, group: "list",
                summary: "Pop an element from a list, push it to another list and return it", handler: lmove),
        Command("rpoplpush", arity: 3, flags: [.write, .denyoom], keys: sourceAndDestination, group: "list",
                summary: "Remove the last element in a list, prepend it to another list and return it", handler: rpoplpush),
        Command("lmpop", arity: -4, flags: [.write], keys: .counted(countIndex: 1, also: []), group: "list",
                summary: "Pop elements from a list", handler: { mpop(&$0, numkeysIndex: 1, blocking: false) }),
        Command("blpop", arity: -3, flags: [.write, .noscript, .blocking], keys: .range(first: 1, last: -2, step: 1), group: "list",
                summary: "Remove and get the first element in a list, or block until one is available", handler: { bpop(&$0, from: .left) }),
        Command("brpop", arity: -3, flags: [.write, .noscript, .blocking], keys: .range(first: 1, last: -2, step: 1), group: "list",
                summary: "Remove and get the last element in a list, or block until one is available", handler: { bpop(&$0, from: .right) }),
        Command("blmove", arity: 6, flags: [.write, .denyoom, .noscript, .blocking], keys: sourceAndDestination, group: "list",
                summary: "Pop an element from a list, push it to another list and return it; or block until one is available", handler: blmove),
        Command("brpoplpush", arity: 4, flags: [.write, .denyoom, .noscript, .blocking], keys: sourceAndDestination, group: "list",
                summary: "Pop an element from a list, push it to another list and return it; or block until one is available", handler: brpoplpush),
        Command("blmpop", arity: -5, flags: [.write, .blocking], keys: .counted(countIndex: 2, also: []), group: "list",
                summary: "Pop elements from a list, or block until one is available", handler: { mpop(&$0, numkeysIndex: 2, blocking: true) }),
    ]

    // MARK: push and pop

    /// LPUSH / RPUSH / LPUSHX / RPUSHX key element [element ...]
    private static func push(_ ctx: inout CommandContext, to end: ListEnd, onlyIfExists: Bool) {
        let key = ctx.args[1]
        let access: Access<Int>
        if ctx.args.count == 3 {
            // The common single-element push: copy the element first, so the closure does not
            // need (and retain) the whole argument array.
            let element = CompactBytes(ctx.args.unsafeBytes(2))
            access = ctx.modify(key, as: .list, create: !onlyIfExists) { (list: inout Deque<CompactBytes>) -> Int in
                end.push(element, to: &list)
                return list.count
            }
        } else {
            let args = ctx.args
            access = ctx.modify(key, as: .list, create: !onlyIfExists) { (list: inout Deque<CompactBytes>) -> Int in
                for i in 2..<args.count { end.push(CompactBytes(args.unsafeBytes(i)), to: &list) }
                return list.count
            }
        }
        let pushed = ctx.args.count - 2
        switch access {
        case .missing: ctx.out.integer(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let length):
            ctx.changed(key, count: pushed)
            ctx.notify(.list, end.pushEvent, key)
            ctx.out.integer(length)
        }
    }

    /// LPOP / RPOP key [count]. Without a count: one element or the null string; with one: an
    /// array (empty for count 0 on an existing list) or, for a missing key, the null array.
    private static func pop(_ ctx: inout CommandContext, from end: ListEnd) {
        // The table says "at least 2" like Redis's; the upper bound is checked here, also like Redis.
        guard ctx.args.count <= 3 else {
            return ctx.out.error("ERR wrong number of arguments for '\(ctx.commandName)' command")
        }
        let key = ctx.args[1]
        guard ctx.args.count == 3 else {
            switch ctx.modify(key, as: .list, create: false, { end.pop(from: &$0) }) {
            case .missing: ctx.out.null()
            case .wrongType: ctx.replyWrongType()
            case .found(let element):
                ctx.changed(key)
                ctx.notifyRemoval(.list, end.popEvent, key)
                ctx.out.bulk(element!)   // stored lists are never empty
            }
            return
        }
        guard let count = ctx.args[2].intValue, count >= 0 else {
            return ctx.out.error("ERR value is out of range, must be positive")
        }
        guard let elements = ctx.found(ctx.modify(key, as: .list, create: false, { end.pop(from: &$0, upTo: count) }), orReply: .nullArray) else { return }
        if !elements.isEmpty {
            ctx.changed(key, count: elements.count)
            ctx.notifyRemoval(.list, end.popEvent, key)
        }
        ctx.replyBulks(elements)
    }

    // MARK: reading

    private static func llen(_ ctx: inout CommandContext) {
        guard let list = ctx.found(ctx.read(ctx.args[1], as: .list), orReply: .zero) else { return }
        ctx.out.integer(list.count)
    }

    /// LRANGE key start stop (inclusive, negative counts from the tail, clamped to the list).
    private static func lrange(_ ctx: inout CommandContext) {
        guard let start = ctx.integerArgument(2), let stop = ctx.integerArgument(3) else { return }
        guard let list = ctx.found(ctx.read(ctx.args[1], as: .list), orReply: .emptyArray) else { return }
        let range = clampedRange(start, stop, count: list.count)
        ctx.out.array(range.count)
        for i in range { ctx.out.bulk(list[i]) }
    }

    /// LINDEX key index: the key is checked before the index, so a missing key answers nil even
    /// for a malformed index.
    private static func lindex(_ ctx: inout CommandContext) {
        guard let list = ctx.found(ctx.read(ctx.args[1], as: .list), orReply: .null) else { return }
        guard let index = ctx.integerArgument(2) else { return }
        if let i = absoluteIndex(index, count: list.count) { ctx.out.bulk(list[i]) } else { ctx.out.null() }
    }

    /// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
    private static func lpos(_ ctx: inout CommandContext) {
        var rank = 1
        var count: Int? = nil
        var maxlen = 0
        var i = 3
        while i < ctx.args.count {
            let option = ctx.args[i]
            guard i + 1 < ctx.args.count else { return ctx.replySyntaxError() }
            let value = ctx.args[i + 1]
            if option.equalsIgnoringCase("RANK") {
                guard let r = value.intValue else { return ctx.replyNotInteger() }
                guard r != 0 else {
                    return ctx.out.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
                }
                rank = r
            } else if option.equalsIgnoringCase("COUNT") {
                guard let c = value.intValue, c >= 0 else { return ctx.out.error("ERR COUNT can't be negative") }
                count = c
            } else if option.equalsIgnoringCase("MAXLEN") {
                guard let m = value.intValue, m >= 0 else { return ctx.out.error("ERR MAXLEN can't be negative") }
                maxlen = m
            } else {
                return ctx.replySyntaxError()
            }
            i += 2
        }
        let list: Deque<CompactBytes>
        switch ctx.read(ctx.args[1], as: .list) {
        case .missing: return count == nil ? ctx.out.null() : ctx.out.array(0)
        case .wrongType: return ctx.replyWrongType()
        case .found(let l): list = l
        }
        let element = ctx.args[2]
        let fromTail = rank < 0
        // Redis negates a negative rank in a C long: RANK -9223372036854775808 stays negative
        // there and so accepts the very first match from the tail. Keep that answer.
        let firstWanted = rank == .min ? 1 : abs(rank)
        let limit = maxlen == 0 ? list.count : min(maxlen, list.count)
        var matches = 0
        var found: [Int] = []
        for scanned in 0..<limit {
            let index = fromTail ? list.count - 1 - scanned : scanned
            guard list[index] == element else { continue }
            matches += 1
            guard matches >= firstWanted else { continue }
            found.append(index)
            // Without COUNT the first match is the answer; COUNT 0 means all matches.
            if found.count == count ?? 1 { break }
        }
        guard count != nil else {
            if let index = found.first { ctx.out.integer(index) } else { ctx.out.null() }
            return
        }
        ctx.out.array(found.count)
        for index in found { ctx.out.integer(index) }
    }

    // MARK: editing in place

    /// LSET key index element. Missing key first ("no such key"), then type, then the index.
    private static func lset(_ ctx: inout CommandContext) {
        let key = ctx.args[1]
        let index = ctx.args[2].intValue
        let element = ctx.args[3]
        enum Outcome { case set, notInteger, outOfRange }
        let access = ctx.modify(key, as: .list, create: false) { (list: inout Deque<CompactBytes>) -> Outcome in
            guard let index else { return .notInteger }
            guard let i = absoluteIndex(index, count: list.count) else { return .outOfRange }
            list[i] = CompactBytes(copying: element)
            return .set
        }
        switch access {
        case .missing: ctx.out.error("ERR no such key")
        case .wrongType: ctx.replyWrongType()
        case .found(.notInteger): ctx.replyNotInteger()
        case .found(.outOfRange): ctx.out.error("ERR index out of range")
        case .found(.set):
            ctx.changed(key)
            ctx.notify(.list, "lset", key)
            ctx.out.ok()
        }
    }

    /// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without
    /// the key.
    private static func linsert(_ ctx: inout CommandContext) {
        let after: Bool
        if ctx.args[2].equalsIgnoringCase("AFTER") {
            after = true
        } else if ctx.args[2].equalsIgnoringCase("BEFORE") {
            after = false
        } else {
            return ctx.replySyntaxError()
        }
        let key = ctx.args[1]
        let pivot = ctx.args[3]
        let element = ctx.args[4]
        let access = ctx.modify(key, as: .list, create: false) { (list: inout Deque<CompactBytes>) -> Int in
            guard let i = list.firstIndex(where: { $0 == pivot }) else { return -1 }
            list.insert(CompactBytes(copying: element), at: after ? i + 1 : i)
            return list.count
        }
        switch access {
        case .missing: ctx.out.integer(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let length):
            if length > 0 {
                ctx.changed(key)
                ctx.notify(.list, "linsert", key)
            }
            ctx.out.integer(length)
        }
    }

    /// LREM key count element: count > 0 removes the first count matches from the head, < 0 from
    /// the tail, 0 all of them.
    private static func lrem(_ ctx: inout CommandContext) {
        guard let count = ctx.integerArgument(2) else { return }
        let key = ctx.args[1]
        let element = ctx.args[3]
        let limit = count == 0 ? Int.max : Int(clamping: count.magnitude)
        let access = ctx.modify(key, as: .list, create: false) { (list: inout Deque<CompactBytes>) -> Int in
            removeMatches(of: element, from: &list, limit: limit, fromTail: count < 0)
        }
        switch access {
        case .missing: ctx.out.integer(0)
        case .wrongType: ctx.replyWrongType()
        case .found(let removed):
            if removed > 0 {
                ctx.changed(key, count: removed)
                ctx.notifyRemoval(.list, "lrem", key)
            }
            ctx.out.integer(removed)
        }
    }

    /// LTRIM key start stop: keeps the LRANGE of the same arguments; deletes the key when that is
    /// empty.
    private static func ltrim(_ ctx: inout CommandContext) {
        guard let start = ctx.integerArgument(2), let stop = ctx.integerArgument(3) else { return }
        let key = ctx.args[1]
        let access = ctx.modify(key, as: .list, create: false) { (list: inout Deque<CompactBytes>) -> Int in
            let keep = clampedRange(start, stop, count: list.count)
            let before = list.count
            if keep.isEmpty {
                list.removeAll()
            } else {
                list.removeLast(list.count - keep.upperBound)
                list.removeFirst(keep.lowerBound)
            }
            return before - list.count
        }
        switch access {
        case .missing: ctx.out.ok()
        case .wrongType: ctx.replyWrongType()
        case .found(let removed):
            // Redis signals the key even when nothing was trimmed (WATCH sees an LTRIM 0 -1).
            ctx.changed(key, count: removed)
            ctx.notifyRemoval(.list, "ltrim", key)
            ctx.out.ok()
        }
    }

    // MARK: moving between lists

    /// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
    private static func lmove(_ ctx: inout CommandContext) {
        guard let from = ListEnd(ctx.args[3]), let to = ListEnd(ctx.args[4]) else { return ctx.replySyntaxError() }
        switch move(&ctx, from: from, to: to) {
        case .moved(let element): ctx.out.bulk(element)
        case .sourceMissing: ctx.out.null()
        case .wrongType: ctx.replyWrongType()
        }
    }

    /// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
    private static func rpoplpush(_ ctx: inout CommandContext) {
        switch move(&ctx, from: .right, to: .left) {
        case .moved(let element): ctx.out.bulk(element)
        case .sourceMissing: ctx.out.null()
        case .wrongType: ctx.replyWrongType()
        }
    }

    private enum MoveOutcome {
        case moved(CompactBytes)
        case sourceMissing
        case wrongType
    }

    /// Moves one element from `args[1]` to `args[2]`. Both types are checked before anything is
    /// popped, so a WRONGTYPE destination leaves the source as it was. The same key on both sides
    /// rotates the list in place (its TTL stays, even for a single element).
    private static func move(_ ctx: inout CommandContext, from: ListEnd, to: ListEnd) -> MoveOutcome {
        let source = ctx.args[1]
        let destination = ctx.args[2]
        switch ctx.listState(source) {
        case .missing: return .sourceMissing
        case .wrongType: return .wrongType
        case .list: break
        }
        if source == destination {
            let access = ctx.modify(source, as: .list, create: false) { (list: inout Deque<CompactBytes>) -> CompactBytes in
                let element = from.pop(from: &list)!
                to.push(element, to: &list)
                return element
            }
            guard case .found(let element) = access else { return .sourceMissing }
            ctx.changed(source)
            ctx.notify(.list, to.pushEvent, source)
            ctx.notify(.list, from.popEvent, source)
            return .moved(element)
        }
        if case .wrongType = ctx.listState(destination) { return .wrongType }
        guard case .found(let popped) = ctx.modify(source, as: .list, create: false, { from.pop(from: &$0) }),
              let element = popped else { return .sourceMissing }
        _ = ctx.modify(destination, as: .list, create: true) { to.push(element, to: &$0) }
        ctx.changed(source)
        ctx.changed(destination, count: 0)
        // Redis's order: the push, then the pop (and the source's deletion when emptied).
        ctx.notify(.list, to.pushEvent, destination)
        ctx.notifyRemoval(.list, from.popEvent, source)
        return .moved(element)
    }

    // MARK: popping from the first non-empty of several lists

    /// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], and BLMPOP timeout numkeys ... whose
    /// numkeys is one argument later. Reply: [key, [elements]].
    private static func mpop(_ ctx: inout CommandContext, numkeysIndex: Int, blocking: Bool) {
        var timeout: Int64 = 0
        if blocking {
            guard let t = ctx.timeoutArgument(1) else { return }
            timeout = t
        }
        guard let numkeys = ctx.args[numkeysIndex].intValue, numkeys > 0 else {
            return ctx.out.error("ERR numkeys should be greater than 0")
        }
        // Written as a comparison of counts so a huge numkeys cannot overflow an index.
        guard numkeys < ctx.args.count - numkeysIndex - 1,
              let end = ListEnd(ctx.args[numkeysIndex + numkeys + 1]) else { return ctx.replySyntaxError() }
        var count: Int? = nil
        var i = numkeysIndex + numkeys + 2
        while i < ctx.args.count {
            guard count == nil, ctx.args[i].equalsIgnoringCase("COUNT"), i + 1 < ctx.args.count else {
                return ctx.replySyntaxError()
            }
            guard let c = ctx.args[i + 1].intValue, c > 0 else {
                return ctx.out.error("ERR count should be greater than 0")
            }
            count = c
            i += 2
        }
        let keys = ctx.args[(numkeysIndex + 1)...(numkeysIndex + numkeys)]
        for key in keys {
            switch ctx.listState(key) {
            case .missing: continue
            case .wrongType:
                // A blocked client is woken by any change to one of its keys; one that turned
                // into another type is not its business (Redis only serves list keys).
                if ctx.servingBlocked { continue }
                return ctx.replyWrongType()
            case .list:
                guard case .found(let elements) = ctx.modify(key, as: .list, create: false, { end.pop(from: &$0, upTo: count ?? 1) }) else { continue }
                ctx.changed(key, count: elements.count)
                ctx.notifyRemoval(.list, end.popEvent, key)
                // As Redis: the key that was chosen, popped with a count (also for BLMPOP).
                ctx.propagate(.text(end == .left ? "LPOP" : "RPOP"), .bytes(key), .number(Int64(elements.count)))
                ctx.out.array(2)
                ctx.out.bulk(key)
                ctx.replyBulks(elements)
                return
            }
        }
        if blocking {
            ctx.blockOrTimeOut(keys: Array(keys), timeoutMillis: timeout)
        } else {
            ctx.out.nullArray()
        }
    }

    // MARK: blocking

    /// BLPOP / BRPOP key [key ...] timeout: pops from the first non-empty key in argument order
    /// (also when re-run to serve a blocked client). Reply: [key, element].
    private static func bpop(_ ctx: inout CommandContext, from end: ListEnd) {
        let timeoutIndex = ctx.args.count - 1
        guard let timeout = ctx.timeoutArgument(timeoutIndex) else { return }
        let keys = ctx.args[1..<timeoutIndex]
        for key in keys {
            switch ctx.listState(key) {
            case .missing: continue
            case .wrongType:
                if ctx.servingBlocked { continue }   // see mpop
                return ctx.replyWrongType()
            case .list:
                guard case .found(let popped) = ctx.modify(key, as: .list, create: false, { end.pop(from: &$0) }),
                      let element = popped else { continue }
                ctx.changed(key)
                ctx.notifyRemoval(.list, end.popEvent, key)
                ctx.propagate(.text(end == .left ? "LPOP" : "RPOP"), .bytes(key))
                ctx.out.array(2)
                ctx.out.bulk(key)
                ctx.out.bulk(element)
                return
            }
        }
        ctx.blockOrTimeOut(keys: Array(keys), timeoutMillis: timeout)
    }

    /// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
    private static func blmove(_ ctx: inout CommandContext) {
        guard let from = ListEnd(ctx.args[3]), let to = ListEnd(ctx.args[4]) else { return ctx.replySyntaxError() }
        guard let timeout = ctx.timeoutArgument(5) else { return }
        blockingMove(&ctx, from: from, to: to, timeout: timeout)
    }

    /// BRPOPLPUSH source destination timeout: BLMOVE source destination RIGHT LEFT timeout.
    private static func brpoplpush(_ ctx: inout CommandContext) {
        guard let timeout = ctx.timeoutArgument(3) else { return }
        blockingMove(&ctx, from: .right, to: .left, timeout: timeout)
    }

    /// Blocks on the source only: the destination's type matters when an element is there to
    /// move (then a WRONGTYPE destination is the reply, also for a client that was waiting).
    private static func blockingMove(_ ctx: inout CommandContext, from: ListEnd, to: ListEnd, timeout: Int64) {
        if ctx.servingBlocked, case .wrongType = ctx.listState(ctx.args[1]) {
            return ctx.blockOrTimeOut(keys: [ctx.args[1]], timeoutMillis: timeout)
        }
        switch move(&ctx, from: from, to: to) {
        case .moved(let element):
            // The non-blocking form: replayed, it must not wait (Redis propagates LMOVE/RPOPLPUSH).
            ctx.propagate(.text("LMOVE"), .bytes(ctx.args[1]), .bytes(ctx.args[2]),
                          .text(from == .left ? "LEFT" : "RIGHT"), .text(to == .left ? "LEFT" : "RIGHT"))
            ctx.out.bulk(element)
        case .wrongType: ctx.replyWrongType()
        case .sourceMissing:
            // Inside MULTI Redis answers BLMOVE with the null string, not the null array that
            // BLPOP and a timed-out BLMOVE get.
            if ctx.inTransaction { return ctx.out.null() }
            ctx.blockOrTimeOut(keys: [ctx.args[1]], timeoutMillis: timeout)
        }
    }

    // MARK: helpers

    /// LRANGE/LTRIM index arithmetic: negative indexes count from the tail, then both ends are
    /// clamped to the list; an inverted or out-of-list range is empty.
    private static func clampedRange(_ start: Int, _ stop: Int, count: Int) -> Range<Int> {
        var start = start < 0 ? start &+ count : start
        var stop = stop < 0 ? stop &+ count : stop
        if start < 0 { start = 0 }
        if start > stop || start >= count { return 0..<0 }
        if stop >= count { stop = count - 1 }
        return start..<(stop + 1)
    }

    /// LINDEX/LSET index: negative counts from the tail; nil when outside the list.
    private static func absoluteIndex(_ index: Int, count: Int) -> Int? {
        let i = index < 0 ? index &+ count : index
        return i >= 0 && i < count ? i : nil
    }

    /// Removes up to `limit` elements equal to `element`, scanning from the head or the tail,
    /// compacting in place (one pass, no new storage). Returns how many were removed.
    private static func removeMatches(of element: ByteBuffer, from list: inout Deque<CompactBytes>, limit: Int, fromTail: Bool) -> Int {
        guard let first = fromTail ? list.lastIndex(where: { $0 == element }) : list.firstIndex(where: { $0 == element }) else { return 0 }
        var removed = 0
        if fromTail {
            var write = first
            for read in stride(from: first, through: 0, by: -1) {
                if removed < limit && list[read] == element {
                    removed += 1
                } else {
                    list[write] = list[read]
                    write -= 1
                }
            }
            list.removeFirst(removed)
        } else {
            var write = first
            for read in first..<list.count {
                if removed < limit && list[read] == element {
                    removed += 1
                } else {
                    list[write] = list[read]
                    write += 1
                }
            }
            list.removeLast(removed)
        }
        return removed
    }
}

/// LEFT (head) or RIGHT (tail) of a list.
private enum ListEnd {
    case left, right

    init?(_ arg: ByteBuffer) {
        if arg.equalsIgnoringCase("LEFT") { self = .left }
        else if arg.equalsIgnoringCase("RIGHT") { self = .right }
        else { return nil }
    }

    func pop(from list: inout Deque<CompactBytes>) -> CompactBytes? {
        self == .left ? list.popFirst() : list.popLast()
    }

    /// The keyspace events of a push and a pop at this end.
    var pushEvent: StaticString { self == .left ? "lpush" : "rpush" }
    var popEvent: StaticString { self == .left ? "lpop" : "rpop" }

    func pop(from list: inout Deque<CompactBytes>, upTo count: Int) -> [CompactBytes] {
        let n = min(count, list.count)
        var popped: [CompactBytes] = []
        popped.reserveCapacity(n)
        for _ in 0..<n { popped.append(pop(from: &list)!) }
        return popped
    }

    func push(_ element: CompactBytes, to list: inout Deque<CompactBytes>) {
        if self == .left { list.prepend(element) } else { list.append(element) }
    }
}

/// What a write command needs to know about a key before touching it.
private enum ListState {
    case missing, wrongType, list
}

private extension CommandContext {
    /// The key's state without keeping a reference to its value (which would make the next
    /// in-place mutation copy the whole list) and without counting a keyspace hit.
    mutating func listState(_ key: ByteBuffer) -> ListState {
        guard let entry = entry(key) else { return .missing }
        if case .list = entry.value { return .list }
        return .wrongType
    }

    /// An array of bulk strings.
    mutating func replyBulks(_ elements: [CompactBytes]) {
        out.array(elements.count)
        for element in elements { out.bulk(element) }
    }
}
