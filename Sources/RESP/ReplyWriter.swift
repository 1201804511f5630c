import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which reply dialect a connection speaks (`HELLO 2|3`).
public enum ProtocolVersion: Int, Sendable {
    case resp2 = 2
    case resp3 = 3
}

/// Writes replies straight into a connection's output buffer.
///
/// Every method maps one Redis reply type to its RESP2 or RESP3 form, so command handlers say
/// *what* they reply (a map, a double, a null) and never spell protocol bytes themselves.
/// Nothing here allocates beyond growing `buffer`: integers and lengths are formatted by hand.
public struct ReplyWriter {
    public var buffer: ByteBuffer
    public var proto: ProtocolVersion
    /// Error replies written so far (the command path compares it around a handler: a handler
    /// that wrote one is a failed call in INFO commandstats).
    public private(set) var errorCount = 0
    /// The codes of error replies not yet counted in INFO errorstats (`ERR`, `WRONGTYPE`, ...);
    /// the command path takes them once per batch (`takeErrorCodes`).
    public private(set) var pendingErrorCodes: [Substring] = []

    public init(buffer: ByteBuffer, proto: ProtocolVersion = .resp2) {
        self.buffer = buffer
        self.proto = proto
    }

    // MARK: simple types

    /// `+OK`-style status reply; `text` must not contain CR or LF.
    @inlinable public mutating func simple(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        let source = text.utf8Start
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n + 3) { out in
            out[0] = UInt8(ascii: "+")
            // SAFETY: `out` has room for n + 3 bytes (minimumWritableBytes) and `source` holds n.
            UnsafeMutableRawBufferPointer(rebasing: out[1...]).baseAddress!.copyMemory(from: source, byteCount: n)
            out[n + 1] = 13
            out[n + 2] = 10
            return n + 3
        }
    }

    // Disfavoured so that a literal (`simple("PONG")`) takes the StaticString path above, which is
    // one buffer operation instead of three.
    @_disfavoredOverload
    @inlinable public mutating func simple(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "+"))
        buffer.writeString(text)
        writeCRLF()
    }

    @inlinable public mutating func ok() { writeStatic("+OK\r\n") }

    /// An error reply. `message` starts with the error code: `"ERR syntax error"`,
    /// `"WRONGTYPE Operation against a key holding the wrong kind of value"`.
    public mutating func error(_ message: String) {
        errorCount &+= 1
        pendingErrorCodes.append(message.prefix { $0 != " " })
        buffer.writeInteger(UInt8(ascii: "-"))
        // CR/LF inside an error would break framing; Redis replaces them with spaces.
        for byte in message.utf8 {
            buffer.writeInteger(byte == 13 || byte == 10 ? UInt8(ascii: " ") : byte)
        }
        writeCRLF()
    }

    /// The error codes written since the last call.
    public mutating func takeErrorCodes() -> [Substring] {
        defer { pendingErrorCodes.removeAll(keepingCapacity: true) }
        return pendingErrorCodes
    }

    @inlinable public mutating func integer(_ value: Int) {
        writeHeader(UInt8(ascii: ":"), value)
    }

    // MARK: strings

    /// A bulk string: header, bytes and trailing CRLF written in one buffer operation.
    @inlinable public mutating func bulk(_ value: ByteBuffer) {
        value.withUnsafeReadableBytes { bulk(raw: $0) }
    }

    /// A bulk string of the bytes at `source` (stored values that are not `ByteBuffer`s).
    @inlinable public mutating func bulk(raw source: UnsafeRawBufferPointer) {
        let n = source.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n + 26) { out in
            var p = ReplyWriter.putHeader(UInt8(ascii: "$"), n, into: out)
            if n > 0 {
                // SAFETY: `out` has n + 26 writable bytes; the header takes at most 24.
                (out.baseAddress! + p).copyMemory(from: source.baseAddress!, byteCount: n)
            }
            p += n
            out[p] = 13
            out[p + 1] = 10
            return p + 2
        }
    }

    public mutating func bulk<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(bytes.count)
        writeCRLF()
        buffer.writeBytes(bytes)
        writeCRLF()
    }

    public mutating func bulk(_ text: String) {
        bulk(bytes: text.utf8)
    }

    /// An integer sent as a bulk string (e.g. `INCRBYFLOAT`-style replies or `CONFIG GET` values).
    public mutating func bulk(integer value: Int) {
        var digits = DecimalDigits(value)
        withUnsafeBytes(of: &digits.storage) { raw in
            bulk(bytes: UnsafeRawBufferPointer(rebasing: raw[digits.start..<DecimalDigits.capacity]))
        }
    }

    /// RESP3 verbatim string (`=`), a plain bulk string in RESP2 (INFO, CLIENT LIST, ...).
    public mutating func verbatim(_ text: String, format: StaticString = "txt") {
        guard proto == .resp3 else { return bulk(text) }
        buffer.writeInteger(UInt8(ascii: "="))
        writeDecimal(text.utf8.count + 4)
        writeCRLF()
        buffer.writeStaticString(format)
        buffer.writeInteger(UInt8(ascii: ":"))
        buffer.writeString(text)
        writeCRLF()
    }

    // MARK: null

    /// The null of a missing string: `$-1` in RESP2, `_` in RESP3.
    @inlinable public mutating func null() {
        if proto == .resp3 { writeStatic("_\r\n") } else { writeStatic("$-1\r\n") }
    }

    /// The null of a missing array (`BLPOP` timeout, `EXEC` aborted by WATCH): `*-1` / `_`.
    @inlinable public mutating func nullArray() {
        if proto == .resp3 { writeStatic("_\r\n") } else { writeStatic("*-1\r\n") }
    }

    // MARK: aggregates

    @inlinable public mutating func array(_ count: Int) {
        writeHeader(UInt8(ascii: "*"), count)
    }

    /// A map of `count` pairs: `%count` in RESP3, a flat array of `2*count` in RESP2.
    @inlinable public mutating func map(_ count: Int) {
        if proto == .resp3 {
            writeHeader(UInt8(ascii: "%"), count)
        } else {
            writeHeader(UInt8(ascii: "*"), count * 2)
        }
    }

    /// A set reply (`SMEMBERS`): `~count` in RESP3, an array in RESP2.
    @inlinable public mutating func set(_ count: Int) {
        writeHeader(UInt8(ascii: proto == .resp3 ? "~" : "*"), count)
    }

    /// Out-of-band push (pub/sub messages): `>count` in RESP3, an array in RESP2.
    @inlinable public mutating func push(_ count: Int) {
        writeHeader(UInt8(ascii: proto == .resp3 ? ">" : "*"), count)
    }

    // MARK: numbers

    /// A double (`ZSCORE`): RESP3 `,` type, RESP2 bulk string, formatted like Redis 7.0 (`%.17g`,
    /// `inf`/`-inf`).
    public mutating func double(_ value: Double) {
        if proto == .resp3 {
            buffer.writeInteger(UInt8(ascii: ","))
            writeDoubleText(value)
            writeCRLF()
        } else {
            bulk(formatDouble(value))
        }
    }

    /// RESP3 boolean (`#t`/`#f`), integer 1/0 in RESP2.
    public mutating func bool(_ value: Bool) {
        if proto == .resp3 {
            buffer.writeStaticString(value ? "#t\r\n" : "#f\r\n")
        } else {
            integer(value ? 1 : 0)
        }
    }

    private mutating func writeDoubleText(_ value: Double) {
        buffer.writeString(formatDouble(value))
    }

    // MARK: primitives
    //
    // Each reply element is written with a single ByteBuffer operation: a ByteBuffer write checks
    // capacity and uniqueness every time, and profiling showed "+OK\r\n" written piecewise cost
    // about 700 instructions.

    /// `<prefix><decimal>\r\n` (array/map/set/push headers, integers).
    @inlinable
    mutating func writeHeader(_ prefix: UInt8, _ value: Int) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { out in
            ReplyWriter.putHeader(prefix, value, into: out)
        }
    }

    /// Writes `<prefix><decimal>\r\n` at the start of `out` (at least 24 bytes); returns its length.
    @inlinable
    static func putHeader(_ prefix: UInt8, _ value: Int, into out: UnsafeMutableRawBufferPointer) -> Int {
        out[0] = prefix
        var p = 1
        if value >= 0 && value < 10 {
            out[1] = UInt8(truncatingIfNeeded: value) &+ 48
            p = 2
        } else {
            var digits = DecimalDigits(value)
            let count = DecimalDigits.capacity - digits.start
            withUnsafeBytes(of: &digits.storage) { raw in
                (out.baseAddress! + 1).copyMemory(from: raw.baseAddress! + digits.start, byteCount: count)
            }
            p = 1 + count
        }
        out[p] = 13
        out[p + 1] = 10
        return p + 2
    }

    /// A fixed reply such as `+OK\r\n`.
    @inlinable
    mutating func writeStatic(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        let source = text.utf8Start
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { out in
            out.baseAddress!.copyMemory(from: source, byteCount: n)
            return n
        }
    }

    @inlinable mutating func writeCRLF() {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 2) { out in
            out[0] = 13
            out[1] = 10
            return 2
        }
    }

    @inlinable public mutating func writeDecimal(_ value: Int) {
        buffer.writeDecimal(value)
    }
}

/// An integer's decimal digits in a fixed inline buffer, filled from the end.
@usableFromInline
struct DecimalDigits {
    @usableFromInline static let capacity = 24
    @usableFromInline var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)
    @usableFromInline var start: Int

    @inlinable init(_ value: Int) {
        var s: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var pos = DecimalDigits.capacity
        withUnsafeMutableBytes(of: &s) { raw in
            var magnitude = value.magnitude
            // Two digits per division, from a table, as Redis's ll2string does: counters (INCR)
            // and lengths are written on every reply.
            DecimalDigits.pairs.withUTF8Buffer { pairs in
                while magnitude >= 100 {
                    let pair = Int(truncatingIfNeeded: magnitude % 100) &* 2
                    magnitude /= 100
                    pos -= 2
                    raw[pos] = pairs[pair]
                    raw[pos + 1] = pairs[pair + 1]
                }
                if magnitude >= 10 {
                    let pair = Int(truncatingIfNeeded: magnitude) &* 2
                    pos -= 2
                    raw[pos] = pairs[pair]
                    raw[pos + 1] = pairs[pair + 1]
                } else {
                    pos -= 1
                    raw[pos] = UInt8(truncatingIfNeeded: magnitude) &+ 48
                }
            }
            if value < 0 {
                pos -= 1
                raw[pos] = UInt8(ascii: "-")
            }
        }
        storage = s
        start = pos
    }

    /// "00" "01" ... "99": the two digits of n at offset 2n.
    @usableFromInline static let pairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
}

/// Formats a double the way Redis 7.0's `addReplyDouble` does: `%.17g`, with `inf`/`-inf`.
public func formatDouble(_ value: Double) -> String {
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    if value.isNaN { return "nan" }
    return cFormat("%.17g", value)
}

private func cFormat(_ format: String, _ value: Double) -> String {
    var out = [CChar](repeating: 0, count: 64)
    _ = withVaList([value]) { vsnprintf(&out, out.count, format, $0) }
    return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension ByteBuffer {
    /// Appends an integer's decimal digits (how counters are stored), without going through String.
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        var digits = DecimalDigits(value)
        withUnsafeBytes(of: &digits.storage) { raw in
            _ = writeBytes(UnsafeRawBufferPointer(rebasing: raw[digits.start..<DecimalDigits.capacity]))
        }
    }
}
