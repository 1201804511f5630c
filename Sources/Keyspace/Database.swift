import NIOCore

/// One numbered database's share of one shard: the keys whose slot belongs to that shard, one
/// table (`KeyTable`) per slot.
///
/// A plain value type with no locking and no side effects; `Shard` wraps it with the lock, WATCH
/// invalidation and statistics. Expiry is lazy here: `isExpired` says whether an entry is past its
/// time and the shard decides to delete it.
///
/// Keys come in as request arguments (`ByteBuffer`) or as stored keys (`CompactBytes`); either is
/// looked up by its bytes, so a lookup never copies the key.
public struct Database: Sendable {
    public typealias Table = KeyTable<Entry>

    public private(set) var tables: [Table]
    public private(set) var volatile = VolatileKeys()
    public private(set) var count = 0
    /// Memory of the keys and values (`Footprint`): keys' heap bytes, values by `Entry.footprint`.
    public private(set) var entryBytes = 0
    /// Memory of the slot tables' storage and of the volatile-key index.
    public private(set) var tableBytes = 0
    public private(set) var volatileBytes = 0

    public init() {
        tables = Array(repeating: Table(), count: KeySlot.slotsPerShard)
    }

    /// What this database holds, in bytes as the allocator sees them (estimated, see `Footprint`).
    public var memory: Int { entryBytes + tableBytes + volatileBytes }

    /// The volatile index changed size: its storage, recomputed (O(1)).
    mutating func accountVolatile() {
        volatileBytes = volatile.footprint
    }

    public var expiresCount: Int { volatile.count }

    @inlinable
    public static func isExpired(_ entry: Entry, now: Int64) -> Bool {
        entry.expireAt != 0 && entry.expireAt <= now
    }

    @inlinable
    static func table(_ key: ByteBuffer) -> Int { KeySlot.localIndex(ofSlot: KeySlot.slot(key)) }

    @inlinable
    static func table(raw key: UnsafeRawBufferPointer) -> Int { KeySlot.localIndex(ofSlot: KeySlot.slot(raw: key)) }

    /// Runs `body` on table `t` (nil: the key's own), keeping `tableBytes` true when its storage
    /// grows or shrinks.
    mutating func withTable<R>(_ t: Int, _ body: (inout Table) -> R) -> R {
        let before = tables[t].memory
        let result = body(&tables[t])
        let after = tables[t].memory
        if after != before { tableBytes += after - before }
        return result
    }

    /// Where `raw` sits in table `t`. Through the array's buffer: `tables[t].find` copied the
    /// table out first (a retain and release of both its arrays per lookup).
    @inlinable @inline(__always)
    func position(_ raw: UnsafeRawBufferPointer, hash: UInt32, table t: Int) -> Int? {
        tables.withUnsafeBufferPointer { $0[t].find(raw, hash: hash) }
    }

    public func entry(_ key: ByteBuffer) -> Entry? {
        key.withUnsafeReadableBytes { entry(raw: $0, table: Database.table(raw: $0)) }
    }

    public func entry(_ key: CompactBytes) -> Entry? {
        key.withUnsafeBytes { entry(raw: $0, table: Database.table(raw: $0)) }
    }

    // The variants below take the key's table index (`KeySlot.localIndex(ofSlot:)`) from a
    // caller that already hashed the key, so one command hashes each key for its slot once.

    @inlinable
    public func entry(_ key: ByteBuffer, table t: Int) -> Entry? {
        key.withUnsafeReadableBytes { entry(raw: $0, table: t) }
    }

    @usableFromInline
    func entry(raw: UnsafeRawBufferPointer, table t: Int) -> Entry? {
        guard let p = position(raw, hash: Table.hash(raw), table: t) else { return nil }
        return tables[t].storage[p].payload
    }

    /// Stores `value`, replacing any old value. The expiry becomes `expireAt` unless `keepTTL`.
    /// Returns true when the key did not exist.
    @discardableResult
    public mutating func set(_ key: ByteBuffer, _ value: consuming Value, expireAt: Int64 = 0, keepTTL: Bool = false,
                             access: AccessClock = AccessClock(seconds: 0), table: Int? = nil) -> Bool {
        store(key, .value(value), expireAt: expireAt, keepTTL: keepTTL, access: access, table: table)
    }

    /// `set` for a string value given as bytes to copy (a request argument). When the key already
    /// holds a string whose storage only this entry references and that is not much larger, the
    /// bytes are written into it: overwriting a key (SET, MSET of an existing key) then allocates
    /// and frees nothing. Storage shared with a snapshot is copied on write, so the snapshot
    /// keeps the old bytes.
    @discardableResult
    public mutating func setString(_ key: ByteBuffer, copying bytes: ByteBuffer, expireAt: Int64 = 0, keepTTL: Bool = false,
                                   access: AccessClock = AccessClock(seconds: 0), table: Int? = nil) -> Bool {
        bytes.withUnsafeReadableBytes { store(key, .copyOf($0), expireAt: expireAt, keepTTL: keepTTL, access: access, table: table) }
    }

    /// What `store` writes: a value, or the bytes of a string value still to be copied.
    public enum NewValue {
        case value(Value)
        /// Bytes valid for the duration of the call (a request argument's): a pointer rather than
        /// the ByteBuffer, whose copy into the enum would cost a retain and a release.
        case copyOf(UnsafeRawBufferPointer)
    }

    /// `set` and `setString` in one: stores `value` under `key`, replacing any old value.
    @discardableResult
    public mutating func store(_ key: ByteBuffer, _ value: consuming NewValue, expireAt: Int64 = 0, keepTTL: Bool = false,
                               access: AccessClock = AccessClock(seconds: 0), table: Int? = nil) -> Bool {
        // The bytes stay valid while `key` lives, which the caller's reference guarantees (a
        // closure over them could not consume `value`).
        let raw = key.withUnsafeReadableBytes { $0 }
        defer { withExtendedLifetime(key) {} }
        let t = table ?? Database.table(raw: raw)
        let h = Table.hash(raw)
        if let p = position(raw, hash: h, table: t) {
            let (oldExpire, newExpire, delta) = Database.replace(&tables[t].storage[p].payload, with: value, expireAt: expireAt,
                                                                 keepTTL: keepTTL, access: access)
            entryBytes += delta
            if oldExpire != 0 && newExpire == 0 { volatile.remove(raw); accountVolatile() }
            if oldExpire == 0 && newExpire != 0 { volatile.insert(tables[t].storage[p].key); accountVolatile() }
            return false
        }
        let fresh: Value
        switch consume value {
        case .value(let v): fresh = v
        case .copyOf(let bytes): fresh = .string(CompactBytes(bytes))
        }
        var entry = Entry(value: fresh, expireAt: expireAt, lastAccess: access.initial)
        entry.footprint = Footprint.stored(entry.value)
        insert(CompactBytes(raw), entry, hash: h, table: t)
        return true
    }

    /// Adds a key known to be missing from table `t`, with its accounting.
    mutating func insert(_ key: CompactBytes, _ entry: Entry, hash: UInt32, table t: Int) {
        count += 1
        entryBytes += key.heapBytes + Int(entry.footprint)
        if entry.expireAt != 0 { volatile.insert(key); accountVolatile() }
        withTable(t) { $0.append(key, entry, hash: hash) }
    }

    /// Removes the slot at `p` of table `t`, with its accounting.
    mutating func removeSlot(at p: Int, hash: UInt32, table t: Int) -> Entry {
        let removed = withTable(t) { $0.remove(at: p, hash: hash) }
        count -= 1
        entryBytes -= removed.key.heapBytes + Int(removed.payload.footprint)
        if removed.payload.expireAt != 0 {
            removed.key.withUnsafeBytes { volatile.remove($0) }
            accountVolatile()
        }
        return removed.payload
    }

    /// Replaces the value in place, reading the old expiry in the same access (reading it through
    /// a getter first would copy the whole entry: a retain and a release).
    @inlinable
    static func replace(_ entry: inout Entry, with value: consuming NewValue, expireAt: Int64, keepTTL: Bool,
                        access: AccessClock) -> (old: Int64, new: Int64, bytesDelta: Int) {
        let old = entry.expireAt
        switch consume value {
        case .value(let v): entry.value = v
        case .copyOf(let bytes): overwriteString(&entry.value, with: bytes)
        }
        // Overwriting counts as an access (Redis keeps an overwritten key's LFU counter).
        entry.lastAccess = access.touched(entry.lastAccess)
        if !keepTTL { entry.expireAt = expireAt }
        let footprint = Footprint.stored(entry.value)
        let delta = Int(footprint) - Int(entry.footprint)
        entry.footprint = footprint
        return (old, entry.expireAt, delta)
    }

    /// See `setString`: reuse the stored string's array when that is free of cost and of waste.
    @inlinable
    static func overwriteString(_ value: inout Value, with bytes: UnsafeRawBufferPointer) {
        guard case .string = value, case .string(var string) = value.vacate() else {
            value = .string(CompactBytes(bytes))
            return
        }
        // `string` is now the only reference (or shared with a snapshot, and then copied).
        string.replace(with: bytes)
        value = .string(string)
    }

    /// Leaves `Value.vacated` behind: no allocation.
    @inlinable
    static func takeEntry(_ slot: inout Entry) -> Entry {
        var taken = Entry(value: .vacated)
        swap(&taken, &slot)
        return taken
    }

    /// Mutates the entry in place: when the collection inside is uniquely referenced it is not
    /// copied. The body sees nil for a missing key; leaving nil deletes the key, leaving a value
    /// creates or updates it.
    ///
    /// The entry left behind gets a fresh footprint, and counts as accessed now (`access`).
    public mutating func modify<R>(_ key: ByteBuffer, table: Int? = nil, access: AccessClock = AccessClock(seconds: 0),
                                   _ body: (inout Entry?) -> R) -> R {
        key.withUnsafeReadableBytes { raw in
            let t = table ?? Database.table(raw: raw)
            let h = Table.hash(raw)
            if let p = position(raw, hash: h, table: t) {
                // Swap the entry out for a placeholder, so `entry` holds the only reference to the
                // collection (mutated in place, not copied) and no reference count changes hands.
                let taken = Database.takeEntry(&tables[t].storage[p].payload)
                let oldExpire = taken.expireAt
                let oldFootprint = taken.footprint
                // `consume`: a plain copy would keep `taken` (and a second reference to the
                // collection) alive until the end of the scope, so `body` would copy the collection.
                var entry: Entry? = consume taken
                let result = body(&entry)
                if var updated = entry.take() {
                    let newExpire = updated.expireAt
                    updated.footprint = Footprint.stored(updated.value)
                    updated.lastAccess = access.touched(updated.lastAccess)
                    entryBytes += Int(updated.footprint) - Int(oldFootprint)
                    tables[t].storage[p].payload = consume updated
                    if oldExpire != 0 && newExpire == 0 { volatile.remove(raw); accountVolatile() }
                    if oldExpire == 0 && newExpire != 0 { volatile.insert(tables[t].storage[p].key); accountVolatile() }
                } else {
                    // The placeholder's footprint is 0; the old value's comes off here.
                    tables[t].storage[p].payload.expireAt = oldExpire
                    tables[t].storage[p].payload.footprint = oldFootprint
                    _ = removeSlot(at: p, hash: h, table: t)
                }
                return result
            }
            var entry: Entry? = nil
            let result = body(&entry)
            if var entry {
                entry.footprint = Footprint.stored(entry.value)
                entry.lastAccess = access.initial
                insert(CompactBytes(raw), entry, hash: h, table: t)
            }
            return result
        }
    }

    /// Adds a key that must not exist yet (the RDB loader's). Returns false, changing nothing,
    /// on a duplicate.
    public mutating func insertNew(_ key: ByteBuffer, _ entry: Entry) -> Bool {
        key.withUnsafeReadableBytes { insertNew(CompactBytes($0), entry) }
    }

    public mutating func insertNew(_ key: CompactBytes, _ entry: Entry) -> Bool {
        key.withUnsafeBytes { raw in
            let t = Database.table(raw: raw)
            let h = Table.hash(raw)
            guard position(raw, hash: h, table: t) == nil else { return false }
            var entry = entry
            entry.footprint = Footprint.stored(entry.value)
            insert(key, entry, hash: h, table: t)
            return true
        }
    }

    @discardableResult
    public mutating func remove(_ key: ByteBuffer, table: Int? = nil) -> Entry? {
        key.withUnsafeReadableBytes { remove(raw: $0, table: table) }
    }

    @discardableResult
    public mutating func remove(_ key: CompactBytes) -> Entry? {
        key.withUnsafeBytes { remove(raw: $0, table: nil) }
    }

    mutating func remove(raw: UnsafeRawBufferPointer, table: Int?) -> Entry? {
        let t = table ?? Database.table(raw: raw)
        let h = Table.hash(raw)
        guard let p = position(raw, hash: h, table: t) else { return nil }
        return removeSlot(at: p, hash: h, table: t)
    }

    /// Sets or clears (0) the expiry of an existing key. Returns false when the key is missing.
    @discardableResult
    public mutating func setExpire(_ key: ByteBuffer, _ expireAt: Int64, table: Int? = nil) -> Bool {
        key.withUnsafeReadableBytes { raw in
            let t = table ?? Database.table(raw: raw)
            guard let p = position(raw, hash: Table.hash(raw), table: t) else { return false }
            let old = tables[t].storage[p].payload.expireAt
            tables[t].storage[p].payload.expireAt = expireAt
            if old == 0 && expireAt != 0 { volatile.insert(tables[t].storage[p].key); accountVolatile() }
            if old != 0 && expireAt == 0 { volatile.remove(raw); accountVolatile() }
            return true
        }
    }

    /// Finds the entry and records the access (OBJECT IDLETIME, OBJECT FREQ) with a single hash
    /// lookup. The LRU clock has seconds resolution, so most reads find it unchanged and write
    /// nothing (which also spares a snapshot-shared table from being copied by a read).
    public mutating func accessEntry(_ key: ByteBuffer, access: AccessClock, table: Int? = nil) -> Entry? {
        // The bytes stay valid while `key` lives (see `store`); a closure over `self` here cost
        // a retain and release of the table's two arrays per read.
        let raw = key.withUnsafeReadableBytes { $0 }
        defer { withExtendedLifetime(key) {} }
        let t = table ?? Database.table(raw: raw)
        guard let p = position(raw, hash: Table.hash(raw), table: t) else { return nil }
        let old = tables[t].storage[p].payload.lastAccess
        let new = access.touched(old)
        if old != new {
            tables[t].storage[p].payload.lastAccess = new
        }
        return tables[t].storage[p].payload
    }

    public mutating func removeAll() {
        self = Database()
    }

    public func randomVolatileKey<G: RandomNumberGenerator>(using generator: inout G) -> CompactBytes? {
        volatile.randomKey(using: &generator)
    }

    /// Up to `n` keys for eviction to weigh, handed to `body` with their access field and expiry.
    /// The key comes as a function, called only for a key worth keeping: copying a key out of
    /// the table retains its storage, a cache miss per sample.
    /// Any key: a run of consecutive keys from a random place in a random table (Redis's
    /// `dictGetSomeKeys` takes a run from a random bucket the same way: one random walk, then
    /// cheap steps). Keys with an expiry: random picks from the volatile index.
    public func sampleKeys<G: RandomNumberGenerator>(_ n: Int, volatileOnly: Bool, using generator: inout G,
                                                     _ body: (_ key: () -> CompactBytes, _ lastAccess: UInt32, _ expireAt: Int64) -> Void) {
        if volatileOnly {
            for _ in 0..<min(n, volatile.count) {
                guard let key = volatile.randomKey(using: &generator), let entry = entry(key) else { return }
                body({ key }, entry.lastAccess, entry.expireAt)
            }
            return
        }
        guard count > 0 else { return }
        var t = Int.random(in: 0..<tables.count, using: &generator)
        var taken = 0
        var first = true
        // Stops as soon as the run is long enough (a `where` filter kept stepping through every
        // table, reading each one's header: a cache miss apiece, 20 % of an eviction load).
        for _ in 0..<tables.count {
            if taken >= n { break }
            defer { t = (t + 1) % tables.count }
            let slots = tables[t].slots
            guard !slots.isEmpty else { continue }
            var index = 0
            if first {
                index = Int.random(in: 0..<slots.count, using: &generator)
                first = false
            }
            while index < slots.count && taken < n {
                body({ slots[index].key }, slots[index].payload.lastAccess, slots[index].payload.expireAt)
                taken += 1
                index += 1
            }
        }
    }

    /// A uniformly chosen slot table, then a key in it (close enough to uniform for RANDOMKEY, as
    /// Redis's own bucket sampling is).
    public func randomKey<G: RandomNumberGenerator>(using generator: inout G) -> CompactBytes? {
        guard count > 0 else { return nil }
        var t = Int.random(in: 0..<tables.count, using: &generator)
        while tables[t].isEmpty { t = (t + 1) % tables.count }
        return tables[t].slots[Int.random(in: 0..<tables[t].count, using: &generator)].key
    }
}
