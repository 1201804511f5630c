import NIOCore
import Keyspace
import RESP

/// Bit operations on string values: Redis's bitops.c. Bit 0 is the most significant bit of the
/// first byte, as in Redis.
extension CommandTable {
    static let bitmapCommands: [Command] = [
        Command("setbit", arity: 4, flags: [.write, .denyoom], keys: oneKey, group: "bitmap",
                summary: "Sets or clears the bit at offset of the string value.", handler: setbit),
        Command("getbit", arity: 3, flags: [.readonly, .fast], keys: oneKey, group: "bitmap",
                summary: "Returns a bit value by offset.", handler: getbit),
        Command("bitcount", arity: -2, flags: [.readonly], keys: oneKey, group: "bitmap",
                summary: "Counts the number of set bits (population counting) in a string.", handler: bitcount),
        Command("bitpos", arity: -3, flags: [.readonly], keys: oneKey, group: "bitmap",
                summary: "Finds the first set (1) or clear (0) bit in a string.", handler: bitpos),
        Command("bitop", arity: -4, flags: [.write, .denyoom], keys: .range(first: 2, last: -1, step: 1), group: "bitmap",
                summary: "Performs bitwise operations on multiple strings, and stores the result.", handler: bitop),    ]

    /// Largest bit offset Redis accepts (512 MiB of bits).
    static let maxBitOffset = 4 * 1024 * 1024 * 1024 - 1

    private static func bitOffset(_ ctx: inout CommandContext, _ i: Int) -> Int? {
        guard let offset = ctx.args[i].intValue, offset >= 0, offset <= maxBitOffset else {
            ctx.out.error("ERR bit offset is not an integer or out of range")
            return nil
        }
        return offset
    }

    static func setbit(_ ctx: inout CommandContext) {
        guard let offset = bitOffset(&ctx, 2) else { return }
        guard let bit = ctx.args[3].intValue, bit == 0 || bit == 1 else {
            return ctx.out.error("ERR bit is not an integer or out of range")
        }
        let key = ctx.args[1]
        let result = ctx.modify(key, as: .string, create: true) { (s: inout CompactBytes) -> Int in
            let byte = offset >> 3
            return s.withUnsafeMutableBytes(growingTo: byte + 1) { bytes -> Int in
                let old = bytes[byte]
                let mask = UInt8(0x80) >> UInt8(offset & 7)
                bytes[byte] = bit == 1 ? old | mask : old & ~mask
                return old & mask != 0 ? 1 : 0
            }
        }
        switch result {
        case .wrongType: ctx.replyWrongType()
        case .missing: ctx.out.integer(0)
        case .found(let old):
            ctx.changed(key)
            ctx.notify(.string, "setbit", key)
            ctx.out.integer(old)
        }
    }

    static func getbit(_ ctx: inout CommandContext) {
        guard let offset = bitOffset(&ctx, 2) else { return }
        guard let s = ctx.found(ctx.read(ctx.args[1], as: .string), orReply: .zero) else { return }
        let byte = offset >> 3
        guard byte < s.count else { return ctx.out.integer(0) }
        let value = s.withUnsafeBytes { $0[byte] }
        ctx.out.integer(value & (UInt8(0x80) >> UInt8(offset & 7)) != 0 ? 1 : 0)
    }

    /// Parses `start end [BYTE|BIT]` at `from`; returns the inclusive bit range after Redis's
    /// negative-index and clamping rules, `.empty` when nothing is selected, or nil after an error.
    private enum BitRange { case bits(Int, Int), empty }

    private static func bitRange(_ ctx: inout CommandContext, from: Int, length bytes: Int, endGiven: Bool) -> BitRange? {
        guard var start = ctx.args[from].intValue else { ctx.replyNotInteger(); return nil }
        var end: Int
        var isBit = false
        if endGiven {
            guard let e = ctx.args[from + 1].intValue else { ctx.replyNotInteger(); return nil }
            end = e
            if from + 2 < ctx.args.count {
                if ctx.args[from + 2].equalsIgnoringCase("BIT") { isBit = true }
                else if !ctx.args[from + 2].equalsIgnoringCase("BYTE") { ctx.replySyntaxError(); return nil }
            }
        } else {
            end = bytes - 1
        }
        let total = isBit ? bytes * 8 : bytes
        if start < 0 { start += total }
        if end < 0 { end += total }
        start = max(start, 0)
        end = max(end, 0)
        if end >= total { end = total - 1 }
        if start > end || total == 0 { return .empty }
        return isBit ? .bits(start, end) : .bits(start * 8, end * 8 + 7)
    }

    static func bitcount(_ ctx: inout CommandContext) {
        let n = ctx.args.count
        let value: CompactBytes
        // Redis looks the key up before it parses the range: a missing key is 0, whatever follows.
        switch ctx.read(ctx.args[1], as: .string) {
        case .missing: return ctx.out.integer(0)
        case .wrongType: return ctx.replyWrongType()
        case .found(let s): value = s
        }
        guard n == 2 || n == 4 || n == 5 else { return ctx.replySyntaxError() }
        var first = 0, last = value.count * 8 - 1
        if n >= 4 {
            guard let range = bitRange(&ctx, from: 2, length: value.count, endGiven: true) else { return }
            guard case let .bits(s, e) = range else { return ctx.out.integer(0) }
            first = s
            last = e
        }
        guard last >= first else { return ctx.out.integer(0) }
        let bytes = value.bytes
        var count = 0
        var bit = first
        while bit <= last {
            if bit & 7 == 0 && bit + 7 <= last {
                count += bytes[bit >> 3].nonzeroBitCount
                bit += 8
            } else {
                if bytes[bit >> 3] & (UInt8(0x80) >> UInt8(bit & 7)) != 0 { count += 1 }
                bit += 1
            }
        }
        ctx.out.integer(count)
    }

    /// BITPOS key bit [start [end [BYTE|BIT]]]
    static func bitpos(_ ctx: inout CommandContext) {
        let n = ctx.args.count
        guard n <= 6 else { return ctx.replySyntaxError() }
        guard let wanted = ctx.args[2].intValue else { return ctx.replyNotInteger() }
        guard wanted == 0 || wanted == 1 else {
            return ctx.out.error("ERR The bit argument must be 1 or 0.")
        }
        let value: CompactBytes
        switch ctx.read(ctx.args[1], as: .string) {
        case .missing:
            // Checked before the range is parsed, as Redis does.
            return ctx.out.integer(wanted == 1 ? -1 : 0)
        case .wrongType: return ctx.replyWrongType()
        case .found(let s): value = s
        }
        let endGiven = n >= 5
        if value.count == 0 { return ctx.out.integer(-1) }
        var first = 0, last = value.count * 8 - 1
        if n >= 4 {
            guard let range = bitRange(&ctx, from: 3, length: value.count, endGiven: endGiven) else { return }
            guard case let .bits(s, e) = range else { return ctx.out.integer(-1) }
            first = s
            last = e
        }
        let bytes = value.bytes
        var bit = first
        while bit <= last {
            let set = bytes[bit >> 3] & (UInt8(0x80) >> UInt8(bit & 7)) != 0
            if set == (wanted == 1) { return ctx.out.integer(bit) }
            bit += 1
        }
        // Looking for a clear bit without an explicit end: the string is padded with zeros.
        if wanted == 0 && !endGiven { return ctx.out.integer(last + 1) }
        ctx.out.integer(-1)
    }

    /// BITOP AND|OR|XOR|NOT destkey key [key ...]
    static func bitop(_ ctx: inout CommandContext) {
        let op = ctx.args[1]
        enum Op { case and, or, xor, not }
        let kind: Op
        if op.equalsIgnoringCase("AND") { kind = .and }
        else if op.equalsIgnoringCase("OR") { kind = .or }
        else if op.equalsIgnoringCase("XOR") { kind = .xor }
        else if op.equalsIgnoringCase("NOT") { kind = .not }
        else { return ctx.replySyntaxError() }
        if kind == .not && ctx.args.count != 4 {
            return ctx.out.error("ERR BITOP NOT must be called with a single source key.")
        }
        var sources: [[UInt8]] = []
        for i in 3..<ctx.args.count {
            switch ctx.read(ctx.args[i], as: .string) {
            case .missing: sources.append([])
            case .wrongType: return ctx.replyWrongType()
            case .found(let s): sources.append(s.bytes)
            }
        }
        let length = sources.map(\.count).max() ?? 0
        var result = [UInt8](repeating: 0, count: length)
        for i in 0..<length {
            var acc: UInt8 = i < sources[0].count ? sources[0][i] : 0
            if kind == .not { acc = ~acc }
            for s in sources.dropFirst() {
                let b: UInt8 = i < s.count ? s[i] : 0
                switch kind {
                case .and: acc &= b
                case .or: acc |= b
                case .xor: acc ^= b
                case .not: break
                }
            }
            result[i] = acc
        }
        let dest = ctx.args[2]
        if length == 0 {
            if ctx.delete(dest) { ctx.notify(.generic, "del", dest) }
        } else {
            ctx.set(dest, .string(result.withUnsafeBytes { CompactBytes($0) }))
            ctx.notify(.string, "set", dest)
        }
        ctx.out.integer(length)
    }
}
