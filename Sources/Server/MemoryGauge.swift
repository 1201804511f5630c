import Atomics
import CSwiftletSupport
import Commands
import Configuration
import Keyspace
import NIOCore

/// Keeps `MemoryLimit.used` (what `maxmemory` is compared with) true: the memory the process had
/// at start-up, plus the keyspace's accounting (`Database.memory`, see Keyspace/Footprint.swift),
/// plus the replication backlog. Measured every 10 ms while a limit is set (every 100 ms
/// otherwise): summing 64 shards' counters costs a few microseconds, and between two
/// measurements eviction lowers the figure by what it frees. Also continues an eviction that hit
/// its time limit (Redis's eviction timer), so memory returns under the limit even when no
/// command arrives.
final class MemoryGauge: Sendable {
    private let runtime: ServerRuntime
    /// Heap in use when the server started (`used_memory_startup`): measured once, while the
    /// heap is small enough for `mallinfo2` to be quick.
    let startup: Int
    private let backlogBytes: @Sendable () -> Int

    init(runtime: ServerRuntime, backlogBytes: @escaping @Sendable () -> Int) {
        self.runtime = runtime
        self.startup = Int(swiftlet_heap_in_use())
        self.backlogBytes = backlogBytes
    }

    /// The keyspace's bytes and keys, per database (every shard locked in turn).
    func dataset() -> (bytes: Int, tables: [(main: Int, expires: Int)], keys: [Int]) {
        let dbs = runtime.keyspace.databaseCount
        var tables = [(main: Int, expires: Int)](repeating: (0, 0), count: dbs), keys = [Int](repeating: 0, count: dbs)
        var bytes = 0
        for shard in runtime.keyspace.shards {
            shard.lock.withLockVoid {
                for db in 0..<dbs {
                    bytes += shard.dbs[db].memory
                    tables[db].main += shard.dbs[db].tableBytes
                    tables[db].expires += shard.dbs[db].volatileBytes
                    keys[db] += shard.dbs[db].count
                }
            }
        }
        return (bytes, tables, keys)
    }

    /// The keyspace's bytes only (the gauge's frequent step; no arrays).
    private func datasetBytes() -> Int {
        var bytes = 0
        let dbs = runtime.keyspace.databaseCount
        for shard in runtime.keyspace.shards {
            shard.lock.withLockVoid {
                for db in 0..<dbs { bytes += shard.dbs[db].memory }
            }
        }
        return bytes
    }

    var replicationBacklog: Int { backlogBytes() }

    /// Measures now and publishes the figure.
    @discardableResult
    func measure() -> Int { publish(dataset: datasetBytes()) }

    /// Publishes the figure for a keyspace of `dataset` bytes just summed.
    @discardableResult
    func publish(dataset: Int) -> Int {
        let used = startup + dataset + backlogBytes()
        runtime.memory.used.store(used, ordering: .relaxed)
        _ = runtime.stats.recordMemoryPeak(used)
        return used
    }

    func start(on loop: EventLoop) {
        let tick = ManagedAtomic<Int>(0)
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { [self] _ in
            let limited = runtime.memory.maxmemory.load(ordering: .relaxed) > 0
            guard limited || tick.wrappingIncrementThenLoad(ordering: .relaxed) % 10 == 0 else { return }
            measure()
            if limited && runtime.memory.overLimit > 0 && runtime.memory.policy != .noeviction {
                _ = runtime.evictNow()
            }
        }
    }
}

extension Config {
    /// Copies the memory limit's directives into the runtime's `MemoryLimit` (at start-up and
    /// after CONFIG SET of any of them).
    func apply(to memory: MemoryLimit) {
        memory.maxmemory.store(self[.maxMemory], ordering: .relaxed)
        memory.policy = EvictionPolicy(name: self[.maxMemoryPolicy]) ?? .noeviction
        memory.samples.store(self[.maxMemorySamples], ordering: .relaxed)
        memory.tenacity.store(self[.maxMemoryEvictionTenacity], ordering: .relaxed)
        memory.lfuLogFactor.store(self[.lfuLogFactor], ordering: .relaxed)
        memory.lfuDecayTime.store(self[.lfuDecayTime], ordering: .relaxed)
        memory.replicaIgnoresLimit.store(self[.replicaIgnoreMaxMemory], ordering: .relaxed)
    }

    static let memoryLimitDirectives: Set<String> = ["maxmemory", "maxmemory-policy", "maxmemory-samples",
                                                     "maxmemory-eviction-tenacity", "lfu-log-factor",
                                                     "lfu-decay-time", "replica-ignore-maxmemory"]
}
