import Basics
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned byte string the way a collection stores its elements: up to 22 bytes live inside the
/// value itself (no allocation at all), longer ones in a single heap array.
///
/// Why not `ByteBuffer`: a stored `ByteBuffer` is two mallocs (NIO's storage object and its
/// bytes) and about 140 bytes of memory for a 3-byte element; a list that grows by millions of
/// elements paid that per push, in malloc time, page faults and cache misses (Docs/benchmarks.md,
/// "list elements"). Redis packs small elements into listpacks for the same reason. A
/// `CompactBytes` is 24 bytes, the same stride as a `ByteBuffer` in a `Deque`, and most list
/// elements (numbers, short names, ids) fit inline.
///
/// Like every stored payload it is a value type: copies share the heap array, and the array is
/// never mutated after creation, so a snapshot's copy stays as it was.
public struct CompactBytes: Sendable {
    /// The longest byte string kept inline.
    public static let inlineCapacity = 22

    @usableFromInline
    enum Storage: Sendable {
        case inline(InlineBytes)
        case heap([UInt8])
    }

    @usableFromInline
    var storage: Storage

    /// A copy of `raw`.
    @inlinable
    public init(_ raw: UnsafeRawBufferPointer) {
        if raw.count <= CompactBytes.inlineCapacity {
            var small = InlineBytes(count: UInt8(truncatingIfNeeded: raw.count))
            if raw.count > 0 {
                Swift.withUnsafeMutableBytes(of: &small.bytes) { $0.baseAddress!.copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
            }
            storage = .inline(small)
        } else {
            storage = .heap([UInt8](unsafeUninitializedCapacity: raw.count) { out, initialized in
                out.baseAddress!.initialize(from: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: raw.count)
                initialized = raw.count
            })
        }
    }

    /// A copy of the buffer's readable bytes (a request argument is a slice of the connection's
    /// receive buffer; this copies just the argument).
    @inlinable
    public init(copying buffer: ByteBuffer) {
        self = buffer.withUnsafeReadableBytes { CompactBytes($0) }
    }

    /// The UTF-8 bytes of `string` (tests, fixed values).
    public init(string: String) {
        var string = string
        self = string.withUTF8 { CompactBytes(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public var count: Int {
        switch storage {
        case .inline(let small): return Int(small.count)
        case .heap(let array): return array.count
        }
    }

    @inlinable
    public var isEmpty: Bool { count == 0 }

    /// Calls `body` with the bytes; the pointer is valid only inside it.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .inline(var small):
            let n = Int(small.count)
            return try Swift.withUnsafeBytes(of: &small.bytes) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        case .heap(let array):
            return try array.withUnsafeBytes(body)
        }
    }

    /// Whether the bytes equal `raw`'s.
    @inlinable
    public func equals(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard count == raw.count else { return false }
        return withUnsafeBytes { mine in
            mine.count == 0 || memcmp(mine.baseAddress!, raw.baseAddress!, mine.count) == 0
        }
    }

    /// The bytes as a new `ByteBuffer` (for code that works on buffers: SORT, RDB tests).
    @inlinable
    public var byteBuffer: ByteBuffer {
        withUnsafeBytes { ByteBufferAllocator().buffer(bytes: $0) }
    }

    /// A copy of the bytes as an array.
    @inlinable
    public var bytes: [UInt8] { withUnsafeBytes { [UInt8]($0) } }

    /// The value parsed as a Redis integer (see `parseStrictInt64`).
    @inlinable
    public var int64Value: Int64? { withUnsafeBytes { parseStrictInt64($0) } }

    /// The bytes as a String (lossy for invalid UTF-8); for tests and messages, not data.
    public var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

// MARK: Mutation (string values)

extension CompactBytes {
    /// An empty value (inline).
    @inlinable
    public init() { storage = .inline(InlineBytes(count: 0)) }

    /// Moves the heap array out, leaving an empty inline value: the caller then holds the only
    /// reference (unless a snapshot shares it), so mutating it does not copy.
    @inlinable
    mutating func takeArray() -> [UInt8] {
        let taken = storage
        storage = .inline(InlineBytes(count: 0))
        switch taken {
        case .heap(let array): return array
        case .inline(var small):
            let n = Int(small.count)
            return Swift.withUnsafeBytes(of: &small.bytes) { [UInt8](UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Puts bytes back in the form their length calls for.
    @inlinable
    mutating func settle(_ array: consuming [UInt8]) {
        if array.count <= CompactBytes.inlineCapacity {
            self = array.withUnsafeBytes { CompactBytes($0) }
        } else {
            storage = .heap(array)
        }
    }

    /// Replaces the bytes with a copy of `raw`. A heap value that only this one references and
    /// that is not much larger keeps its array: an overwrite of a long string (SET of an
    /// existing key) allocates nothing.
    @inlinable
    public mutating func replace(with raw: UnsafeRawBufferPointer) {
        guard raw.count > CompactBytes.inlineCapacity, case .heap = storage else {
            self = CompactBytes(raw)
            return
        }
        var array = takeArray()
        guard array.capacity >= raw.count, array.capacity <= 2 * raw.count + 32 else {
            self = CompactBytes(raw)
            return
        }
        array.removeAll(keepingCapacity: true)
        array.append(contentsOf: raw.bindMemory(to: UInt8.self))
        storage = .heap(array)
    }

    /// Appends `raw` (APPEND): amortised O(1), as the array grows geometrically.
    @inlinable
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        if count + raw.count <= CompactBytes.inlineCapacity, case .inline(var small) = storage {
            let n = Int(small.count)
            Swift.withUnsafeMutableBytes(of: &small.bytes) { out in
                if raw.count > 0 { (out.baseAddress! + n).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
            }
            small.count = UInt8(n + raw.count)
            storage = .inline(small)
            return
        }
        var array = takeArray()
        array.append(contentsOf: raw.bindMemory(to: UInt8.self))
        settle(array)
    }

    /// Lets `body` write the bytes in place, first growing them with zeros to at least
    /// `minimumCount` (SETRANGE, SETBIT).
    @inlinable
    public mutating func withUnsafeMutableBytes<R>(growingTo minimumCount: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        var array = takeArray()
        if array.count < minimumCount { array.append(contentsOf: repeatElement(0, count: minimumCount - array.count)) }
        let result = array.withUnsafeMutableBytes(body)
        settle(array)
        return result
    }

    /// The bytes of a decimal integer (INCR's result).
    @inlinable
    public init(decimal value: Int64) {
        var digits = InlineBytes(count: 0)
        var v = value.magnitude
        var tmp: (UInt64, UInt64, UInt32, UInt16) = (0, 0, 0, 0)
        var n = 0
        Swift.withUnsafeMutableBytes(of: &tmp) { out in
            repeat {
                out[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            if value < 0 { out[n] = UInt8(ascii: "-"); n += 1 }
        }
        Swift.withUnsafeBytes(of: &tmp) { src in
            Swift.withUnsafeMutableBytes(of: &digits.bytes) { out in
                for i in 0..<n { out[i] = src[n - 1 - i] }
            }
        }
        digits.count = UInt8(n)
        storage = .inline(digits)
    }
}

/// The inline form: 22 payload bytes, zero beyond `count` (so two inline values with the same
/// bytes are bit-for-bit equal), then the count. Swift lays stored properties out in declaration
/// order, so the payload is contiguous from offset 0.
@usableFromInline
struct InlineBytes: Sendable {
    @usableFromInline var bytes: (UInt64, UInt64, UInt32, UInt16) = (0, 0, 0, 0)
    @usableFromInline var count: UInt8

    @inlinable
    init(count: UInt8) { self.count = count }
}

extension CompactBytes: Hashable {
    @inlinable
    public static func == (lhs: CompactBytes, rhs: CompactBytes) -> Bool {
        if case .inline(let a) = lhs.storage, case .inline(let b) = rhs.storage {
            return a.count == b.count && a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1
                && a.bytes.2 == b.bytes.2 && a.bytes.3 == b.bytes.3
        }
        return rhs.withUnsafeBytes { lhs.equals($0) }
    }

    /// Content equality with a request argument.
    @inlinable
    public static func == (lhs: CompactBytes, rhs: ByteBuffer) -> Bool {
        rhs.withUnsafeReadableBytes { lhs.equals($0) }
    }

    /// Hashes the bytes, whichever form holds them.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension CompactBytes: CustomStringConvertible {
    public var description: String { string }
}
