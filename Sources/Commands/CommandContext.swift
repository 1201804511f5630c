import Basics
import DequeModule
import NIOCore
import Keyspace
import RESP

/// Everything a handler needs for one invocation: its arguments, where to write the reply, the
/// calling client, and the (already locked) keyspace.
///
/// Contract for handlers:
/// - Only keys named by the command's `KeySpec` may be touched: only their shards are locked.
/// - Read through `lookup`/`read*`, which apply lazy expiry and count hits and misses.
/// - After changing a key, call `changed(key)`: it invalidates WATCH, counts the change for the
///   save rules, and wakes clients blocked on the key.
/// - Exactly one reply per invocation (a blocking command that blocks replies later).
public struct CommandContext {
    public var args: Arguments {
        // The recorded slots describe the previous arguments.
        didSet { knownKeyCount = 0 }
    }
    public var out: ReplyWriter
    public let keyspace: Keyspace
    public let client: ClientState
    public let server: ServerRuntime
    /// Time of the command in Unix ms, fixed for its whole run (and for a whole EXEC), so a key
    /// cannot expire halfway through.
    public var now: Int64
    /// Selected database.
    public var db: Int
    /// Shards this invocation holds (checked in debug builds).
    public var lockedMask: UInt64 = 0
    /// Keys changed by this invocation that blocked clients may be waiting on.
    public var readyKeys: [WatchedKey] = []
    /// Changes not yet added to `rdb_changes_since_last_save` (published once per batch).
    public var dirty = 0
    /// Every change this context ever recorded (never reset): the command path compares it
    /// before and after a handler to know whether the command changed data.
    public private(set) var changes = 0
    /// Commands run and not yet added to `total_commands_processed` (published once per batch).
    public var calls = 0
    /// The command whose handler is running (set by `ServerRuntime.call`). Commands live as long
    /// as the process, so no reference count is kept.
    public unowned(unsafe) var executing: Command? = nil
    /// What the commands run under the current locks propagated, waiting to be handed to the
    /// sink before the locks are released.
    public var propagated: [PropagatedCommand] = []
    /// Set when the running handler recorded its own propagated form (or none).
    public var propagationRecorded = false
    /// The command that ran propagates as its own arguments (`args`, database `propagatedDB`)
    /// and nothing else does: the sink encodes them in place (`CommandPath.call`).
    public var propagatesOwnArguments = false
    public var propagatedDB = 0
    /// The highest durability ticket the propagation sink gave this context's writes: its
    /// replies wait until the sink releases it (see `PropagationSink.propagate`). The connection
    /// resets it once its replies have left.
    public var durabilityTicket: UInt64 = 0
    /// True when run from EXEC: blocking commands must not block.
    public var inTransaction = false
    /// Set when a blocked client is being served: a blocking command that still finds nothing
    /// sets `stillBlocked` instead of replying.
    public var servingBlocked = false
    public var stillBlocked = false
    /// Set by a blocking command that blocked: the connection waits for the waiter's reply.
    public var blockedWaiter: BlockedWaiter?
    /// The last top-level command this client looked up (one-entry lookup cache).
    public var lastCommand: Unmanaged<Command>? = nil
    /// The last command dispatched (CLIENT LIST `cmd=`). Commands live as long as the process
    /// (the table is static), so no reference count is kept: storing a strong reference cost an
    /// atomic retain and release per command.
    public unowned(unsafe) var lastRun: Command? = nil
    public var lastCommandName: String { lastRun?.fullName ?? "NULL" }
    /// Set by QUIT and CLIENT KILL of oneself: close once the reply is written.
    public var closeAfterReply = false
    /// Bytes the keyspace grew (or shrank) by through this context since the counters were last
    /// published: `publishCounters` adds it to `MemoryLimit.used`, so the memory check sees a
    /// pipeline's writes at once rather than at the gauge's next measurement.
    public var memoryDelta = 0
    /// Set with `DispatchOutcome.postponed`: when the CLIENT PAUSE holding the command ends.
    public var postponedUntil: Int64 = 0
    /// False for the AOF loader's replay: INFO commandstats count what clients (and a master)
    /// sent, as in Redis, where loading does not go through `call()`.
    public var recordsStatistics = true
    /// Random numbers for the LFU counter's increments (`accessClock`).
    public var lfuRandom = SplitMix64(seed: 0)

    /// Prepares the context for the next command of the same client.
    @inlinable
    public mutating func begin(now: Int64) {
        self.now = now
        self.db = client.db
        self.stillBlocked = false
        self.servingBlocked = false
        self.inTransaction = false
    }

    public init(args: Arguments, out: ReplyWriter, keyspace: Keyspace, client: ClientState,
                server: ServerRuntime, now: Int64, db: Int) {
        self.args = args
        self.out = out
        self.keyspace = keyspace
        self.client = client
        self.server = server
        self.now = now
        self.db = db
        self.lfuRandom = SplitMix64(seed: UInt64(truncatingIfNeeded: now))
    }

    // MARK: key placement

    /// A key argument whose slot is known: its bytes' address and length, and the slot.
    @usableFromInline struct KnownKey {
        @usableFromInline var address: UnsafeRawPointer?
        @usableFromInline var length: Int
        @usableFromInline var slot: Int
        @inlinable init(address: UnsafeRawPointer?, length: Int, slot: Int) {
            self.address = address
            self.length = length
            self.slot = slot
        }
    }

    /// Slots of the key arguments, in argument order. The dispatcher records them while it
    /// computes the lock mask, so a handler's lookups and writes do not hash a key again. A key
    /// is recognised by address and length: the arguments stay alive for the whole command, so a
    /// key with an argument's address and length is that argument's bytes (and no reference to
    /// it needs to be kept, which would cost a retain and a release per command).
    @usableFromInline var knownKeys: [KnownKey] = []
    /// How many entries of `knownKeys` describe the current arguments. Resetting a count instead
    /// of emptying the array: `removeAll(keepingCapacity:)` took a ~80-instruction generic path.
    @usableFromInline var knownKeyCount = 0
    /// Where the last key was found in `knownKeys`: handlers visit keys in argument order.
    @usableFromInline var keyHint = 0

    /// The key's slot (see `KeySlot`), hashed at most once per key argument per command.
    @inlinable
    public mutating func slot(of key: ByteBuffer) -> Int {
        let n = knownKeyCount
        if n > 0 {
            let length = key.readableBytes
            let address = key.withUnsafeReadableBytes { $0.baseAddress }
            var i = keyHint < n ? keyHint : 0
            // The hint, then the next key (handlers visit keys in order), then one more.
            for _ in 0..<min(n, 3) {
                if knownKeys[i].address == address && knownKeys[i].length == length {
                    keyHint = i
                    return knownKeys[i].slot
                }
                i = i + 1 < n ? i + 1 : 0
            }
        }
        return KeySlot.slot(key)
    }

    /// Records the slot of key argument `index` and returns its shard's lock bit.
    @inlinable
    mutating func recordKey(at index: Int) -> UInt64 {
        // Read the bytes in place: making the argument a ByteBuffer would retain the receive
        // buffer's storage (an atomic increment and decrement per key argument).
        let known = args.withUnsafeBytes(index) { raw in
            KnownKey(address: raw.baseAddress, length: raw.count, slot: KeySlot.slot(raw: raw))
        }
        let s = known.slot
        if knownKeyCount < knownKeys.count { knownKeys[knownKeyCount] = known } else { knownKeys.append(known) }
        knownKeyCount += 1
        return 1 << UInt64(KeySlot.shard(ofSlot: s))
    }

    /// The shards `command` must hold for the arguments in `args`, recording each key
    /// argument's slot on the way (see `knownKeys`). The one lock-mask computation: the command
    /// path uses it for every command, EXEC for each queued one.
    @inlinable
    public mutating func keyMask(of command: Command) -> UInt64 {
        knownKeyCount = 0
        keyHint = 0
        if let keyIndex = command.singleKeyIndex {
            // The common single-key case: no key spec walk.
            return keyIndex < args.count ? recordKey(at: keyIndex) : 0
        }
        let flags = command.flags
        if flags.contains(.noKeyspace) { return 0 }
        if flags.contains(.wholeKeyspace) { return Keyspace.allShardsMask }
        if flags.contains(.runsQueued) { return queuedKeyMask() }
        return keyMask(keys: command.keys)
    }

    /// EXEC's shards: those of every queued command and of every watched key.
    @usableFromInline mutating func queuedKeyMask() -> UInt64 {
        var mask: UInt64 = 0
        let own = args
        for queued in client.multiQueue ?? [] {
            args = queued.args
            mask |= keyMask(of: queued.command)
        }
        args = own
        for w in client.watchedKeys { mask |= Keyspace.mask(for: w.key) }
        return mask
    }

    /// Records the slot of every key argument `keys` names and returns the shards to lock.
    @usableFromInline mutating func keyMask(keys: KeySpec) -> UInt64 {
        var mask: UInt64 = 0
        if let range = keys.rangePositions(argumentCount: args.count) {
            // Walked as a stride: `positions(in:)` would allocate an array per command (MSET, MGET, DEL).
            for p in range { mask |= recordKey(at: p) }
            return mask
        }
        for p in keys.positions(in: args) where p < args.count {
            mask |= recordKey(at: p)
        }
        return mask
    }

    /// The key's shard and its table index inside the shard's databases.
    @inlinable
    mutating func place(_ key: ByteBuffer) -> (shard: Shard, table: Int) {
        let s = slot(of: key)
        let index = KeySlot.shard(ofSlot: s)
        assert(lockedMask & (1 << UInt64(index)) != 0, "key \(key.string) touched without its shard lock")
        return (keyspace.shards[index], KeySlot.localIndex(ofSlot: s))
    }

    @inlinable
    mutating func shard(_ key: ByteBuffer) -> Shard { place(key).shard }

    // MARK: reading

    /// The live entry for `key`, deleting it first if it has expired. Does not count hits.
    public mutating func entry(_ key: ByteBuffer) -> Entry? {
        let (shard, table) = place(key)
        guard let entry = shard.dbs[db].entry(key, table: table) else { return nil }
        if Database.isExpired(entry, now: now) {
            if keepsExpiredKeys { return client.peer == .master ? entry : nil }
            expire(key, in: shard)
            return nil
        }
        return entry
    }

    /// On a replica keys are not expired here: the master's DEL does that, in stream order. Its
    /// own commands see every key; other clients' reads do not see logically expired ones, as
    /// in Redis. Only read on the (rare) expired path.
    private var keepsExpiredKeys: Bool {
        server.replicationRefusals.load(ordering: .relaxed) & ReplicationRefusal.keepsExpiredKeys != 0
    }

    /// The value for reading: counts a keyspace hit or miss and records the access, as Redis's
    /// `lookupKeyRead`.
    public mutating func lookup(_ key: ByteBuffer) -> Value? {
        let (shard, table) = place(key)
        if let entry = shard.dbs[db].accessEntry(key, access: accessClock(), table: table) {
            if Database.isExpired(entry, now: now) && !(keepsExpiredKeys && client.peer == .master) {
                if !keepsExpiredKeys { expire(key, in: shard) }
            } else {
                shard.stats.keyspaceHits += 1
                return entry.value
            }
        }
        shard.stats.keyspaceMisses += 1
        notify(.keyMiss, "keymiss", key)
        return nil
    }

    /// Seconds-resolution access clock derived from the command's time.
    @inlinable
    public var clock: UInt32 { UInt32(truncatingIfNeeded: now / 1000) }

    /// What this command's accesses write into `Entry.lastAccess` (LRU seconds, or the LFU
    /// word under an LFU policy, whose increment needs a random number).
    @inlinable
    public mutating func accessClock() -> AccessClock {
        server.memory.accessClock(nowMillis: now, random: UInt32(truncatingIfNeeded: lfuRandom.next() >> 32))
    }

    /// Runs a change to `shard`'s database `db` and adds what it did to the memory in use to
    /// `memoryDelta`.
    @inline(__always)
    mutating func trackingMemory<R>(of shard: Shard, _ body: () -> R) -> R {
        let before = shard.dbs[db].memory
        let result = body()
        memoryDelta &+= shard.dbs[db].memory &- before
        return result
    }

    public mutating func exists(_ key: ByteBuffer) -> Bool { entry(key) != nil }

    private mutating func expire(_ key: ByteBuffer, in shard: Shard) {
        // CLIENT PAUSE keeps the dataset as it is: the key reads as missing but stays.
        if server.pause.isActive { return }
        let (db, table) = (self.db, place(key).table)
        trackingMemory(of: shard) { _ = shard.dbs[db].remove(key, table: table) }
        recordExpiry(key, in: shard)
    }

    /// The side effects of deleting an expired key (the deletion itself already happened).
    private mutating func recordExpiry(_ key: ByteBuffer, in shard: Shard) {
        shard.stats.expiredKeys += 1
        shard.touchWatched(db: db, key: key)
        notify(.expired, "expired", key)
        if server.propagating {
            propagated.append(PropagatedCommand(db: db, args: [ByteBuffer(string: "DEL"), key.owned()]))
        }
    }

    /// Database.modify with lazy expiry folded into the same lookup: an expired entry is handed
    /// to `body` as missing (and counted as expired), so a write costs one hash lookup, not two.
    private mutating func modifyLive<R>(_ key: ByteBuffer, _ body: (inout Entry?) -> R) -> R {
        let (shard, table) = place(key)
        let now = self.now
        var expired = false
        // A pointer, copied without reference counting (see `keepsExpiredKeys`).
        let refusals = server.replicationRefusals
        let fromMaster = client.peer == .master
        let (db, access) = (self.db, accessClock())
        let result = trackingMemory(of: shard) { shard.dbs[db].modify(key, table: table, access: access) { slot -> R in
            // Only the expiry is read: binding the entry would copy (retain) its value.
            if let expireAt = slot?.expireAt, expireAt != 0 && expireAt <= now,
               !(fromMaster && refusals.load(ordering: .relaxed) & ReplicationRefusal.keepsExpiredKeys != 0) {
                slot = nil
                expired = true
            }
            return body(&slot)
        } }
        if expired { recordExpiry(key, in: shard) }
        return result
    }

    /// Typed read: `.missing`, `.wrongType` (nothing replied yet) or the value.
    public mutating func read<K>(_ key: ByteBuffer, as kind: ValueKind<K>) -> Access<K.Payload> {
        guard let value = lookup(key) else { return .missing }
        guard let typed = K.extract(value) else { return .wrongType }
        return .found(typed)
    }

    // MARK: writing

    /// Replaces the key's value (expiry cleared unless `keepTTL`) and records the change.
    public mutating func set(_ key: ByteBuffer, _ value: consuming Value, expireAt: Int64 = 0, keepTTL: Bool = false) {
        store(key, .value(value), expireAt: expireAt, keepTTL: keepTTL)
    }

    /// `set` of a string value copied straight from argument `index` of the request: overwriting
    /// a string reuses its buffer (see `Database.setString`).
    public mutating func setString(_ key: ByteBuffer, copyingArgument index: Int, expireAt: Int64 = 0, keepTTL: Bool = false) {
        store(key, .copyOf(args.unsafeBytes(index)), expireAt: expireAt, keepTTL: keepTTL)
    }

    private mutating func store(_ key: ByteBuffer, _ value: consuming Database.NewValue, expireAt: Int64, keepTTL: Bool) {
        let (shard, table) = place(key)
        if keepTTL, let old = shard.dbs[db].entry(key, table: table), Database.isExpired(old, now: now),
           !(keepsExpiredKeys && client.peer == .master) {
            expire(key, in: shard)
        }
        if notifiesNewKeys && entry(key) == nil { notify(.newKey, "new", key) }
        // (Not through `trackingMemory`: a closure cannot consume `value`.)
        let before = shard.dbs[db].memory
        shard.dbs[db].store(key, value, expireAt: expireAt, keepTTL: keepTTL, access: accessClock(), table: table)
        memoryDelta &+= shard.dbs[db].memory &- before
        changed(key)
    }

    /// Deletes the key; true when it existed (and had not expired).
    @discardableResult
    public mutating func delete(_ key: ByteBuffer) -> Bool {
        guard entry(key) != nil else { return false }
        let (shard, table) = place(key)
        let db = self.db
        trackingMemory(of: shard) { _ = shard.dbs[db].remove(key, table: table) }
        changed(key)
        return true
    }

    /// Mutates a collection in place. With `create`, a missing key starts as the empty
    /// collection; a collection left empty is deleted (Redis never stores empty collections).
    /// Does not call `changed`: the handler knows whether anything changed.
    public mutating func modify<K, R>(_ key: ByteBuffer, as kind: ValueKind<K>, create: Bool,
                                      _ body: (inout K.Payload) -> R) -> Access<R> {
        // (The access stamp and the memory estimate are the database's job: `Database.modify`.)
        var created = false
        let result = modifyLive(key) { slot -> Access<R> in
            guard slot != nil else {
                guard create else { return .missing }
                var fresh = K.makeEmpty()
                let result = body(&fresh)
                if !K.isEmpty(fresh) {
                    slot = Entry(value: K.wrap(fresh))
                    created = true
                }
                return .found(result)
            }
            // The collection is moved out of the entry (`slot!.` accesses it in place; binding the
            // entry to a local would copy it, and keep a second reference to the collection
            // alive), so `body` holds the only reference and mutates in place; then moved back.
            guard var typed = K.take(&slot!.value) else { return .wrongType }
            let result = body(&typed)
            if K.isEmpty(typed) {
                slot = nil
            } else {
                slot!.value = K.wrap(consume typed)
            }
            return .found(result)
        }
        if created && notifiesNewKeys { notify(.newKey, "new", key) }
        return result
    }

    /// Mutates the key's entry in place with one lookup (after lazy expiry): nil for a missing key;
    /// leaving nil deletes it. For commands that need the entry itself (its expiry, or to tell a
    /// missing key from an empty value). Does not call `changed`.
    public mutating func modifyEntry<R>(_ key: ByteBuffer, _ body: (inout Entry?) -> R) -> R {
        modifyLive(key, body)
    }

    /// Sets the expiry of an existing key (0 clears it) and records the change.
    @discardableResult
    public mutating func setExpire(_ key: ByteBuffer, at expireAt: Int64) -> Bool {
        guard entry(key) != nil else { return false }
        let (shard, table) = place(key)
        shard.dbs[db].setExpire(key, expireAt, table: table)
        changed(key)
        return true
    }

    /// Records a change to `key`: WATCH invalidation, the dirty counter, blocked-client wake-up.
    public mutating func changed(_ key: ByteBuffer, count: Int = 1) {
        let shard = shard(key)
        shard.touchWatched(db: db, key: key)
        recordChanges(count)
        if server.blocking.hasWaiters {
            readyKeys.append(WatchedKey(db: db, key: key))
        }
    }

    /// Counts `n` changes to the data (for the save rules, and so that the command path knows
    /// the command wrote) without naming a key: FLUSHDB, FLUSHALL, SWAPDB. `changed` calls it.
    public mutating func recordChanges(_ n: Int) {
        dirty += n
        changes &+= n
    }

    // MARK: replies shared by many commands

    public mutating func replyWrongType() { out.error(TypeError.wrongType) }
    public mutating func replySyntaxError() { out.error("ERR syntax error") }
    public mutating func replyNotInteger() { out.error("ERR value is not an integer or out of range") }
    public mutating func replyNotFloat() { out.error("ERR value is not a valid float") }

    /// A HELP subcommand's reply: one status line per line of text, as Redis sends them.
    public mutating func replyHelp(_ lines: [String]) {
        out.array(lines.count)
        for line in lines { out.simple(line) }
    }

    /// Argument `i` as an integer, or replies the standard error and returns nil.
    public mutating func integerArgument(_ i: Int) -> Int? {
        guard let v = args.withUnsafeBytes(i, { parseStrictInt64($0) }).map({ Int($0) }) else { replyNotInteger(); return nil }
        return v
    }

    public var commandName: String { args.isEmpty ? "" : args[0].string.lowercased() }
}

/// Result of a typed access.
public enum Access<T> {
    case missing
    case wrongType
    case found(T)
}

/// What a command answers for a missing key, for `CommandContext.found(_:orReply:)`.
public enum MissingKeyReply {
    case null, zero, emptyArray, emptyMap, emptySet, nullArray
    /// The command has more to do for a missing key: nothing is replied.
    case nothing
}

extension CommandContext {
    /// The common shape of a typed access, in one place: the found value, or nil once the reply
    /// for a missing key (`missing`) or WRONGTYPE has been written.
    ///
    ///     guard let hash = ctx.found(ctx.read(key, as: .hash), orReply: .zero) else { return }
    @inlinable @inline(__always)
    public mutating func found<T>(_ access: consuming Access<T>, orReply missing: MissingKeyReply) -> T? {
        switch access {
        case .found(let value):
            return value
        case .wrongType:
            replyWrongType()
            return nil
        case .missing:
            switch missing {
            case .null: out.null()
            case .zero: out.integer(0)
            case .emptyArray: out.array(0)
            case .emptyMap: out.map(0)
            case .emptySet: out.set(0)
            case .nullArray: out.nullArray()
            case .nothing: break
            }
            return nil
        }
    }
}

extension ReplyWriter {
    /// A stored collection element as a bulk string.
    @inlinable
    public mutating func bulk(_ value: CompactBytes) {
        value.withUnsafeBytes { bulk(raw: $0) }
    }
}
