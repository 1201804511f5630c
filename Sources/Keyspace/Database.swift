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

    public init() {
        tables = Array(repeating: [:], count: KeySlot.slotsPerShard)
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
    public mutating func set(_ key: ByteBuffer, _ value: consuming Value, expireAt: Int64 = 0, keepTTL: Bool = false, clock: UInt32 = 0,
                             table: Int? = nil) -> Bool {
        store(key, .value(value), expireAt: expireAt, keepTTL: keepTTL, clock: clock, table: table)
    }

    /// `set` for a string value given as bytes to copy (a request argument). When the key already
    /// holds a string whose buffer only this entry references and that is not much larger, the
    /// bytes are written into that buffer: overwriting a key (SET, MSET of an existing key)
    /// then allocates and frees nothing, where a fresh copy costs two allocations (a `ByteBuffer`'s
    /// storage object and its bytes) and freeing the old value two more. A buffer shared with a
    /// snapshot is copied on write by `ByteBuffer` itself, so the snapshot keeps the old bytes.
    @discardableResult
    public mutating func setString(_ key: ByteBuffer, copying bytes: ByteBuffer, expireAt: Int64 = 0, keepTTL: Bool = false,
                                   clock: UInt32 = 0, table: Int? = nil) -> Bool {
        bytes.withUnsafeReadableBytes { store(key, .copyOf($0), expireAt: expireAt, keepTTL: keepTTL, clock: clock, table: table) }
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
                               clock: UInt32 = 0, table: Int? = nil) -> Bool {
        let t = table ?? Database.table(key)
        // One access to the slot's dictionary for the lookup and the write (reading
        // `tables[t]` first and writing it after cost a reference count on its storage each time).
        let outcome = Database.store(in: &tables[t], key, value, expireAt: expireAt, keepTTL: keepTTL, clock: clock)
        switch outcome {
        case let .replaced(oldExpire, newExpire, storedKey):
            if oldExpire != 0 && newExpire == 0 { volatile.remove(key) }
            if let storedKey { volatile.insert(storedKey) }
            return false
        case let .inserted(storedKey):
            count += 1
            if let storedKey { volatile.insert(storedKey) }
            return true
        }
    }

    @usableFromInline
    enum SetOutcome {
        /// `storedKey` is the dictionary's own key when the entry just gained an expiry (only
        /// then is it needed, for the volatile-key index; copying it costs a reference count).
        case replaced(oldExpire: Int64, newExpire: Int64, storedKey: ByteBuffer?)
        case inserted(storedKey: ByteBuffer?)
    }

    @inlinable
    static func store(in table: inout [ByteBuffer: Entry], _ key: ByteBuffer, _ value: consuming NewValue, expireAt: Int64,
                      keepTTL: Bool, clock: UInt32) -> SetOutcome {
        if let index = table.index(forKey: key) {
            let (oldExpire, newExpire) = replace(&table.values[index], with: value, expireAt: expireAt,
                                                 keepTTL: keepTTL, clock: clock)
            let gainedExpiry = oldExpire == 0 && newExpire != 0
            return .replaced(oldExpire: oldExpire, newExpire: newExpire, storedKey: gainedExpiry ? table.keys[index] : nil)
        }
        let stored = key.owned()
        let fresh: Value
        switch consume value {
        case .value(let v): fresh = v
        case .copyOf(let bytes): fresh = .string(ByteBufferAllocator().buffer(bytes: bytes))
        }
        table[stored] = Entry(value: fresh, expireAt: expireAt, lastAccess: clock)
        return .inserted(storedKey: expireAt != 0 ? stored : nil)
    }

    /// Replaces the value in place, reading the old expiry in the same access (reading it through
    /// the dictionary's `values` getter first copied the whole entry: a retain and a release).
    @inlinable
    static func replace(_ entry: inout Entry, with value: consuming NewValue, expireAt: Int64, keepTTL: Bool,
                        clock: UInt32) -> (old: Int64, new: Int64) {
        let old = entry.expireAt
        switch consume value {
        case .value(let v): entry.value = v
        case .copyOf(let bytes): overwriteString(&entry.value, with: bytes)
        }
        entry.lastAccess = clock
        if !keepTTL { entry.expireAt = expireAt }
        return (old, entry.expireAt)
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
    public mutating func modify<R>(_ key: ByteBuffer, table: Int? = nil, _ body: (inout Entry?) -> R) -> R {
        let t = table ?? Database.table(key)
        if let index = tables[t].index(forKey: key) {
            // Swap the entry out for a placeholder, so `entry` holds the only reference to the
            // collection (mutated in place, not copied) and no reference count changes hands.
            let taken = Database.takeEntry(&tables[t].values[index])
            let oldExpire = taken.expireAt
            // `consume`: a plain copy would keep `taken` (and a second reference to the
            // collection) alive until the end of the scope, so `body` would copy the collection.
            var entry: Entry? = consume taken
            let result = body(&entry)
            if let updated = entry.take() {
                let newExpire = updated.expireAt
                tables[t].values[index] = consume updated
                if oldExpire != 0 && newExpire == 0 { volatile.remove(key) }
                if oldExpire == 0 && newExpire != 0 { volatile.insert(tables[t].keys[index]) }
            } else {
                tables[t].remove(at: index)
                count -= 1
                if oldExpire != 0 { volatile.remove(key) }
            }
            return result
        }
        var entry: Entry? = nil
        let result = body(&entry)
        if let entry {
            let stored = key.owned()
            tables[t][stored] = entry
            count += 1
            if entry.expireAt != 0 { volatile.insert(stored) }
        }
        return result
    }

    /// Adds a key that must not exist yet, storing `key` itself (the RDB loader hands over
    /// buffers it allocated for exactly this key). Returns false, changing nothing, on a duplicate.
    public mutating func insertNew(_ key: ByteBuffer, _ entry: Entry) -> Bool {
        let t = Database.table(key)
        guard tables[t].updateValue(entry, forKey: key) == nil else { return false }
        count += 1
        if entry.expireAt != 0 { volatile.insert(key) }
        return true
    }

    @discardableResult
    public mutating func remove(_ key: ByteBuffer, table: Int? = nil) -> Entry? {
        let t = table ?? Database.table(key)
        guard let removed = tables[t].removeValue(forKey: key) else { return nil }
        count -= 1
        if removed.expireAt != 0 { volatile.remove(key) }
        return removed
    }

    /// Sets or clears (0) the expiry of an existing key. Returns false when the key is missing.
    @discardableResult
    public mutating func setExpire(_ key: ByteBuffer, _ expireAt: Int64, table: Int? = nil) -> Bool {
        let t = table ?? Database.table(key)
        guard let index = tables[t].index(forKey: key) else { return false }
        let old = tables[t].values[index].expireAt
        tables[t].values[index].expireAt = expireAt
        if old == 0 && expireAt != 0 { volatile.insert(tables[t].keys[index]) }
        if old != 0 && expireAt == 0 { volatile.remove(key) }
        return true
    }

    /// Finds the entry and records the access (OBJECT IDLETIME) with a single hash lookup. The
    /// clock has seconds resolution, so most reads find it unchanged and write nothing (which
    /// also spares a snapshot-shared table from being copied by a read).
    public mutating func accessEntry(_ key: ByteBuffer, clock: UInt32, table: Int? = nil) -> Entry? {
        let t = table ?? Database.table(key)
        guard let index = tables[t].index(forKey: key) else { return nil }
        if tables[t].values[index].lastAccess != clock {
            tables[t].values[index].lastAccess = clock
        }
        return tables[t].values[index]
    }

    public mutating func removeAll() {
        self = Database()
    }

    public func randomVolatileKey<G: RandomNumberGenerator>(using generator: inout G) -> ByteBuffer? {
        volatile.randomKey(using: &generator)
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
