import DequeModule
import NIOCore

/// What the keyspace costs in memory, in bytes as the allocator sees them: the memory
/// accounting behind `used_memory`, `maxmemory` and `MEMORY USAGE`.
///
/// Why estimates instead of asking the allocator: glibc's only summary, `mallinfo2`, walks every
/// free chunk of every arena; on a fragmented heap of a few hundred MB that took 160 ms per call
/// here, far too slow for a check before every write. So each stored value carries its own
/// estimate (`Entry.footprint`), computed when it is written, and each `Database` keeps the sum
/// with the cost of its hash tables. The figures below model glibc malloc (a chunk is the
/// request plus 8 bytes, rounded up to 16, at least 32) and the layouts of the Swift and NIO
/// types the keyspace stores; `KeyspaceTests.testFootprintTracksAllocator` holds them against
/// what `mallinfo2` counts for the same data.
///
/// Collections are estimated from at most `sampledElements` of their elements, as Redis's
/// `MEMORY USAGE` samples 5: an estimate after every write must cost O(1).
public enum Footprint {
    /// Elements a collection's estimate looks at (the rest are assumed to be alike).
    public static let sampledElements = 8

    /// The malloc chunk glibc uses for a request of `n` bytes.
    @inlinable
    public static func chunk(_ n: Int) -> Int { max(32, (n + 8 + 15) & ~15) }

    /// NIO's storage object behind every `ByteBuffer` (a Swift object: header, capacity,
    /// pointer and the allocator's four function pointers), as one chunk.
    public static let bufferObject = 80

    /// A stored byte string: NIO's storage object and its bytes, whose capacity NIO rounds up
    /// to a power of two.
    @inlinable
    public static func buffer(_ b: ByteBuffer) -> Int { bufferObject + chunk(b.capacity) }

    /// A stored key of `length` bytes beyond its table slot: nothing when it fits inline
    /// (`CompactBytes`), else its heap array. Only the length matters, so a key can be costed
    /// from any copy of it.
    @inlinable
    public static func key(length: Int) -> Int {
        length <= CompactBytes.inlineCapacity ? 0 : chunk(32 + length)
    }

    /// Swift's native hash storage (Dictionary, Set): an object header with the counts, seed and
    /// pointers, an occupancy bitmap, then the keys and values side by side, for a power-of-two
    /// bucket count at most 3/4 full. The empty one is a shared singleton and costs nothing.
    @inlinable
    public static func hashTable(capacity: Int, bytesPerBucket: Int) -> Int {
        guard capacity > 0 else { return 0 }
        var buckets = 1
        while buckets * 3 / 4 < capacity { buckets <<= 1 }
        return chunk(80 + (buckets + 63) / 64 * 8 + buckets * bytesPerBucket)
    }

    /// A contiguous array (Array, Deque): header plus elements.
    @inlinable
    public static func array(capacity: Int, stride: Int) -> Int {
        capacity > 0 ? chunk(32 + capacity * stride) : 0
    }

    /// One key's share of its table (`KeyTable`): its slot, at the ~80 % a dense array that
    /// grows by half is full on average, and its index bucket, at ~9/16 full.
    public static let tableShare = MemoryLayout<KeyTable<Entry>.Slot>.stride * 5 / 4 + 8 * 16 / 9

    /// A value's memory beyond its entry in the table, from `samples` of a collection's
    /// elements (0: all of them, as MEMORY USAGE ... SAMPLES 0).
    public static func value(_ value: Value, samples: Int = sampledElements) -> Int {
        let sampledElements = samples == 0 ? Int.max : samples
        switch value {
        case .string(let s):
            return s.heapBytes
        case .list(let list):
            return array(capacity: list.count, stride: MemoryLayout<CompactBytes>.stride) + 16
                + sampled(list.count, list.prefix(sampledElements), cost: { $0.heapBytes })
        case .hash(let hash):
            return hashTable(capacity: hash.capacity, bytesPerBucket: 2 * MemoryLayout<ByteBuffer>.stride)
                + sampled(hash.count, hash.prefix(sampledElements), cost: { buffer($0.key) + buffer($0.value) })
        case .set(let set):
            return hashTable(capacity: set.capacity, bytesPerBucket: MemoryLayout<ByteBuffer>.stride)
                + sampled(set.count, set.prefix(sampledElements), cost: buffer)
        case .zset(let z):
            return z.structureFootprint + sampled(z.count, z.members(upTo: sampledElements), cost: buffer)
        }
    }

    /// `count` elements' cost, extrapolated from the given sample.
    @inlinable
    static func sampled<S: Sequence>(_ count: Int, _ sample: S, cost: (S.Element) -> Int) -> Int {
        var seen = 0, total = 0
        for element in sample {
            seen += 1
            total += cost(element)
        }
        return seen == 0 ? 0 : total * count / seen
    }

    /// `Entry.footprint` for a value: its estimate, saturated at the field's width (a value of
    /// over 4 GB is under-counted, never wrapped).
    @inlinable
    public static func stored(_ value: Value) -> UInt32 {
        UInt32(clamping: Footprint.value(value))
    }
}

extension CompactBytes {
    /// Heap memory of a stored element: none when it fits inline.
    @inlinable
    public var heapBytes: Int {
        switch storage {
        case .inline: return 0
        case .heap(let array): return Footprint.chunk(32 + array.count)
        }
    }
}
