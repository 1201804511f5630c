/// A hash table of byte-string keys laid out for memory per key: the keys and their payloads in
/// one dense array, found through a separate open-addressing index of 8-byte buckets.
///
/// Why not `Dictionary<ByteBuffer, Entry>`, what the keyspace used before: each key was a
/// `ByteBuffer` (NIO's 80-byte storage object plus the bytes: two mallocs, ~112 bytes for a
/// 10-byte key), and the dictionary kept its buckets at most 3/4 and on average about 9/16 full,
/// so every 72-byte bucket cost ~128 bytes. Here a key of up to 22 bytes lives inside its slot
/// (`CompactBytes`: no allocation at all), the slots are dense (the array grows by half, so it is
/// on average ~80 % full), and only the index, 8 bytes a bucket, carries the open-addressing
/// slack. Python's compact dict and Valkey 8's table make the same trade.
///
/// A bucket is 0 when empty, else `hash << 32 | (position + 1)`: the 32-bit hash beside the
/// position means a probe compares keys only on a full hash match, and growing the index never
/// rehashes a key. Linear probing, at most 3/4 full, with backward-shift deletion (no tombstones).
/// Removal moves the last slot into the hole, so the slots stay dense and iteration (SCAN, KEYS,
/// snapshots) walks a plain array. Order inside a table therefore changes on deletion, which no
/// caller relies on: SCAN returns a whole table per step (`KeySlot`).
///
/// A value type over two copy-on-write arrays: copying a table (a snapshot does) is O(1), and the
/// first write after that copies the arrays, never touching what the copy sees.
///
/// The hash is seeded per process (`KeyTable.seed`), unlike the slot hash: whoever picks the
/// keys can aim many at one slot, but cannot aim them at one probe sequence without the seed.
public struct KeyTable<Payload: Sendable>: Sendable {
    public struct Slot: Sendable {
        public var key: CompactBytes
        public var payload: Payload

        @inlinable
        public init(key: CompactBytes, payload: Payload) {
            self.key = key
            self.payload = payload
        }
    }

    /// The keys and payloads, in no particular order.
    @usableFromInline var storage: [Slot] = []
    @inlinable public var slots: [Slot] { storage }
    /// Power-of-two count, or empty while the table is.
    @usableFromInline var buckets: [UInt64] = []

    @inlinable
    public init() {}

    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.isEmpty }

    /// The table's own memory as malloc sees it (the two arrays), without what keys and payloads
    /// hold elsewhere.
    @inlinable
    public var memory: Int {
        Footprint.array(capacity: storage.capacity, stride: MemoryLayout<Slot>.stride)
            + Footprint.array(capacity: buckets.count, stride: 8)
    }

    /// The in-table hash of a key: 32 bits of the seeded word hash.
    @inlinable
    public static func hash(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: KeySlot.hash(raw: raw, seed: KeyTableSeed.value) >> 32)
    }

    /// Position of `raw`'s slot, or nil; `hash` is `KeyTable.hash(raw)`.
    @inlinable @inline(__always)
    public func find(_ raw: UnsafeRawBufferPointer, hash: UInt32) -> Int? {
        // Plain subscripts, not `withUnsafeBufferPointer`: its closure captured `self`, a
        // retain and release of both arrays per lookup.
        guard !buckets.isEmpty else { return nil }
        let mask = buckets.count - 1
        var b = Int(hash) & mask
        while true {
            let bucket = buckets[b]
            if bucket == 0 { return nil }
            if UInt32(truncatingIfNeeded: bucket >> 32) == hash {
                let p = Int(UInt32(truncatingIfNeeded: bucket)) - 1
                if storage[p].key.equals(raw) { return p }
            }
            b = (b + 1) & mask
        }
    }

    @inlinable
    public func find(_ raw: UnsafeRawBufferPointer) -> Int? { find(raw, hash: KeyTable.hash(raw)) }

    /// Adds a key known to be missing (`find` said so); returns its position.
    @inlinable
    @discardableResult
    public mutating func append(_ key: consuming CompactBytes, _ payload: consuming Payload, hash: UInt32) -> Int {
        if (storage.count + 1) * 4 > buckets.count * 3 { resizeIndex(to: Swift.max(8, buckets.count * 2)) }
        if storage.count == storage.capacity {
            // Half again rather than Array's doubling: the dense array is most of the table.
            storage.reserveCapacity(Swift.max(4, storage.count + storage.count / 2))
        }
        let p = storage.count
        storage.append(Slot(key: key, payload: payload))
        let mask = buckets.count - 1
        var b = Int(hash) & mask
        while buckets[b] != 0 { b = (b + 1) & mask }
        buckets[b] = UInt64(hash) << 32 | UInt64(p + 1)
        return p
    }

    /// Removes the slot at `position` (its key hashing to `hash`) and returns it. The last slot
    /// moves into its place.
    @inlinable
    @discardableResult
    public mutating func remove(at position: Int, hash: UInt32) -> Slot {
        let mask = buckets.count - 1
        deleteBucket(bucketOf(position, hash: hash), mask: mask)
        let last = storage.count - 1
        if position != last {
            let moved = storage[last].key.withUnsafeBytes { KeyTable.hash($0) }
            let b = bucketOf(last, hash: moved)
            buckets[b] = UInt64(moved) << 32 | UInt64(position + 1)
            storage.swapAt(position, last)
        }
        let removed = storage.removeLast()
        if storage.isEmpty {
            self = KeyTable()
        } else if storage.count * 8 < buckets.count && buckets.count > 8 {
            // A table emptied by deletions gives memory back, as Redis shrinks its dicts.
            resizeIndex(to: buckets.count / 4)
            if storage.capacity > storage.count * 2 {
                // A fresh buffer of the exact size (`Array(storage)` would share the old one).
                var fresh: [Slot] = []
                fresh.reserveCapacity(storage.count)
                fresh.append(contentsOf: storage)
                storage = fresh
            }
        }
        return removed
    }

    /// Removes `raw` if present.
    @inlinable
    @discardableResult
    public mutating func remove(_ raw: UnsafeRawBufferPointer) -> Slot? {
        let h = KeyTable.hash(raw)
        guard let p = find(raw, hash: h) else { return nil }
        return remove(at: p, hash: h)
    }

    /// The bucket that points at `position`.
    @inlinable
    func bucketOf(_ position: Int, hash: UInt32) -> Int {
        let mask = buckets.count - 1
        let target = UInt64(hash) << 32 | UInt64(position + 1)
        var b = Int(hash) & mask
        while buckets[b] != target { b = (b + 1) & mask }
        return b
    }

    /// Empties bucket `hole`, pulling back each later bucket of the run that may sit earlier
    /// (its home at or before the hole), so lookups never need tombstones.
    @inlinable
    mutating func deleteBucket(_ hole: Int, mask: Int) {
        var hole = hole
        var j = (hole + 1) & mask
        while buckets[j] != 0 {
            let home = Int(UInt32(truncatingIfNeeded: buckets[j] >> 32)) & mask
            if (j &- home) & mask >= (j &- hole) & mask {
                buckets[hole] = buckets[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        buckets[hole] = 0
    }

    /// Rebuilds the index with `count` buckets from the hashes it holds (no key is rehashed).
    @usableFromInline
    mutating func resizeIndex(to count: Int) {
        var fresh = [UInt64](repeating: 0, count: count)
        let mask = count - 1
        for bucket in buckets where bucket != 0 {
            var b = Int(UInt32(truncatingIfNeeded: bucket >> 32)) & mask
            while fresh[b] != 0 { b = (b + 1) & mask }
            fresh[b] = bucket
        }
        buckets = fresh
    }
}

/// The per-process seed of `KeyTable.hash` (a generic type cannot have a stored static).
public enum KeyTableSeed {
    public static let value: UInt64 = UInt64.random(in: 0...UInt64.max)
}

extension KeyTable: Sequence {
    public typealias Element = (key: CompactBytes, value: Payload)

    public struct Iterator: IteratorProtocol {
        @usableFromInline var base: IndexingIterator<[Slot]>
        @inlinable init(_ base: IndexingIterator<[Slot]>) { self.base = base }
        @inlinable
        public mutating func next() -> Element? {
            guard let slot = base.next() else { return nil }
            return (slot.key, slot.payload)
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(storage.makeIterator()) }
    @inlinable public var underestimatedCount: Int { storage.count }
}
