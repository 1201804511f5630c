import Atomics
import NIOCore
import Commands
import Keyspace

/// Redis's active expiry cycle (`activeExpireCycle` in expire.c), per shard: every 1/hz seconds
/// sample 20 keys with an expiry from each database, delete the expired ones, and repeat on that
/// database while more than 10 % of the sample was expired (bounded by a time budget of 25 % of
/// the period). Keys nobody reads again are reclaimed this way; lazy expiry covers the rest.
final class ActiveExpiry: Sendable {
    private let runtime: ServerRuntime
    /// Where the next cycle starts, so a cycle cut short by its budget does not starve the shards
    /// after it.
    private let nextShard = ManagedAtomic<Int>(0)
    private static let sampleSize = 20
    private static let acceptableStalePercent = 10

    init(runtime: ServerRuntime) {
        self.runtime = runtime
    }

    func start(on loop: EventLoop, hz: Int, enabled: ManagedAtomic<Bool>) {
        let period = TimeAmount.milliseconds(Int64(1000 / max(1, hz)))
        loop.scheduleRepeatedTask(initialDelay: period, delay: period) { [self] _ in
            guard enabled.load(ordering: .relaxed), !runtime.pause.isActive else { return }
            // A replica leaves expiring to its master, whose DELs arrive in the stream.
            guard runtime.replicationRefusals.load(ordering: .relaxed) & ReplicationRefusal.keepsExpiredKeys == 0 else { return }
            self.cycle(budgetMicros: Int64(1000 / max(1, hz)) * 250)
        }
    }

    /// One cycle over every shard and database within `budgetMicros`.
    func cycle(budgetMicros: Int64) {
        let start = monotonicMillis()
        defer { runtime.statistics.noteLatency("expire-cycle", millis: Int(monotonicMillis() - start)) }
        var generator = SystemRandomNumberGenerator()
        let shards = runtime.keyspace.shards
        let first = nextShard.load(ordering: .relaxed)
        for step in 0..<shards.count {
            let shard = shards[(first + step) % shards.count]
            nextShard.store((first + step + 1) % shards.count, ordering: .relaxed)
            shard.lock.withLockVoid {
                for db in 0..<shard.dbs.count where shard.dbs[db].expiresCount > 0 {
                    var rounds = 0
                    while rounds < 16 {
                        rounds += 1
                        let now = currentTimeMillis()
                        var expired = 0
                        let samples = min(Self.sampleSize, shard.dbs[db].expiresCount)
                        for _ in 0..<samples {
                            guard let key = shard.dbs[db].randomVolatileKey(using: &generator),
                                  let entry = shard.dbs[db].entry(key) else { break }
                            if Database.isExpired(entry, now: now) {
                                shard.dbs[db].remove(key)
                                let key = key.byteBuffer
                                shard.stats.expiredKeys += 1
                                shard.touchWatched(db: db, key: key)
                                runtime.propagateDeletion(db: db, key: key)
                                if runtime.keyspaceEvents.load(ordering: .relaxed) != 0 {
                                    runtime.publishKeyspaceEvent(.expired, "expired", key: key, db: db)
                                }
                                expired += 1
                            }
                        }
                        if samples == 0 || expired * 100 / samples <= Self.acceptableStalePercent { break }
                    }
                }
            }
            if (monotonicMillis() - start) * 1000 > budgetMicros { break }
        }
    }
}
