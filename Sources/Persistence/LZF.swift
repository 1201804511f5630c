/// LZF, the compressor Redis uses for strings in RDB files (liblzf 3.6, as vendored in Redis).
///
/// The format is a sequence of runs. A control byte below 32 starts a literal run of
/// `control + 1` bytes. Otherwise its top three bits are a match length minus 2 (7 = "read one
/// more length byte and add it"), its low five bits and the next byte a back-reference distance
/// minus 1 (at most 8 KiB back).
public enum LZF {
    static let maxLiteral = 32
    static let maxOffset = 1 << 13
    static let maxReference = (1 << 8) + (1 << 3)
    static let hashLog = 16

    /// Decompresses `input` into exactly `outputCount` bytes; nil when the data is corrupt
    /// (a reference before the start, a run past either end, or a length mismatch).
    public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        let outEnd = output.count
        var ip = 0, op = 0
        while ip < input.count {
            var ctrl = Int(input[ip]); ip += 1
            if ctrl < 32 {
                ctrl += 1
                guard op + ctrl <= outEnd, ip + ctrl <= input.count else { return false }
                output.baseAddress!.advanced(by: op).copyMemory(from: input.baseAddress!.advanced(by: ip), byteCount: ctrl)
                op += ctrl; ip += ctrl
            } else {
                var len = ctrl >> 5
                var ref = op - ((ctrl & 0x1f) << 8) - 1
                if len == 7 {
                    guard ip < input.count else { return false }
                    len += Int(input[ip]); ip += 1
                }
                guard ip < input.count else { return false }
                ref -= Int(input[ip]); ip += 1
                len += 2
                guard op + len <= outEnd, ref >= 0 else { return false }
                let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let distance = op - ref
                if distance >= len {
                    (out + op).update(from: out + ref, count: len)   // no overlap: one copy
                } else if distance == 1 {
                    (out + op).update(repeating: out[ref], count: len)   // a run of one byte (padding)
                } else {
                    // Overlapping: byte by byte, each copy may read what the previous wrote.
                    var k = 0
                    while k < len { out[op + k] = out[ref + k]; k += 1 }
                }
                op += len
            }
        }
        return op == outEnd
    }

    /// A compressor with its own hash table, reused across calls (one per saving thread).
    public final class Compressor {
        /// Position + 1 of the last occurrence of each 3-byte hash; stale entries from earlier
        /// inputs are harmless because every candidate match is verified byte by byte.
        private let table: UnsafeMutablePointer<Int32>
        private let size = 1 << LZF.hashLog

        public init() {
            table = .allocate(capacity: size)
            table.initialize(repeating: 0, count: size)
        }

        deinit { table.deallocate() }

        /// Compresses `input` into `output`; returns the compressed size, or 0 when it would not
        /// fit in `output` (Redis gives `output` four bytes less than the input, so only a real
        /// gain is kept).
        public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
            let n = input.count
            let outEnd = output.count
            guard n >= 3, outEnd > 0 else { return 0 }
            let inp = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var ip = 0
            var op = 1          // out[op - lit - 1] is the control byte of the current literal run
            var lit = 0
            @inline(__always) func index(_ h: UInt32) -> Int {
                Int(((h >> (24 - UInt32(LZF.hashLog))) &- h &* 5) & UInt32(size - 1))
            }
            var hval = UInt32(inp[0]) << 8 | UInt32(inp[1])
            while ip < n - 2 {
                hval = (hval << 8) | UInt32(inp[ip + 2])
                let slot = index(hval)
                let ref = Int(table[slot]) - 1
                table[slot] = Int32(ip + 1)
                let off = ip - ref - 1
                if ref >= 0, ref < ip, off < LZF.maxOffset,
                   inp[ref] == inp[ip], inp[ref + 1] == inp[ip + 1], inp[ref + 2] == inp[ip + 2] {
                    var len = 2
                    let maxlen = min(n - ip - len, LZF.maxReference)
                    // Room for the (possibly dropped) literal header and a 3-byte reference.
                    if op + 3 + 1 >= outEnd && op - (lit == 0 ? 1 : 0) + 3 + 1 >= outEnd { return 0 }
                    // Close the literal run, or drop its unused control byte.
                    if lit > 0 { out[op - lit - 1] = UInt8(lit - 1) } else { op -= 1 }
                    repeat { len += 1 } while len < maxlen && inp[ref + len] == inp[ip + len]
                    len -= 2
                    ip += 1
                    if len < 7 {
                        out[op] = UInt8(truncatingIfNeeded: (off >> 8) + (len << 5)); op += 1
                    } else {
                        out[op] = UInt8(truncatingIfNeeded: (off >> 8) + (7 << 5)); op += 1
                        out[op] = UInt8(truncatingIfNeeded: len - 7); op += 1
                    }
                    out[op] = UInt8(truncatingIfNeeded: off); op += 1
                    lit = 0; op += 1
                    ip += len + 1
                    if ip >= n - 2 { break }
                    // Hash the two positions just before the new `ip` too, as liblzf does.
                    ip -= 2
                    for _ in 0..<2 {
                        hval = UInt32(inp[ip]) << 16 | UInt32(inp[ip + 1]) << 8 | UInt32(inp[ip + 2])
                        table[index(hval)] = Int32(ip + 1)
                        ip += 1
                    }
                    hval = UInt32(inp[ip]) << 8 | UInt32(inp[ip + 1])
                } else {
                    if op >= outEnd { return 0 }
                    lit += 1; out[op] = inp[ip]; op += 1; ip += 1
                    if lit == LZF.maxLiteral {
                        out[op - lit - 1] = UInt8(lit - 1)
                        lit = 0; op += 1
                    }
                }
            }
            while ip < n {
                if op >= outEnd { return 0 }
                lit += 1; out[op] = inp[ip]; op += 1; ip += 1
                if lit == LZF.maxLiteral {
                    out[op - lit - 1] = UInt8(lit - 1)
                    lit = 0; op += 1
                }
            }
            if lit > 0 { out[op - lit - 1] = UInt8(lit - 1) } else { op -= 1 }
            return op
        }
    }
}
