import NIOCore

/// The keys of one database that carry an expiry, kept so the active expiry cycle can sample them
/// at random in O(1) (Redis samples its `expires` dict the same way). A dense array plus an index
/// map; removal swaps the last key into the hole.
public struct VolatileKeys: Sendable {
    public private(set) var keys: [ByteBuffer] = []
    private var positions: [ByteBuffer: Int] = [:]

    public init() {}

    public var count: Int { keys.count }

    /// Memory of the index (`Footprint`): the key array and the position table.
    public var footprint: Int {
        Footprint.array(capacity: keys.capacity, stride: MemoryLayout<ByteBuffer>.stride)
            + Footprint.hashTable(capacity: positions.capacity, bytesPerBucket: MemoryLayout<ByteBuffer>.stride + 8)
    }

    public mutating func insert(_ key: ByteBuffer) {
        guard positions[key] == nil else { return }
        positions[key] = keys.count
        keys.append(key)
    }

    public mutating func remove(_ key: ByteBuffer) {
        guard let index = positions.removeValue(forKey: key) else { return }
        let last = keys.removeLast()
        if index < keys.count {
            keys[index] = last
            positions[last] = index
        }
    }

    public mutating func removeAll() {
        keys.removeAll()
        positions.removeAll()
    }

    public func randomKey<G: RandomNumberGenerator>(using generator: inout G) -> ByteBuffer? {
        keys.isEmpty ? nil : keys[Int.random(in: 0..<keys.count, using: &generator)]
    }
}
