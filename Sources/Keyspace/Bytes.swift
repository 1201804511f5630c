import Basics
import NIOCore

/// Keys and string values are `ByteBuffer`s: binary-safe, hashable by content (NIO hashes and
/// compares the readable bytes), and cheap to slice out of a request without copying.

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
