import Atomics
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shard's mutex: a plain pthread mutex at a fixed address, owned by the `Keyspace`.
/// Locking is on every command's path; reaching the mutex through a pointer instead of a class
/// reference means no reference counting there.
public struct ShardMutex: @unchecked Sendable {
    // SAFETY: the pointee is initialised by `Keyspace.init` and destroyed by its deinit, which
    // runs only when no command can hold a reference to the keyspace any more.
    @usableFromInline let pointer: UnsafeMutablePointer<pthread_mutex_t>

    @inlinable public func lock() { pthread_mutex_lock(pointer) }
    @inlinable public func unlock() { pthread_mutex_unlock(pointer) }

    @inlinable
    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    @inlinable
    public func withLockVoid(_ body: () throws -> Void) rethrows {
        try withLock(body)
    }
}

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

/// The mutable contents of one shard; lives in memory owned by the `Keyspace`.
public struct ShardState {
    public var dbs: [Database]
    /// WATCHed keys of this shard and the sessions watching them.
    public var watchers: [WatchedKey: [WatchToken]] = [:]
    public var stats = ShardStats()

    init(databases: Int) {
        dbs = Array(repeating: Database(), count: databases)
    }
}

/// A 1/64th of the keyspace, across every numbered database, behind one lock.
///
/// A handle (two pointers) rather than a class: every command reaches one or more shards, and
/// passing a class reference around costs an atomic retain and release each time it is copied,
/// which profiles of pipelined writes showed as a large share of the server's time. The state
/// lives in memory the `Keyspace` allocates once and frees in its deinit, so a handle must not
/// outlive its keyspace (commands reach shards only through a keyspace they hold).
///
/// SAFETY: `@unchecked Sendable` because every mutable field is only read or written while
/// `lock` is held: commands reach shards only under the locks the dispatcher takes for them
/// (`Keyspace.lock(_:)`), other code through `lock.withLock`.
public struct Shard: @unchecked Sendable {
    public let lock: ShardMutex
    @usableFromInline let state: UnsafeMutablePointer<ShardState>

    init(lock: ShardMutex, state: UnsafeMutablePointer<ShardState>) {
        self.lock = lock
        self.state = state
    }

    @inlinable
    public var dbs: [Database] {
        _read { yield state.pointee.dbs }
        nonmutating _modify { yield &state.pointee.dbs }
    }

    @inlinable
    public var watchers: [WatchedKey: [WatchToken]] {
        _read { yield state.pointee.watchers }
        nonmutating _modify { yield &state.pointee.watchers }
    }

    @inlinable
    public var stats: ShardStats {
        _read { yield state.pointee.stats }
        nonmutating _modify { yield &state.pointee.stats }
    }

    /// Marks every session watching `key` dirty (Redis's `touchWatchedKey`).
    @inlinable
    public func touchWatched(db: Int, key: ByteBuffer) {
        guard !state.pointee.watchers.isEmpty, let tokens = watchers[WatchedKey(db: db, key: key)] else { return }
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
