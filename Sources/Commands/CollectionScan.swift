import Basics
import NIOCore
import Keyspace
import RESP

/// Cursor iteration over the elements of one collection (HSCAN, SSCAN, ZSCAN).
///
/// Swift's hash tables do not expose a stable bucket order, so the cursor is a position in the
/// order of a fixed 64-bit hash of each element (`KeySlot.hash`, the same in every process): a
/// call returns the `count` elements with the smallest hashes at or above the cursor, and the next
/// cursor is just past the last hash returned. Elements present from start to end of an
/// iteration are returned at least once whatever is added or removed meanwhile, which is Redis's
/// guarantee. Each call costs O(n) (a selection, not a sort, of the elements).
public enum CollectionScan {
    /// Returns the elements to report (in hash order) and the next cursor (0 when done).
    /// Cursors are 63-bit so they print as non-negative integers.
    public static func page<C: Collection>(_ elements: C, cursor: UInt64, count: Int,
                                           hashOf: (C.Element) -> ByteBuffer) -> (items: [C.Element], next: UInt64) {
        var candidates: [(UInt64, C.Element)] = []
        for element in elements {
            let h = KeySlot.hash(hashOf(element)) >> 1
            if h >= cursor { candidates.append((h, element)) }
        }
        if candidates.count <= count {
            candidates.sort { $0.0 < $1.0 }
            return (candidates.map(\.1), 0)
        }
        candidates.sort { $0.0 < $1.0 }
        var end = count
        // Never split elements that share a hash across two pages.
        while end < candidates.count && candidates[end].0 == candidates[end - 1].0 { end += 1 }
        if end == candidates.count { return (candidates.map(\.1), 0) }
        return (candidates[..<end].map(\.1), candidates[end].0)
    }
}

/// Parsed `[MATCH pattern] [COUNT n] [TYPE t] [NOVALUES]` of the SCAN family.
public struct ScanOptions {
    public var pattern: [UInt8]? = nil
    public var count = 10
    public var type: String? = nil

    /// Parses from `ctx.args[start...]`; replies the Redis error and returns nil when invalid.
    public static func parse(_ ctx: inout CommandContext, from start: Int, allowType: Bool) -> ScanOptions? {
        var o = ScanOptions()
        var i = start
        while i < ctx.args.count {
            let a = ctx.args[i]
            guard i + 1 < ctx.args.count else { ctx.replySyntaxError(); return nil }
            if a.equalsIgnoringCase("COUNT") {
                guard let n = ctx.args[i + 1].intValue else { ctx.replyNotInteger(); return nil }
                guard n >= 1 else { ctx.replySyntaxError(); return nil }
                o.count = n
            } else if a.equalsIgnoringCase("MATCH") {
                o.pattern = ctx.args[i + 1].bytes
            } else if allowType && a.equalsIgnoringCase("TYPE") {
                o.type = ctx.args[i + 1].string.lowercased()
            } else {
                ctx.replySyntaxError()
                return nil
            }
            i += 2
        }
        return o
    }

    public func matches(_ element: ByteBuffer) -> Bool {
        guard let pattern else { return true }
        return pattern.globMatches(element.bytes)
    }

    public func matches(_ element: CompactBytes) -> Bool {
        guard let pattern else { return true }
        return element.withUnsafeBytes { pattern.globMatches($0) }
    }
}

extension CommandContext {
    /// Parses a SCAN cursor the way Redis does (`strtoul`: an optional sign, wrapping negatives);
    /// replies `ERR invalid cursor` for anything else.
    public mutating func cursorArgument(_ i: Int) -> UInt64? {
        var text = Substring(args[i].string)
        if text.hasPrefix("+") { text = text.dropFirst() }
        let parsed: UInt64?
        if text.hasPrefix("-") {
            parsed = UInt64(text.dropFirst()).map { 0 &- $0 }
        } else {
            parsed = UInt64(text)
        }
        guard let c = parsed else {
            out.error("ERR invalid cursor")
            return nil
        }
        return c
    }
}

extension CommandContext {
    /// HSCAN/SSCAN/ZSCAN's reply for a missing key: cursor 0, no elements. Redis answers it before
    /// it looks at the options, so bad options go unnoticed then.
    public mutating func replyEmptyScan() {
        out.array(2)
        out.bulk("0")
        out.array(0)
    }

    /// The rest of HSCAN/SSCAN/ZSCAN once the collection is found: parses the options at
    /// argument 3, takes one page (or everything when `whole`: Redis returns its compact
    /// encodings in one go, whatever the cursor), filters by MATCH on `name`, and replies
    /// `[next cursor, items]` with `itemsPerElement` reply items written by `write` per element.
    public mutating func replyScanPage<C: Collection>(
        _ elements: C, cursor: UInt64, whole: Bool, itemsPerElement: Int,
        name: (C.Element) -> ByteBuffer, write: (inout ReplyWriter, C.Element) -> Void
    ) {
        guard let options = ScanOptions.parse(&self, from: 3, allowType: false) else { return }
        let (items, next) = whole ? (Array(elements), 0) : CollectionScan.page(elements, cursor: cursor, count: options.count, hashOf: name)
        let matching = options.pattern == nil ? items : items.filter { options.matches(name($0)) }
        out.array(2)
        out.bulk(integer: Int(next))
        out.array(matching.count * itemsPerElement)
        for element in matching { write(&out, element) }
    }
}
