import NIOCore

/// One numbered database's share of one shard: the keys whose slot belongs to that shard, one
/// dictionary per slot.
///
/// A plain value type with no locking and no side effects; `Shard` wraps it with the lock, WATCH
/// invalidation and statistics. Expiry is lazy here: `isExpired` says whether an entry is past its
/// time and the shard decides to delete it.
public struct Database: Sendable {
    public private(set) var tables: [[ByteBuffer: Entry]]
    public private(set) var volatile = VolatileKeys()
    public private(set) var count = 0
    /// Memory of the keys and values (`Footprint`): keys by length, values by `Entry.footprint`.
    public private(set) var entryBytes = 0
    /// Memory of the slot tables' storage and of the volatile-key index.
    public private(set) var tableBytes = 0
    public private(set) var volatileBytes = 0

    public init() {
        tables = Array(repeating: [:], count: KeySlot.slotsPerShard)
    }

    /// What this database holds, in bytes as the allocator sees them (estimated, see `Footprint`).
    public var memory: Int { entryBytes + tableBytes + volatileBytes }

    /// Accounts a key added to table `t`, whose capacity was `capacityBefore`.
    mutating func accountInsert(keyLength: Int, footprint: UInt32, table t: Int, capacityBefore: Int) {
        entryBytes += Footprint.key(length: keyLength) + Int(footprint)
        let capacity = tables[t].capacity
        if capacity != capacityBefore {
            tableBytes += Footprint.hashTable(capacity: capacity, bytesPerBucket: Footprint.tableBucket)
                - Footprint.hashTable(capacity: capacityBefore, bytesPerBucket: Footprint.tableBucket)
        }
    }

    mutating func accountRemove(keyLength: Int, footprint: UInt32) {
        entryBytes -= Footprint.key(length: keyLength) + Int(footprint)
    }

    /// A table left empty gives its storage back (Redis shrinks its dicts in the cron): without
    /// this, a keyspace emptied by deletions or eviction kept every table's buckets counted in
    /// used_memory, and a server evicted down to no keys could still be over maxmemory.
    mutating func releaseIfEmpty(table t: Int) {
        guard tables[t].isEmpty, tables[t].capacity > 0 else { return }
        tableBytes -= Footprint.hashTable(capacity: tables[t].capacity, bytesPerBucket: Footprint.tableBucket)
        tables[t] = [:]
    }

    /// The volatile index changed size: its two structures' storage, recomputed (O(1)).
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

    public func entry(_ key: ByteBuffer) -> Entry? { tables[Database.table(key)][key] }

    // The variants below take the key's table index (`KeySlot.localIndex(ofSlot:)`) from a
    // caller that already hashed the key, so one command hashes each key once.

    @inlinable
    public func entry(_ key: ByteBuffer, table t: Int) -> Entry? { tables[t][key] }

    /// Stores `value`, replacing any old value. The expiry becomes `expireAt` unless `keepTTL`.
    /// Returns true when the key did not exist.
    @discardableResult
    public mutating func set(_ key: ByteBuffer, _ value: consuming Value, expireAt: Int64 = 0, keepTTL: Bool = false,
                             access: AccessClock = AccessClock(seconds: 0), table: Int? = nil) -> Bool {
        store(key, .value(value), expireAt: expireAt, keepTTL: keepTTL, access: access, table: table)
    }

    /// `set` for a string value given as bytes to copy (a request argument). When the key already
    /// holds a string whose buffer only this entry references and that is not much larger, the
    /// bytes are written into that buffer: overwriting a key (SET, MSET of an existing key)
    /// then allocates and frees nothing, where a fresh copy costs two allocations (a `ByteBuffer`'s
    /// storage object and its bytes) and freeing the old value two more. A buffer shared with a
    /// snapshot is copied on write by `ByteBuffer` itself, so the snapshot keeps the old bytes.
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
        let t = table ?? Database.table(key)
        let capacityBefore = tables[t].capacity
        // One access to the slot's dictionary for the lookup and the write (reading
        // `tables[t]` first and writing it after cost a reference count on its storage each time).
        let outcome = Database.store(in: &tables[t], key, value, expireAt: expireAt, keepTTL: keepTTL, access: access)
        switch outcome {
        case let .replaced(oldExpire, newExpire, storedKey, bytesDelta):
            entryBytes += bytesDelta
            if oldExpire != 0 && newExpire == 0 { volatile.remove(key); accountVolatile() }
            if let storedKey { volatile.insert(storedKey); accountVolatile() }
            return false
        case let .inserted(storedKey, footprint):
            count += 1
            accountInsert(keyLength: key.readableBytes, footprint: footprint, table: t, capacityBefore: capacityBefore)
            if let storedKey { volatile.insert(storedKey); accountVolatile() }
            return true
        }
    }

    @usableFromInline
    enum SetOutcome {
        /// `storedKey` is the dictionary's own key when the entry just gained an expiry (only
        /// then is it needed, for the volatile-key index; copying it costs a reference count).
        /// `bytesDelta`: the value's new footprint less its old one.
        case replaced(oldExpire: Int64, newExpire: Int64, storedKey: ByteBuffer?, bytesDelta: Int)
        case inserted(storedKey: ByteBuffer?, footprint: UInt32)
    }

    @inlinable
    static func store(in table: inout [ByteBuffer: Entry], _ key: ByteBuffer, _ value: consuming NewValue, expireAt: Int64,
                      keepTTL: Bool, access: AccessClock) -> SetOutcome {
        if let index = table.index(forKey: key) {
            let (oldExpire, newExpire, delta) = replace(&table.values[index], with: value, expireAt: expireAt,
                                                        keepTTL: keepTTL, access: access)
            let gainedExpiry = oldExpire == 0 && newExpire != 0
            return .replaced(oldExpire: oldExpire, newExpire: newExpire, storedKey: gainedExpiry ? table.keys[index] : nil,
                             bytesDelta: delta)
        }
        let stored = key.owned()
        let fresh: Value
        switch consume value {
        case .value(let v): fresh = v
        case .copyOf(let bytes): fresh = .string(ByteBufferAllocator().buffer(bytes: bytes))
        }
        var entry = Entry(value: fresh, expireAt: expireAt, lastAccess: access.initial)
        entry.footprint = Footprint.stored(entry.value)
        let footprint = entry.footprint
        table[stored] = entry
        return .inserted(storedKey: expireAt != 0 ? stored : nil, footprint: footprint)
    }

    /// Replaces the value in place, reading the old expiry in the same access (reading it through
    /// the dictionary's `values` getter first copied the whole entry: a retain and a release).
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

    /// See `setString`: reuse the stored string's buffer when that is free of cost and of waste.
    @inlinable
    static func overwriteString(_ value: inout Value, with bytes: UnsafeRawBufferPointer) {
        guard case .string = value, case .string(var buffer) = value.vacate() else {
            value = .string(ByteBufferAllocator().buffer(bytes: bytes))
            return
        }
        // `buffer` is now the only reference (or shared with a snapshot, which ByteBuffer copies for).
        buffer.overwrite(copying: bytes)
        value = .string(buffer)
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
        let t = table ?? Database.table(key)
        if let index = tables[t].index(forKey: key) {
            // Swap the entry out for a placeholder, so `entry` holds the only reference to the
            // collection (mutated in place, not copied) and no reference count changes hands.
            let taken = Database.takeEntry(&tables[t].values[index])
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
                tables[t].values[index] = consume updated
                if oldExpire != 0 && newExpire == 0 { volatile.remove(key); accountVolatile() }
                if oldExpire == 0 && newExpire != 0 { volatile.insert(tables[t].keys[index]); accountVolatile() }
            } else {
                tables[t].remove(at: index)
                count -= 1
                accountRemove(keyLength: key.readableBytes, footprint: oldFootprint)
                if oldExpire != 0 { volatile.remove(key); accountVolatile() }
                releaseIfEmpty(table: t)
            }
            return result
        }
        var entry: Entry? = nil
        let result = body(&entry)
        if var entry {
            let stored = key.owned()
            entry.footprint = Footprint.stored(entry.value)
            entry.lastAccess = access.initial
            let capacityBefore = tables[t].capacity
            tables[t][stored] = entry
            count += 1
            accountInsert(keyLength: key.readableBytes, footprint: entry.footprint, table: t, capacityBefore: capacityBefore)
            if entry.expireAt != 0 { volatile.insert(stored); accountVolatile() }
        }
        return result
    }

    /// Adds a key that must not exist yet, storing `key` itself (the RDB loader hands over
    /// buffers it allocated for exactly this key). Returns false, changing nothing, on a duplicate.
    public mutating func insertNew(_ key: ByteBuffer, _ entry: Entry) -> Bool {
        let t = Database.table(key)
        var entry = entry
        entry.footprint = Footprint.stored(entry.value)
        let capacityBefore = tables[t].capacity
        guard tables[t].updateValue(entry, forKey: key) == nil else { return false }
        count += 1
        accountInsert(keyLength: key.readableBytes, footprint: entry.footprint, table: t, capacityBefore: capacityBefore)
        if entry.expireAt != 0 { volatile.insert(key); accountVolatile() }
        return true
    }

    @discardableResult
    public mutating func remove(_ key: ByteBuffer, table: Int? = nil) -> Entry? {
        let t = table ?? Database.table(key)
        guard let removed = tables[t].removeValue(forKey: key) else { return nil }
        count -= 1
        accountRemove(keyLength: key.readableBytes, footprint: removed.footprint)
        if removed.expireAt != 0 { volatile.remove(key); accountVolatile() }
        releaseIfEmpty(table: t)
        return removed
    }

    /// Sets or clears (0) the expiry of an existing key. Returns false when the key is missing.
    @discardableResult
    public mutating func setExpire(_ key: ByteBuffer, _ expireAt: Int64, table: Int? = nil) -> Bool {
        let t = table ?? Database.table(key)
        guard let index = tables[t].index(forKey: key) else { return false }
        let old = tables[t].values[index].expireAt
        tables[t].values[index].expireAt = expireAt
        if old == 0 && expireAt != 0 { volatile.insert(tables[t].keys[index]); accountVolatile() }
        if old != 0 && expireAt == 0 { volatile.remove(key); accountVolatile() }
        return true
    }

    /// Finds the entry and records the access (OBJECT IDLETIME, OBJECT FREQ) with a single hash
    /// lookup. The LRU clock has seconds resolution, so most reads find it unchanged and write
    /// nothing (which also spares a snapshot-shared table from being copied by a read).
    public mutating func accessEntry(_ key: ByteBuffer, access: AccessClock, table: Int? = nil) -> Entry? {
        let t = table ?? Database.table(key)
        guard let index = tables[t].index(forKey: key) else { return nil }
        let old = tables[t].values[index].lastAccess
        let new = access.touched(old)
        if old != new {
            tables[t].values[index].lastAccess = new
        }
        return tables[t].values[index]
    }

    public mutating func removeAll() {
        self = Database()
    }

    public func randomVolatileKey<G: RandomNumberGenerator>(using generator: inout G) -> ByteBuffer? {
        volatile.randomKey(using: &generator)
    }

    /// Up to `n` keys for eviction to weigh, handed to `body` with their access field and expiry.
    /// The key comes as a function, called only for a key worth keeping: copying a key out of
    /// the table retains its storage, a cache miss per sample.
    /// Any key: a run of consecutive keys from a random place in a random table (Redis's
    /// `dictGetSomeKeys` takes a run from a random bucket the same way: one random walk, then
    /// cheap steps). Keys with an expiry: random picks from the volatile index.
    public func sampleKeys<G: RandomNumberGenerator>(_ n: Int, volatileOnly: Bool, using generator: inout G,
                                                     _ body: (_ key: () -> ByteBuffer, _ lastAccess: UInt32, _ expireAt: Int64) -> Void) {
        if volatileOnly {
            for _ in 0..<min(n, volatile.count) {
                guard let key = volatile.randomKey(using: &generator) else { return }
                let t = Database.table(key)
                if let index = tables[t].index(forKey: key) {
                    body({ key }, tables[t].values[index].lastAccess, tables[t].values[index].expireAt)
                }
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
            let table = tables[t]
            guard !table.isEmpty else { continue }
            var index = table.startIndex
            if first {
                // The walk to a random offset is the one linear step.
                table.formIndex(&index, offsetBy: Int.random(in: 0..<table.count, using: &generator))
                first = false
            }
            while index != table.endIndex && taken < n {
                body({ table.keys[index] }, table.values[index].lastAccess, table.values[index].expireAt)
                taken += 1
                table.formIndex(after: &index)
            }
        }
    }

    /// A uniformly chosen slot table, then a key in it (close enough to uniform for RANDOMKEY, as
    /// Redis's own bucket sampling is).
    public func randomKey<G: RandomNumberGenerator>(using generator: inout G) -> ByteBuffer? {
        guard count > 0 else { return nil }
        var t = Int.random(in: 0..<tables.count, using: &generator)
        while tables[t].isEmpty { t = (t + 1) % tables.count }
        let offset = Int.random(in: 0..<tables[t].count, using: &generator)
        return tables[t].keys[tables[t].keys.index(tables[t].keys.startIndex, offsetBy: offset)]
    }
}
