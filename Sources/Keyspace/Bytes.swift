import NIOCore

/// Keys and string values are `ByteBuffer`s: binary-safe, hashable by content (NIO hashes and
/// compares the readable bytes), and cheap to slice out of a request without copying.
public typealias Bytes = ByteBuffer

extension ByteBuffer {
    /// A copy that owns exactly its bytes. Request arguments are slices of the connection's receive
    /// buffer; storing one as-is would pin that whole buffer in memory, so anything kept in the
    /// keyspace is copied through here first.
    @inlinable
    public func owned() -> ByteBuffer {
        // One allocation sized to the bytes and one copy (writeImmutableBuffer takes a much
        // longer generic path: ~600 instructions per stored value in profiles).
        withUnsafeReadableBytes { ByteBufferAllocator().buffer(bytes: $0) }
    }

    /// Replaces the contents with a copy of `bytes` (a stored value being overwritten by a request
    /// argument). The buffer's own memory is reused when nothing else holds it and it is not much
    /// larger than needed: no malloc and free per overwrite, and no big buffer kept for a small
    /// value. A buffer shared with a snapshot (or anything else) is copied on write by ByteBuffer,
    /// so the other holder keeps the old bytes.
    @inlinable
    public mutating func overwrite(copying bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { overwrite(copying: $0) }
    }

    @inlinable
    public mutating func overwrite(copying bytes: UnsafeRawBufferPointer) {
        guard capacity <= max(64, 2 * bytes.count) else {
            self = ByteBufferAllocator().buffer(bytes: bytes)
            return
        }
        clear()
        writeBytes(bytes)
    }

    /// The readable bytes as a String (lossy for invalid UTF-8); for names and options, not data.
    @inlinable
    public var string: String { String(decoding: readableBytesView, as: UTF8.self) }

    /// Case-insensitive comparison against an ASCII option name (`EX`, `WITHSCORES`, ...).
    @inlinable
    public func equalsIgnoringCase(_ ascii: StaticString) -> Bool {
        withUnsafeReadableBytes { $0.equalsIgnoringCase(ascii) }
    }

    /// The value parsed as a Redis integer (`string2ll`): optional '-', digits, no spaces, no '+',
    /// no leading zeros, fits in 64 bits.
    @inlinable
    public var int64Value: Int64? {
        withUnsafeReadableBytes { raw in parseStrictInt64(raw) }
    }

    @inlinable
    public var intValue: Int? { int64Value.map { Int($0) } }

    /// The bytes as an Array (for byte-level algorithms: SETRANGE, bit operations, LCS).
    public var bytes: [UInt8] { Array(readableBytesView) }
}

/// Redis's `string2ll`: the exact integer syntax Redis accepts for integer arguments and stored
/// integer values. Rejects "+1", " 1", "01", "-0", "" and anything out of range.
@inlinable
public func parseStrictInt64(_ raw: UnsafeRawBufferPointer) -> Int64? {
    let n = raw.count
    if n == 0 || n > 20 { return nil }
    if n == 1 && raw[0] == UInt8(ascii: "0") { return 0 }
    var i = 0
    var negative = false
    if raw[0] == UInt8(ascii: "-") {
        negative = true
        i = 1
        if n == 1 { return nil }
    }
    // First digit 1-9: no leading zeros (and rejects "-0").
    guard raw[i] >= UInt8(ascii: "1") && raw[i] <= UInt8(ascii: "9") else { return nil }
    var value: UInt64 = 0
    while i < n {
        let d = raw[i] &- UInt8(ascii: "0")
        guard d <= 9 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (s, o2) = m.addingReportingOverflow(UInt64(d))
        if o1 || o2 { return nil }
        value = s
        i += 1
    }
    if negative {
        if value > UInt64(Int64.max) + 1 { return nil }
        return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
    }
    if value > UInt64(Int64.max) { return nil }
    return Int64(value)
}

extension Int64 {
    /// Decimal text as a ByteBuffer (how integers are stored as string values).
    @inlinable
    public var asBytes: ByteBuffer {
        var b = ByteBufferAllocator().buffer(capacity: 20)
        b.writeString(String(self))
        return b
    }
}

extension UnsafeRawBufferPointer {
    /// Case-insensitive comparison against an ASCII option name (`EX`, `WITHSCORES`, ...).
    @inlinable
    public func equalsIgnoringCase(_ ascii: StaticString) -> Bool {
        guard count == ascii.utf8CodeUnitCount else { return false }
        let p = ascii.utf8Start
        for i in 0..<count where self[i] | 0x20 != p[i] | 0x20 {
            return false
        }
        return true
    }
}
