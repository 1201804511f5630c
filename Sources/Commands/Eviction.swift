import Atomics
import Basics
import NIOConcurrencyHelpers
import NIOCore
import Keyspace

/// `maxmemory-policy`: which keys go when used memory is over `maxmemory`.
public enum EvictionPolicy: UInt8, Sendable, CaseIterable {
    case noeviction, allkeysLRU, allkeysLFU, allkeysRandom, volatileLRU, volatileLFU, volatileRandom, volatileTTL

    public init?(name: String) {
        guard let p = EvictionPolicy.allCases.first(where: { $0.name == name }) else { return nil }
        self = p
    }

    public var name: String {
        switch self {
        case .noeviction: return "noeviction"
        case .allkeysLRU: return "allkeys-lru"
        case .allkeysLFU: return "allkeys-lfu"
        case .allkeysRandom: return "allkeys-random"
        case .volatileLRU: return "volatile-lru"
        case .volatileLFU: return "volatile-lfu"
        case .volatileRandom: return "volatile-random"
        case .volatileTTL: return "volatile-ttl"
        }
    }

    public var usesLFU: Bool { self == .allkeysLFU || self == .volatileLFU }
    /// Only keys with an expiry may go.
    public var volatileOnly: Bool { self == .volatileLRU || self == .volatileLFU || self == .volatileRandom || self == .volatileTTL }
    var isRandom: Bool { self == .allkeysRandom || self == .volatileRandom }
}

/// The memory limit: its settings (copied from the configuration by the server), the used-memory
/// figure every command compares with it, and the eviction that brings memory back under it.
///
/// `used` is kept by the server's memory gauge (Server/MemoryGauge.swift), which sums the
/// keyspace's accounting (`Database.memory`) with the server's other memory every few
/// milliseconds, and lowered here at once by what each eviction frees. Reading it is one relaxed
/// load per command, and only when a limit is set.
///
/// SAFETY: `@unchecked Sendable`: the atomics are freed in deinit; the pool is guarded by `evicting`.
public final class MemoryLimit: @unchecked Sendable {
    /// `maxmemory` in bytes; 0: no limit.
    public let maxmemory = UnsafeAtomic<Int>.create(0)
    let policyCode = UnsafeAtomic<UInt8>.create(EvictionPolicy.noeviction.rawValue)
    public let samples = UnsafeAtomic<Int>.create(5)
    public let tenacity = UnsafeAtomic<Int>.create(10)
    public let lfuLogFactor = UnsafeAtomic<Int>.create(10)
    public let lfuDecayTime = UnsafeAtomic<Int>.create(1)
    /// `replica-ignore-maxmemory`: a replica leaves eviction to its master (whose DELs arrive).
    public let replicaIgnoresLimit = UnsafeAtomic<Bool>.create(true)
    /// Used memory, bytes (see the type's comment).
    public let used = UnsafeAtomic<Int>.create(0)
    /// Memory not counted against the limit (replicas' output buffers, the AOF's buffer), as in
    /// Redis: evicting keys to make room for the stream to replicas would feed itself.
    public let notCounted = UnsafeAtomic<Int>.create(0)
    /// Keys evicted so far (INFO `evicted_keys`).
    public let evictedKeys = ManagedAtomic<Int>(0)
    /// Microseconds spent evicting (INFO `total_eviction_exceeded_time` is about being over; this
    /// is the work itself, reported as `eviction_usec` in MEMORY STATS).
    public let evictionMicros = ManagedAtomic<Int>(0)

    /// One evictor at a time, holding the candidate pool; taken before any shard lock.
    private let evicting = NIOLock()
    private var pool = EvictionPool()
    private var nextShard = 0
    /// The evictor's random numbers (guarded by `evicting`): the system generator cost a system
    /// call per number, 13 % of the server's time under an eviction load.
    private var random = SplitMix64()

    public init() {}

    deinit {
        maxmemory.destroy(); policyCode.destroy(); samples.destroy(); tenacity.destroy()
        lfuLogFactor.destroy(); lfuDecayTime.destroy(); replicaIgnoresLimit.destroy()
        used.destroy(); notCounted.destroy()
    }

    public var policy: EvictionPolicy {
        get { EvictionPolicy(rawValue: policyCode.load(ordering: .relaxed)) ?? .noeviction }
        set { policyCode.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// The clock a command stamps its accesses with (LRU seconds, or the LFU word's inputs).
    @inlinable
    public func accessClock(nowMillis: Int64, random: UInt32) -> AccessClock {
        let seconds = UInt32(truncatingIfNeeded: nowMillis / 1000)
        guard policy.usesLFU else { return AccessClock(seconds: seconds) }
        return AccessClock(seconds: seconds, lfu: .init(logFactor: lfuLogFactor.load(ordering: .relaxed),
                                                        decayMinutes: lfuDecayTime.load(ordering: .relaxed), random: random))
    }

    /// Memory counted against the limit, and how far over it that is (≤ 0: under).
    public var overLimit: Int {
        let limit = maxmemory.load(ordering: .relaxed)
        guard limit > 0 else { return 0 }
        return used.load(ordering: .relaxed) - notCounted.load(ordering: .relaxed) - limit
    }

    /// Redis's eviction time limit (`evictionTimeLimitUs`): 50 µs per tenacity point up to 10
    /// (500 µs, the default), growing 15 % per point above, unlimited at 100.
    var timeLimitMicros: Int64? {
        let t = tenacity.load(ordering: .relaxed)
        if t <= 10 { return Int64(50 * t) }
        if t < 100 { return Int64(500 * pow115(t - 10)) }
        return nil
    }

    private func pow115(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= 1.15 }
        return r
    }

    public enum Outcome {
        /// Under the limit (or freed enough).
        case ok
        /// Still over when the time limit ran out: the command runs, the next one evicts more.
        case running
        /// Over the limit and nothing (more) may be evicted: commands that need memory get OOM.
        case fail
    }

    /// Evicts keys until memory is under the limit (Redis's `performEvictions`). Called before a
    /// command takes its shard locks; takes them one at a time.
    func evict(_ runtime: ServerRuntime, now: Int64) -> Outcome {
        guard overLimit > 0 else { return .ok }
        // CLIENT PAUSE keeps the dataset as it is (Redis's PAUSE_ACTION_EVICT).
        if runtime.pause.isActive { return .ok }
        let policy = self.policy
        guard policy != .noeviction else { return .fail }
        return evicting.withLock {
            let start = monotonicMicros()
            defer {
                let micros = Int(monotonicMicros() - start)
                evictionMicros.wrappingIncrement(by: micros, ordering: .relaxed)
                runtime.statistics.noteLatency("eviction-cycle", millis: micros / 1000)
            }
            let limit = timeLimitMicros
            var evicted = 0
            let clock = accessClock(nowMillis: now, random: 0)
            // Another loop may have evicted while this one waited for the lock: re-read.
            while overLimit > 0 {
                guard let freed = evictOne(runtime, policy: policy, clock: clock, using: &random) else { return .fail }
                used.wrappingDecrement(by: freed, ordering: .relaxed)
                evicted += 1
                if evicted % 16 == 0, let limit, monotonicMicros() - start > limit { return .running }
            }
            return .ok
        }
    }

    /// Evicts the best victim; returns the bytes freed, or nil when no key may be evicted.
    private func evictOne<G: RandomNumberGenerator>(_ runtime: ServerRuntime, policy: EvictionPolicy, clock: AccessClock,
                                                    using generator: inout G) -> Int? {
        let shards = runtime.keyspace.shards
        if policy.isRandom {
            // Round robin over the shards, a random key of the first database with candidates.
            for _ in 0..<shards.count {
                let index = nextShard
                nextShard = (nextShard + 1) % shards.count
                let shard = shards[index]
                let freed: Int? = shard.lock.withLock {
                    for db in 0..<shard.dbs.count {
                        let key = policy.volatileOnly ? shard.dbs[db].randomVolatileKey(using: &generator)
                                                      : shard.dbs[db].randomKey(using: &generator)
                        if let key { return remove(key, db: db, in: shard, runtime) }
                    }
                    return nil
                }
                if let freed { return freed }
            }
            return nil
        }
        var emptyShards = 0
        while true {
            // Refill the pool from the next shard (every database in it), as Redis refills it
            // from every database before each eviction.
            let index = nextShard
            nextShard = (nextShard + 1) % shards.count
            let shard = shards[index]
            let samples = max(1, samples.load(ordering: .relaxed))
            let decay = lfuDecayTime.load(ordering: .relaxed)
            var found = false
            shard.lock.withLockVoid {
                for db in 0..<shard.dbs.count {
                    let keys = policy.volatileOnly ? shard.dbs[db].expiresCount : shard.dbs[db].count
                    guard keys > 0 else { continue }
                    found = true
                    shard.dbs[db].sampleKeys(samples, volatileOnly: policy.volatileOnly, using: &generator) { key, access, expireAt in
                        let score: UInt64
                        switch policy {
                        case .volatileTTL: score = UInt64.max - UInt64(max(0, expireAt))
                        case .allkeysLFU, .volatileLFU: score = 255 - UInt64(clock.decayedCount(access, decayMinutes: decay))
                        default: score = UInt64(clock.idleSeconds(access))
                        }
                        pool.offer(score: score, shard: index, db: db, key: key)
                    }
                }
            }
            emptyShards = found ? 0 : emptyShards + 1
            // The best candidate that still exists (a pool entry may have been deleted or
            // rewritten since it was sampled: Redis skips such ghosts the same way).
            while let best = pool.takeBest() {
                let victimShard = shards[best.shard]
                let freed: Int? = victimShard.lock.withLock {
                    // A volatile policy must not take a key whose TTL went since it was sampled.
                    if policy.volatileOnly {
                        guard let entry = victimShard.dbs[best.db].entry(best.key), entry.expireAt != 0 else { return nil }
                    }
                    return remove(best.key, db: best.db, in: victimShard, runtime)
                }
                if let freed { return freed }
            }
            if emptyShards >= shards.count { return nil }
        }
    }

    /// Deletes an evicted key with the shard locked, with a deletion's side effects (WATCH, the
    /// DEL that replays it on the AOF and replicas); returns the bytes its database gave back.
    private func remove(_ stored: CompactBytes, db: Int, in shard: Shard, _ runtime: ServerRuntime) -> Int? {
        let before = shard.dbs[db].memory
        guard shard.dbs[db].remove(stored) != nil else { return nil }
        let key = stored.byteBuffer
        evictedKeys.wrappingIncrement(ordering: .relaxed)
        shard.touchWatched(db: db, key: key)
        runtime.propagateDeletion(db: db, key: key)
        if runtime.keyspaceEvents.load(ordering: .relaxed) != 0 { runtime.publishKeyspaceEvent(.evicted, "evicted", key: key, db: db) }
        return before - shard.dbs[db].memory
    }
}

/// Redis's eviction pool (evict.c, EVPOOL_SIZE 16): the best candidates seen so far, sorted by
/// score (idle time, 255 - LFU count, or time to expiry inverted); sampling a few keys per
/// eviction and keeping the best across evictions approximates true LRU/LFU closely.
struct EvictionPool {
    struct Candidate {
        var score: UInt64
        var shard: Int
        var db: Int
        var key: CompactBytes
    }

    static let size = 16
    /// Ascending by score: the best victim is last.
    private(set) var candidates: [Candidate] = []

    /// A key sampled twice may sit in the pool twice (Redis dedupes; comparing keys on every
    /// offer cost more than the rare second lookup): once evicted, the other copy is a ghost.
    mutating func offer(score: UInt64, shard: Int, db: Int, key: () -> CompactBytes) {
        if candidates.count == EvictionPool.size {
            guard score > candidates[0].score else { return }
        }
        let c = Candidate(score: score, shard: shard, db: db, key: key())
        let at = candidates.firstIndex(where: { $0.score > c.score }) ?? candidates.count
        candidates.insert(c, at: at)
        if candidates.count > EvictionPool.size { candidates.removeFirst() }
    }

    mutating func takeBest() -> Candidate? { candidates.popLast() }
}

extension ServerRuntime {
    /// The memory check of the command path (`admit`), Redis's rules: when memory is over
    /// `maxmemory`, evict first; if that cannot bring it under, refuse the commands that may
    /// grow memory (denyoom, anything queued inside MULTI, an EXEC holding one), while reads,
    /// deletes and the rest run.
    @inline(__always)
    func admitMemory(_ command: Command, _ ctx: inout CommandContext) -> Bool {
        guard memory.maxmemory.load(ordering: .relaxed) > 0 else { return true }
        // With a limit, this connection's growth so far counts at once (one atomic add per
        // write), so a long pipeline cannot run past the limit before the batch ends.
        if ctx.memoryDelta != 0 {
            memory.used.wrappingIncrement(by: ctx.memoryDelta, ordering: .relaxed)
            ctx.memoryDelta = 0
        }
        guard memory.overLimit > 0, !leavesEvictionToMaster else { return true }
        guard memory.evict(self, now: ctx.now) == .fail else { return true }
        guard needsMemory(command, ctx.client) else { return true }
        ctx.out.error("OOM command not allowed when used memory > 'maxmemory'.")
        return false
    }

    /// Evicts now if over the limit (the memory gauge's continuation of an eviction that ran out
    /// of time, or that no command has started yet), unless this is a replica that leaves it
    /// to its master.
    public func evictNow() -> MemoryLimit.Outcome {
        leavesEvictionToMaster ? .ok : memory.evict(self, now: currentTimeMillis())
    }

    /// A replica with `replica-ignore-maxmemory yes` neither evicts nor refuses: its master's
    /// DELs keep it in step.
    private var leavesEvictionToMaster: Bool {
        replicationRefusals.load(ordering: .relaxed) & ReplicationRefusal.keepsExpiredKeys != 0
            && memory.replicaIgnoresLimit.load(ordering: .relaxed)
    }

    private func needsMemory(_ command: Command, _ client: ClientState) -> Bool {
        if command.flags.contains(.runsQueued) {
            return client.multiQueue?.contains { $0.command.flags.contains(.denyoom) } ?? false
        }
        if command.flags.contains(.denyoom) { return true }
        return client.inMulti && !["discard", "quit", "reset"].contains(command.name)
    }
}
