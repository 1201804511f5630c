/// Redis's `stringmatchlen`: glob matching with `*`, `?`, `[abc]`, `[^a-z]` and `\` escapes,
/// used by KEYS, SCAN MATCH, PSUBSCRIBE, PUBSUB CHANNELS and CONFIG GET.
public func globMatch<P: RandomAccessCollection, S: RandomAccessCollection>(
    _ pattern: P, _ string: S, nocase: Bool = false
) -> Bool where P.Element == UInt8, S.Element == UInt8, P.Index == Int, S.Index == Int {
    var steps = 0
    return matchFrom(pattern, pattern.startIndex, string, string.startIndex, nocase, &steps)
}

private func lower(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c | 0x20 : c }

private func matchFrom<P: RandomAccessCollection, S: RandomAccessCollection>(
    _ p: P, _ pStart: Int, _ s: S, _ sStart: Int, _ nocase: Bool, _ steps: inout Int
) -> Bool where P.Element == UInt8, S.Element == UInt8, P.Index == Int, S.Index == Int {
    var pi = pStart
    var si = sStart
    let pEnd = p.endIndex
    let sEnd = s.endIndex
    steps += 1
    if steps > 100_000 { return false }   // pathological patterns: give up like Redis's nesting limit
    while pi < pEnd {
        switch p[pi] {
        case UInt8(ascii: "*"):
            while pi + 1 < pEnd && p[pi + 1] == UInt8(ascii: "*") { pi += 1 }
            if pi + 1 == pEnd { return true }
            var k = si
            while k <= sEnd {
                if matchFrom(p, pi + 1, s, k, nocase, &steps) { return true }
                if steps > 100_000 { return false }
                k += 1
            }
            return false
        case UInt8(ascii: "?"):
            if si >= sEnd { return false }
            si += 1
        case UInt8(ascii: "["):
            if si >= sEnd { return false }
            pi += 1
            let negate = pi < pEnd && p[pi] == UInt8(ascii: "^")
            if negate { pi += 1 }
            var matched = false
            while pi < pEnd {
                if p[pi] == UInt8(ascii: "\\") && pi + 1 < pEnd {
                    pi += 1
                    if p[pi] == s[si] { matched = true }
                } else if p[pi] == UInt8(ascii: "]") {
                    break
                } else if pi + 2 < pEnd && p[pi + 1] == UInt8(ascii: "-") {
                    var start = p[pi], end = p[pi + 2]
                    var c = s[si]
                    if start > end { swap(&start, &end) }
                    if nocase { start = lower(start); end = lower(end); c = lower(c) }
                    pi += 2
                    if c >= start && c <= end { matched = true }
                } else {
                    if nocase ? lower(p[pi]) == lower(s[si]) : p[pi] == s[si] { matched = true }
                }
                pi += 1
            }
            if pi >= pEnd { pi = pEnd - 1 }   // unterminated class: treat end as ']'
            if negate { matched.toggle() }
            if !matched { return false }
            si += 1
        case UInt8(ascii: "\\") where pi + 1 < pEnd:
            pi += 1
            fallthrough
        default:
            if si >= sEnd { return false }
            if nocase ? lower(p[pi]) != lower(s[si]) : p[pi] != s[si] { return false }
            si += 1
        }
        pi += 1
    }
    return si == sEnd
}

extension Array where Element == UInt8 {
    public func globMatches(_ string: [UInt8], nocase: Bool = false) -> Bool {
        globMatch(self, string, nocase: nocase)
    }

    public func globMatches(_ string: UnsafeRawBufferPointer, nocase: Bool = false) -> Bool {
        globMatch(self, string, nocase: nocase)
    }
}
