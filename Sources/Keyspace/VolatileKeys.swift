/// The keys of one database that carry an expiry, kept so the active expiry cycle and the
/// volatile eviction policies can sample them at random in O(1) (Redis samples its `expires`
/// dict the same way). A `KeyTable` with no payload: its dense slot array is what a random pick
/// indexes, its index what a removal finds the key by.
public struct VolatileKeys: Sendable {
    @usableFromInline var table = KeyTable<Void>()

    public init() {}

    @inlinable public var count: Int { table.count }

    /// Memory of the index (`Footprint`). A key's heap bytes, when it has any, are shared with
    /// the database's own copy of the key.
    @inlinable public var footprint: Int { table.memory }

    @inlinable
    public mutating func insert(_ key: CompactBytes) {
        key.withUnsafeBytes { raw in
            let h = KeyTable<Void>.hash(raw)
            if table.find(raw, hash: h) == nil { table.append(key, (), hash: h) }
        }
    }

    @inlinable
    public mutating func remove(_ raw: UnsafeRawBufferPointer) {
        table.remove(raw)
    }

    public mutating func removeAll() {
        table = KeyTable()
    }

    public func randomKey<G: RandomNumberGenerator>(using generator: inout G) -> CompactBytes? {
        table.isEmpty ? nil : table.slots[Int.random(in: 0..<table.count, using: &generator)].key
    }
}
