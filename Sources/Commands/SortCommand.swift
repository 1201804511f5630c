import DequeModule
import NIOCore
import Keyspace
import RESP

/// SORT and SORT_RO: Redis's sort.c. BY and GET patterns may name any key, so these commands
/// lock the whole keyspace.
extension CommandTable {
    static let sortCommands: [Command] = [
        Command("sort", arity: -2, flags: [.write, .denyoom, .wholeKeyspace], keys: oneKey, group: "generic",
                summary: "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.") { sort(&$0, readOnly: false) },
        Command("sort_ro", arity: -2, flags: [.readonly, .wholeKeyspace], keys: oneKey, group: "generic",
                summary: "Returns the sorted elements of a list, a set, or a sorted set.") { sort(&$0, readOnly: true) },
    ]

    private struct SortOptions {
        var by: [UInt8]? = nil
        var dontSort = false
        var offset = 0
        var count = -1
        var gets: [[UInt8]] = []
        var descending = false
        var alpha = false
        var store: ByteBuffer? = nil
    }

    static func sort(_ ctx: inout CommandContext, readOnly: Bool) {
        var o = SortOptions()
        var i = 2
        while i < ctx.args.count {
            let a = ctx.args[i]
            let left = ctx.args.count - i - 1
            if a.equalsIgnoringCase("ASC") { o.descending = false }
            else if a.equalsIgnoringCase("DESC") { o.descending = true }
            else if a.equalsIgnoringCase("ALPHA") { o.alpha = true }
            else if a.equalsIgnoringCase("LIMIT") && left >= 2 {
                guard let off = ctx.args[i + 1].intValue, let cnt = ctx.args[i + 2].intValue else { return ctx.replyNotInteger() }
                o.offset = off
                o.count = cnt
                i += 2
            } else if a.equalsIgnoringCase("STORE") && left >= 1 && !readOnly {
                o.store = ctx.args[i + 1]
                i += 1
            } else if a.equalsIgnoringCase("BY") && left >= 1 {
                let pattern = ctx.args[i + 1].bytes
                o.by = pattern
                // A BY pattern without '*' names no per-element key: "don't sort".
                if !pattern.contains(UInt8(ascii: "*")) { o.dontSort = true }
                i += 1
            } else if a.equalsIgnoringCase("GET") && left >= 1 {
                o.gets.append(ctx.args[i + 1].bytes)
                i += 1
            } else {
                return ctx.replySyntaxError()
            }
            i += 1
        }

        var elements: [ByteBuffer] = []
        switch ctx.lookup(ctx.args[1]) {
        case nil: break
        case .list(let l)?: elements = l.map(\.byteBuffer)
        case .set(let s)?: elements = Array(s)
        case .zset(let z)?: elements = z.map(\.member)
        default: return ctx.replyWrongType()
        }

        if !o.dontSort {
            var keyed: [(element: ByteBuffer, text: ByteBuffer?, score: Double)] = []
            keyed.reserveCapacity(elements.count)
            for e in elements {
                let byValue: ByteBuffer?
                if let by = o.by { byValue = lookupPattern(&ctx, by, e) } else { byValue = e }
                var score = 0.0
                if !o.alpha, let v = byValue {
                    guard let d = parseDouble(v) else {
                        return ctx.out.error("ERR One or more scores can't be converted into double")
                    }
                    score = d
                }
                keyed.append((e, byValue, score))
            }
            let alpha = o.alpha
            keyed.sort { a, b in
                let c: Int
                if alpha {
                    switch (a.text, b.text) {
                    case (nil, nil): c = 0
                    case (nil, _): c = -1
                    case (_, nil): c = 1
                    case let (x?, y?): c = SortedSet.compare(x, y)
                    }
                } else {
                    c = a.score < b.score ? -1 : (a.score > b.score ? 1 : SortedSet.compare(a.element, b.element))
                }
                return o.descending ? c > 0 : c < 0
            }
            elements = keyed.map(\.element)
        }

        // LIMIT: a negative offset counts as 0, a negative count as "all the rest".
        let start = min(max(o.offset, 0), elements.count)
        let end = o.count < 0 ? elements.count : min(start + o.count, elements.count)
        let selected = elements[start..<end]

        var results: [ByteBuffer?] = []
        if o.gets.isEmpty {
            results = selected.map { $0 }
        } else {
            for e in selected {
                for g in o.gets {
                    results.append(g == [UInt8(ascii: "#")] ? e : lookupPattern(&ctx, g, e))
                }
            }
        }

        if let store = o.store {
            let list = Deque(results.map { $0.map(CompactBytes.init(copying:)) ?? CompactBytes(string: "") })
            if list.isEmpty {
                if ctx.delete(store) { ctx.notify(.generic, "del", store) }
            } else {
                ctx.set(store, .list(list))
                ctx.notify(.list, "sortstore", store)
            }
            return ctx.out.integer(list.count)
        }
        ctx.out.array(results.count)
        for r in results {
            if let r { ctx.out.bulk(r) } else { ctx.out.null() }
        }
    }

    /// Resolves a BY/GET pattern for one element: the first `*` is replaced by the element; a
    /// `->field` suffix reads that hash field instead of a string key. Nil when missing.
    private static func lookupPattern(_ ctx: inout CommandContext, _ pattern: [UInt8], _ element: ByteBuffer) -> ByteBuffer? {
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var keyPattern = pattern[...]
        var field: ArraySlice<UInt8>? = nil
        if let arrow = findArrow(pattern, after: star) {
            keyPattern = pattern[..<arrow]
            field = pattern[(arrow + 2)...]
            if field!.isEmpty { field = nil; keyPattern = pattern[...] }
        }
        var key = ByteBuffer()
        key.writeBytes(keyPattern[..<star])
        key.writeImmutableBuffer(element)
        key.writeBytes(keyPattern[(star + 1)...])
        switch ctx.lookup(key) {
        case .string(let s)? where field == nil: return s.byteBuffer
        case .hash(let h)?:
            guard let field else { return nil }
            return h[ByteBuffer(bytes: field)]
        default: return nil
        }
    }

    private static func findArrow(_ p: [UInt8], after: Int) -> Int? {
        var i = after + 1
        while i + 1 < p.count {
            if p[i] == UInt8(ascii: "-") && p[i + 1] == UInt8(ascii: ">") { return i }
            i += 1
        }
        return nil
    }
}
