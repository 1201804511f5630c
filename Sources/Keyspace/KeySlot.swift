import NIOCore

/// Where a key lives. Every key hashes (a fixed word-at-a-time hash, the same in every process) to
/// one of `slotCount` slots; slot `s` belongs to shard `s % shardCount`.
///
/// Slots do two jobs: each is a small dictionary, so a snapshot copies only the slots that a
/// writer touches while it runs (see Docs/design.md), and SCAN's cursor is simply the next slot,
/// which gives Redis's full-iteration guarantee without relying on a hash table's internal order.
public enum KeySlot {
    /// Shards of the keyspace (`keyspace-shards`): a power of two from 1 to 64, at most 64
    /// because a command's locks are one 64-bit mask. Set once at start-up, before the first
    /// `Keyspace` exists (`configure(shards:)`), and only read afterwards.
    nonisolated(unsafe) public private(set) static var shardCount = 64
    /// shardCount - 1: a slot's shard is `slot & shardMask`.
    nonisolated(unsafe) public private(set) static var shardMask = 63
    /// log2(shardCount): a slot's index inside its shard is `slot &>> shardShift` (the masking
    /// shift: Swift's `>>` by a variable checks for negative and oversized shifts, ~10
    /// instructions on every key lookup).
    nonisolated(unsafe) public private(set) static var shardShift = 6
    /// Set by the first `Keyspace`: from then on the shard count may not change.
    nonisolated(unsafe) static var inUse = false
    public static let slotCount = 16384
    public static var slotsPerShard: Int { slotCount &>> shardShift }

    /// Why `shards` cannot be the shard count, or nil when it can.
    public static func problem(shards: Int) -> String? {
        shards >= 1 && shards <= 64 && shards & (shards - 1) == 0 ? nil : "keyspace-shards must be a power of two between 1 and 64"
    }

    /// Sets the shard count for the process; must come before the first keyspace is made.
    public static func configure(shards: Int) {
        precondition(problem(shards: shards) == nil, problem(shards: shards) ?? "")
        guard shards != shardCount else { return }
        precondition(!inUse, "the shard count cannot change once a keyspace exists")
        shardCount = shards
        shardMask = shards - 1
        shardShift = shards.trailingZeroBitCount
    }

    /// 64-bit hash of the key's bytes: eight bytes per multiply, then a full avalanche (the
    /// finaliser of SplitMix64), so every bit of the result depends on every input bit and the
    /// low 14 bits make a fair slot. It replaced a byte-at-a-time FNV-1a that cost ~230
    /// instructions for a 16-byte key on every command. Not keyed: it spreads keys over slots,
    /// while each slot's dictionary keeps Swift's per-process seeded hashing.
    @inlinable
    public static func hash(_ key: ByteBuffer) -> UInt64 {
        key.withUnsafeReadableBytes { hash(raw: $0) }
    }

    @inlinable
    public static func hash(raw: UnsafeRawBufferPointer) -> UInt64 { hash(raw: raw, seed: 0x9E37_79B9_7F4A_7C15) }

    /// The same hash from another starting state (`KeyTable` uses a per-process random one).
    @inlinable
    public static func hash(raw: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let n = raw.count
        var h: UInt64 = seed ^ UInt64(truncatingIfNeeded: n)
        var i = 0
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(raw[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail) &* 0xBF58_476D_1CE4_E5B9
        }
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    @inlinable public static func slot(_ key: ByteBuffer) -> Int { Int(truncatingIfNeeded: hash(key)) & (slotCount - 1) }
    @inlinable public static func slot(raw key: UnsafeRawBufferPointer) -> Int { Int(truncatingIfNeeded: hash(raw: key)) & (slotCount - 1) }
    @inlinable public static func shard(ofSlot slot: Int) -> Int { slot & shardMask }
    @inlinable public static func shard(_ key: ByteBuffer) -> Int { shard(ofSlot: slot(key)) }
    /// Index of a slot inside its shard's tables.
    @inlinable public static func localIndex(ofSlot slot: Int) -> Int { slot &>> shardShift }
}
