/// Redis's compact in-memory encodings, as they appear inside RDB strings: listpack (7.0),
/// ziplist (before 7.0), intset and zipmap (before 2.6). Only decoding is needed: Swiftlet writes
/// the plain encodings. Every offset is checked against the blob's size.

enum CompactElement {
    case bytes(UnsafeRawBufferPointer)
    case integer(Int64)
}

struct CompactEncodingError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

protocol CompactEncoding {
    static var name: String { get }
    static func forEach(_ blob: UnsafeRawBufferPointer, _ body: (CompactElement) throws -> Void) throws
}

/// Bounds-checked little helpers over a blob.
private extension UnsafeRawBufferPointer {
    func need(_ offset: Int, _ n: Int) throws {
        guard offset >= 0, n >= 0, n <= count - offset else { throw CompactEncodingError("entry runs past the end at \(offset)") }
    }
    func le<T: FixedWidthInteger>(_ offset: Int, _: T.Type) throws -> T {
        try need(offset, MemoryLayout<T>.size)
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
    func slice(_ offset: Int, _ n: Int) throws -> UnsafeRawBufferPointer {
        try need(offset, n)
        return UnsafeRawBufferPointer(rebasing: self[offset..<(offset + n)])
    }
    /// A little-endian signed integer of `n` bytes (24-bit ones exist).
    func signed(_ offset: Int, bytes n: Int) throws -> Int64 {
        try need(offset, n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(self[offset + i]) << (8 * UInt64(i)) }
        let shift = UInt64(64 - 8 * n)
        return Int64(bitPattern: v << shift) >> Int64(shift)
    }
}

/// listpack: `<total-bytes u32><count u16><entry>...<0xFF>`, each entry an encoding byte, its
/// data, and a 1-5 byte back-length (used to walk backwards; skipped here).
enum Listpack: CompactEncoding {
    static let name = "listpack"

    static func forEach(_ lp: UnsafeRawBufferPointer, _ body: (CompactElement) throws -> Void) throws {
        guard lp.count >= 7 else { throw CompactEncodingError("shorter than its header") }
        guard Int(try lp.le(0, UInt32.self)) == lp.count else { throw CompactEncodingError("size field does not match") }
        let declared = Int(try lp.le(4, UInt16.self))
        var p = 6
        var seen = 0
        while true {
            try lp.need(p, 1)
            let b = lp[p]
            if b == 0xFF {
                guard p == lp.count - 1 else { throw CompactEncodingError("end marker before the end") }
                break
            }
            let entryLength: Int
            if b & 0x80 == 0 {                       // 0xxxxxxx: 7-bit unsigned
                try body(.integer(Int64(b)))
                entryLength = 1
            } else if b & 0xC0 == 0x80 {             // 10xxxxxx: string up to 63 bytes
                let n = Int(b & 0x3F)
                try body(.bytes(try lp.slice(p + 1, n)))
                entryLength = 1 + n
            } else if b & 0xE0 == 0xC0 {             // 110xxxxx yyyyyyyy: 13-bit signed
                try lp.need(p, 2)
                let u = Int64(b & 0x1F) << 8 | Int64(lp[p + 1])
                try body(.integer(u >= 1 << 12 ? u - (1 << 13) : u))
                entryLength = 2
            } else if b & 0xF0 == 0xE0 {             // 1110xxxx yyyyyyyy: string up to 4095 bytes
                try lp.need(p, 2)
                let n = Int(b & 0x0F) << 8 | Int(lp[p + 1])
                try body(.bytes(try lp.slice(p + 2, n)))
                entryLength = 2 + n
            } else {
                switch b {
                case 0xF0:                              // 32-bit string length
                    let n = Int(try lp.le(p + 1, UInt32.self))
                    try body(.bytes(try lp.slice(p + 5, n)))
                    entryLength = 5 + n
                case 0xF1: try body(.integer(try lp.signed(p + 1, bytes: 2))); entryLength = 3
                case 0xF2: try body(.integer(try lp.signed(p + 1, bytes: 3))); entryLength = 4
                case 0xF3: try body(.integer(try lp.signed(p + 1, bytes: 4))); entryLength = 5
                case 0xF4: try body(.integer(try lp.signed(p + 1, bytes: 8))); entryLength = 9
                default: throw CompactEncodingError("unknown entry encoding \(b) at \(p)")
                }
            }
            let backLength = entryLength < 128 ? 1 : entryLength < 16384 ? 2 : entryLength < 2_097_152 ? 3 : entryLength < 268_435_456 ? 4 : 5
            p += entryLength + backLength
            seen += 1
        }
        // 65535 means "too many to count in the header".
        guard declared == 65535 || declared == seen else { throw CompactEncodingError("header says \(declared) entries, found \(seen)") }
    }
}

/// ziplist: `<zlbytes u32><zltail u32><zllen u16><entry>...<0xFF>`, each entry the previous
/// entry's length (1 or 5 bytes), an encoding, and the data.
enum Ziplist: CompactEncoding {
    static let name = "ziplist"

    static func forEach(_ zl: UnsafeRawBufferPointer, _ body: (CompactElement) throws -> Void) throws {
        guard zl.count >= 11 else { throw CompactEncodingError("shorter than its header") }
        guard Int(try zl.le(0, UInt32.self)) == zl.count else { throw CompactEncodingError("size field does not match") }
        var p = 10
        while true {
            try zl.need(p, 1)
            if zl[p] == 0xFF {
                guard p == zl.count - 1 else { throw CompactEncodingError("end marker before the end") }
                return
            }
            p += zl[p] < 254 ? 1 : 5
            try zl.need(p, 1)
            let e = zl[p]
            switch e >> 6 {
            case 0:
                let n = Int(e & 0x3F)
                try body(.bytes(try zl.slice(p + 1, n))); p += 1 + n
            case 1:
                try zl.need(p, 2)
                let n = Int(e & 0x3F) << 8 | Int(zl[p + 1])
                try body(.bytes(try zl.slice(p + 2, n))); p += 2 + n
            case 2:
                try zl.need(p, 5)
                let n = Int(zl[p + 1]) << 24 | Int(zl[p + 2]) << 16 | Int(zl[p + 3]) << 8 | Int(zl[p + 4])
                try body(.bytes(try zl.slice(p + 5, n))); p += 5 + n
            default:
                switch e {
                case 0xC0: try body(.integer(try zl.signed(p + 1, bytes: 2))); p += 3
                case 0xD0: try body(.integer(try zl.signed(p + 1, bytes: 4))); p += 5
                case 0xE0: try body(.integer(try zl.signed(p + 1, bytes: 8))); p += 9
                case 0xF0: try body(.integer(try zl.signed(p + 1, bytes: 3))); p += 4
                case 0xFE: try body(.integer(try zl.signed(p + 1, bytes: 1))); p += 2
                case 0xF1...0xFD: try body(.integer(Int64(e & 0x0F) - 1)); p += 1
                default: throw CompactEncodingError("unknown entry encoding \(e) at \(p)")
                }
            }
        }
    }
}

/// intset: `<encoding u32: 2, 4 or 8><length u32><integers, little-endian, sorted>`.
enum Intset: CompactEncoding {
    static let name = "intset"

    static func forEach(_ s: UnsafeRawBufferPointer, _ body: (CompactElement) throws -> Void) throws {
        let width = Int(try s.le(0, UInt32.self))
        guard width == 2 || width == 4 || width == 8 else { throw CompactEncodingError("bad integer width \(width)") }
        let n = Int(try s.le(4, UInt32.self))
        guard s.count == 8 + n * width else { throw CompactEncodingError("size does not match its length field") }
        for i in 0..<n { try body(.integer(try s.signed(8 + i * width, bytes: width))) }
    }
}

/// zipmap (hashes in RDB files before Redis 2.6): `<count u8>` then per pair `<len>key<len><free>
/// value<free bytes>`, lengths one byte (< 254) or 254 followed by a u32; `0xFF` ends it.
enum Zipmap: CompactEncoding {
    static let name = "zipmap"

    static func forEach(_ zm: UnsafeRawBufferPointer, _ body: (CompactElement) throws -> Void) throws {
        var p = 1
        func length() throws -> Int {
            try zm.need(p, 1)
            let b = zm[p]
            if b < 254 { p += 1; return Int(b) }
            guard b == 254 else { throw CompactEncodingError("bad length byte \(b) at \(p)") }
            let n = Int(try zm.le(p + 1, UInt32.self))
            p += 5
            return n
        }
        while true {
            try zm.need(p, 1)
            if zm[p] == 0xFF { return }
            let keyLength = try length()
            try body(.bytes(try zm.slice(p, keyLength))); p += keyLength
            let valueLength = try length()
            try zm.need(p, 1)
            let free = Int(zm[p]); p += 1
            try body(.bytes(try zm.slice(p, valueLength))); p += valueLength + free
        }
    }
}
