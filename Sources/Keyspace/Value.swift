import DequeModule
import NIOCore

/// A stored value. Every payload is a value type with copy-on-write storage: copying a `Value`
/// (or a whole database dictionary) is O(1) and later writes copy only what they touch. That is
/// what lets a snapshot take a point-in-time view of a shard without fork (see Docs/design.md).
///
/// Not to be confused with a reply: replies are written by `ReplyWriter` and never stored.
public enum Value: Sendable {
    /// Up to 22 bytes inline (most keys' values: counters, ids, short names), else one array.
    case string(CompactBytes)
    case list(Deque<CompactBytes>)
    case hash([ByteBuffer: ByteBuffer])
    case set(Set<ByteBuffer>)
    case zset(SortedSet)

    /// The name `TYPE` reports.
    public var typeName: StaticString {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .hash: return "hash"
        case .set: return "set"
        case .zset: return "zset"
        }
    }

    /// The name `OBJECT ENCODING` reports. Swiftlet has one representation per type; it reports the
    /// encoding Redis 7.0 would pick for the same contents (with its default thresholds), because
    /// clients and tests use it as a size/shape hint.
    public var encodingName: String {
        switch self {
        case .string(let s):
            if s.count <= 20, s.int64Value != nil { return "int" }
            return s.count <= 44 ? "embstr" : "raw"
        case .list:
            return "quicklist"   // Redis 7.0 lists are always quicklists (listpack lists came in 7.2)
        case .hash(let h):
            return h.count <= 128 && h.allSatisfy({ $0.key.readableBytes <= 64 && $0.value.readableBytes <= 64 })
                ? "listpack" : "hashtable"
        case .set(let s):
            return s.count <= 512 && s.allSatisfy({ $0.int64Value != nil }) ? "intset" : "hashtable"
        case .zset(let z):
            return z.count <= 128 && z.maxMemberLength <= 64 ? "listpack" : "skiplist"
        }
    }

    /// What a slot holds while its payload is moved out for an in-place mutation: the empty
    /// dictionary is a static singleton, so storing and dropping it costs no allocation and no
    /// atomic reference count.
    /// (`Dictionary()`, not the literal `[:]`: the literal goes through an out-of-line call.)
    @inlinable
    public static var vacated: Value { .hash([ByteBuffer: ByteBuffer]()) }

    /// Moves the value out, leaving `vacated` in its place: the caller gets the only reference
    /// to the payload (a copy would share it, and the next write would copy the collection).
    @inlinable
    public mutating func vacate() -> Value {
        let moved = consume self
        self = .vacated
        return moved
    }

    /// A string value holding a copy of `buffer`'s readable bytes.
    @inlinable
    public static func string(copying buffer: ByteBuffer) -> Value { .string(CompactBytes(copying: buffer)) }

    /// Number of elements (1 for a string), for memory estimates and SCAN-style accounting.
    public var elementCount: Int {
        switch self {
        case .string: return 1
        case .list(let l): return l.count
        case .hash(let h): return h.count
        case .set(let s): return s.count
        case .zset(let z): return z.count
        }
    }
}

/// One key's slot in a database.
public struct Entry: Sendable {
    public var value: Value
    /// Absolute expiry in Unix milliseconds; 0 when the key is persistent.
    public var expireAt: Int64
    /// Last access: seconds of the server's LRU clock (OBJECT IDLETIME), or under an LFU policy
    /// the LFU word (`AccessClock`).
    public var lastAccess: UInt32
    /// The value's memory estimate when it was last written (`Footprint.value`), kept so that
    /// removing or replacing it takes exactly that amount off the database's total. The
    /// `Database` sets it; it fills what was padding after `lastAccess`.
    public var footprint: UInt32 = 0

    public init(value: Value, expireAt: Int64 = 0, lastAccess: UInt32 = 0) {
        self.value = value
        self.expireAt = expireAt
        self.lastAccess = lastAccess
    }
}

/// Error replies shared by every type's commands.
public enum TypeError {
    public static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
}
