import NIOCore

/// A point-in-time view of every database, taken without fork and without stopping writers for
/// longer than it takes to copy a few array references.
///
/// Taking one copies, per shard and database, the array of slot tables: O(1) each, because
/// Swift's collections are copy-on-write. From then on the snapshot and the live keyspace share
/// storage until a writer touches a slot: its first write copies that slot's table (tens of
/// keys), and a write to a collection value copies that value. The snapshot keeps the old
/// versions alive until it is released, which is the whole memory cost (see
/// Docs/persistence.md). No storage is ever mutated while shared, so a saving thread can read
/// the snapshot without any lock.
public struct KeyspaceSnapshot: Sendable {
    public struct Database: Sendable {
        public let index: Int
        /// The slot tables of each shard, in shard order.
        public let shards: [[KeyTable<Entry>]]
        public let keyCount: Int
        public let expiresCount: Int
    }

    /// The databases that held keys, in ascending index order.
    public let databases: [Database]
    /// Unix milliseconds when it was taken: keys already expired then are not part of it.
    public let takenAt: Int64

    public var keyCount: Int { databases.reduce(0) { $0 + $1.keyCount } }

    /// Every key of a database with its entry, skipping keys expired at `takenAt`. Order: by
    /// shard, then slot, then the dictionary's order.
    public func forEachEntry(in db: Database, _ body: (CompactBytes, Entry) throws -> Void) rethrows {
        for tables in db.shards {
            for table in tables where !table.isEmpty {
                for (key, entry) in table where entry.expireAt == 0 || entry.expireAt > takenAt {
                    try body(key, entry)
                }
            }
        }
    }
}

extension Keyspace {
    /// Takes a snapshot. The caller must hold every shard lock (a command flagged
    /// `wholeKeyspace` does); `snapshot(now:)` takes them itself.
    public func snapshotHoldingLocks(now: Int64) -> KeyspaceSnapshot {
        var databases: [KeyspaceSnapshot.Database] = []
        for db in 0..<databaseCount {
            var keys = 0, expires = 0
            for shard in shards {
                keys += shard.dbs[db].count
                expires += shard.dbs[db].expiresCount
            }
            guard keys > 0 else { continue }
            databases.append(.init(index: db, shards: shards.map { $0.dbs[db].tables }, keyCount: keys, expiresCount: expires))
        }
        return KeyspaceSnapshot(databases: databases, takenAt: now)
    }

    public func snapshot(now: Int64) -> KeyspaceSnapshot {
        lock(Keyspace.allShardsMask)
        defer { unlock(Keyspace.allShardsMask) }
        return snapshotHoldingLocks(now: now)
    }

    /// Replaces every database with `loaded`'s (a scratch keyspace a load filled), telling the
    /// clients that watch keys. The caller holds every shard lock.
    public func replaceContents(with loaded: Keyspace) {
        // Shard handles point into the keyspace's memory: keep `loaded` alive while they are used.
        withExtendedLifetime(loaded) {
            for (live, new) in zip(shards, loaded.shards) {
                for db in 0..<databaseCount {
                    live.touchWatchedBeforeReplacing(db: db)
                    live.dbs[db] = new.dbs[db]
                }
            }
        }
    }

    /// Adds a loaded key. The caller must hold the key's shard lock or be the only thread using
    /// the keyspace (start-up). Returns false on a duplicate key.
    public func insertLoaded(db: Int, key: ByteBuffer, entry: Entry) -> Bool {
        shards[KeySlot.shard(key)].dbs[db].insertNew(key, entry)
    }
}
