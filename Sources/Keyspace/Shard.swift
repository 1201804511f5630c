import Atomics
import NIOConcurrencyHelpers
import NIOCore

/// A key watched by WATCH: database number plus key.
public struct WatchedKey: Hashable, Sendable {
    public var db: Int
    public var key: ByteBuffer
    public init(db: Int, key: ByteBuffer) { self.db = db; self.key = key }
}

/// One client's WATCH session. Any shard that sees a watched key change sets `dirty`; EXEC then
/// aborts. Atomic because the writer runs on whichever event loop executed the write.
public final class WatchToken: Sendable {
    public let dirty = ManagedAtomic<Bool>(false)
    public init() {}
}

/// Counters kept per shard under its lock (no shared atomics on the hot path); INFO sums them.
public struct ShardStats: Sendable {
    public var keyspaceHits = 0
    public var keyspaceMisses = 0
    public var expiredKeys = 0
    public init() {}
}

/// A 1/64th of the keyspace, across every numbered database, behind one lock.
///
/// SAFETY: `@unchecked Sendable` because every mutable field is only read or written while
/// `lock` is held; `Keyspace.withLocks` is the only way command code reaches a shard.
public final class Shard: @unchecked Sendable {
    public let lock = NIOLock()
    public var dbs: [Database]
    /// WATCHed keys of this shard and the sessions watching them.
    public var watchers: [WatchedKey: [WatchToken]] = [:]
    public var stats = ShardStats()

    init(databases: Int) {
        dbs = Array(repeating: Database(), count: databases)
    }

    /// Marks every session watching `key` dirty (Redis's `touchWatchedKey`).
    @inlinable
    public func touchWatched(db: Int, key: ByteBuffer) {
        guard !watchers.isEmpty, let tokens = watchers[WatchedKey(db: db, key: key)] else { return }
        for token in tokens { token.dirty.store(true, ordering: .relaxed) }
    }

    /// Before FLUSHDB/FLUSHALL/SWAPDB replace the contents of database `db`: marks dirty the
    /// sessions watching a key of `db` that exists in `db` or in `other` (the database swapped in),
    /// as Redis's `touchAllWatchedKeysInDb` does. A watched key that exists in neither is unchanged.
    public func touchWatchedBeforeReplacing(db: Int, with other: Int? = nil) {
        guard !watchers.isEmpty else { return }
        for (watched, tokens) in watchers where watched.db == db {
            if dbs[db].entry(watched.key) != nil || other.map({ dbs[$0].entry(watched.key) != nil }) == true {
                for token in tokens { token.dirty.store(true, ordering: .relaxed) }
            }
        }
    }

    public func addWatcher(_ token: WatchToken, db: Int, key: ByteBuffer) {
        watchers[WatchedKey(db: db, key: key.owned()), default: []].append(token)
    }

    public func removeWatcher(_ token: WatchToken, db: Int, key: ByteBuffer) {
        let watched = WatchedKey(db: db, key: key)
        guard var tokens = watchers[watched] else { return }
        tokens.removeAll { $0 === token }
        watchers[watched] = tokens.isEmpty ? nil : tokens
    }
}

/// The whole dataset: `KeySlot.shardCount` shards, each holding its slots of every database.
///
/// Locking contract: a command locks the shards of all the keys it names, in ascending shard
/// order (so two commands can never wait on each other in a cycle), runs, and unlocks. Commands
/// that touch the whole keyspace (KEYS, FLUSHALL, DBSIZE, EXEC of such commands) lock all shards.
public final class Keyspace: Sendable {
    public let shards: [Shard]
    public let databaseCount: Int

    public static let allShardsMask: UInt64 = ~0

    public init(databases: Int = 16) {
        databaseCount = databases
        shards = (0..<KeySlot.shardCount).map { _ in Shard(databases: databases) }
    }

    @inlinable
    public func shard(for key: ByteBuffer) -> Shard { shards[KeySlot.shard(key)] }

    /// Locks the shards whose bits are set in `mask` in ascending order, runs `body`, unlocks.
    @inlinable
    public func withLocks<R>(_ mask: UInt64, _ body: () throws -> R) rethrows -> R {
        lock(mask)
        defer { unlock(mask) }
        return try body()
    }

    @inlinable
    public func lock(_ mask: UInt64) {
        var m = mask
        while m != 0 {
            let i = m.trailingZeroBitCount
            shards[i].lock.lock()
            m &= m &- 1
        }
    }

    @inlinable
    public func unlock(_ mask: UInt64) {
        var m = mask
        while m != 0 {
            let i = m.trailingZeroBitCount
            shards[i].lock.unlock()
            m &= m &- 1
        }
    }

    @inlinable
    public static func mask(for key: ByteBuffer) -> UInt64 { 1 << UInt64(KeySlot.shard(key)) }
}
