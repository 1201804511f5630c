import Atomics
import NIOConcurrencyHelpers
import NIOCore
import Keyspace
import RESP

/// What only the server process can answer (configuration, INFO, shutdown, persistence); the
/// Server module implements it. Handlers reach it through `ctx.server.hooks`.
public protocol ServerHooks: AnyObject, Sendable {
    /// `CONFIG GET` pairs for glob patterns, lower-case names.
    func configGet(_ patterns: [String]) -> [(String, String)]
    /// Applies `CONFIG SET name value ...` atomically; returns the error message on failure.
    func configSet(_ pairs: [(String, String)]) -> String?
    func configRewrite() -> String?
    func resetStats()
    /// INFO text for the sections asked (empty: the default set).
    func info(sections: [String], client: ClientState) -> String
    /// SHUTDOWN: returns an error message if it cannot shut down; otherwise does not return.
    func shutdown(save: Bool?) -> String?
    /// Unix seconds of the last successful save (LASTSAVE).
    var lastSave: Int { get }

    // Snapshots. Handlers take the snapshot themselves, while they hold every shard lock, so it
    // is exactly the state between two commands; `changes` is the change counter at that moment.

    /// SAVE: writes the snapshot before returning; nil on success, else the error reply.
    func save(_ snapshot: KeyspaceSnapshot, changes: Int) -> String?
    /// BGSAVE: starts writing the snapshot in the background; nil once started, else the error reply.
    func backgroundSave(_ snapshot: KeyspaceSnapshot, changes: Int) -> String?
    /// After FLUSHALL emptied the keyspace (locks still held): stops a running background save
    /// and, when save rules are configured, saves the empty dataset, as Redis does.
    func flushedAll(_ empty: KeyspaceSnapshot)
    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE], with every shard lock held.
    func reload(save: Bool, flush: Bool, merge: Bool, changes: Int) -> String?
    /// BGREWRITEAOF, with every shard lock held: new writes go to a new incr file from this
    /// instant and the snapshot becomes the new base; nil once started, else the error reply.
    func rewriteAppendOnlyFile(_ snapshot: KeyspaceSnapshot) -> String?
    /// Replication (ReplicationCommands.swift).
    var replication: any ReplicationHooks { get }
    /// Memory figures for MEMORY STATS / DOCTOR, measured now.
    func memoryReport() -> MemoryReport
    /// MEMORY PURGE: gives free heap back to the system (glibc `malloc_trim`).
    func releaseFreeMemory()
    /// MEMORY MALLOC-STATS: the allocator's own summary, nil when it has none.
    func allocatorStats() -> String?
}

/// Why commands are refused because of replication (bits of `ServerRuntime.replicationRefusals`).
public enum ReplicationRefusal {
    /// A replica with `replica-read-only yes`: writes from clients other than the master.
    public static let readOnlyReplica: UInt8 = 1
    /// A replica whose link is down, with `replica-serve-stale-data no`: commands not flagged stale.
    public static let staleData: UInt8 = 2
    /// A master with fewer good replicas than `min-replicas-to-write`: writes.
    public static let tooFewReplicas: UInt8 = 4
    /// A replica: keys are not expired here (the master's DELs do that); reads hide expired keys.
    public static let keepsExpiredKeys: UInt8 = 8
}

/// Process-wide counters (INFO stats).
public final class ServerStats: Sendable {
    public let commandsProcessed = ManagedAtomic<Int>(0)
    public let connectionsReceived = ManagedAtomic<Int>(0)
    public let rejectedConnections = ManagedAtomic<Int>(0)
    public let changesSinceSave = ManagedAtomic<Int>(0)
    public let netInputBytes = ManagedAtomic<Int>(0)
    public let netOutputBytes = ManagedAtomic<Int>(0)
    public let pubsubMessages = ManagedAtomic<Int>(0)
    /// The highest memory use INFO has seen (`used_memory_peak`); INFO runs on any event loop.
    public let memoryPeak = ManagedAtomic<Int>(0)
    public init() {}

    /// Raises the memory peak to `current` if higher; returns the peak.
    public func recordMemoryPeak(_ current: Int) -> Int {
        var seen = memoryPeak.load(ordering: .relaxed)
        while current > seen {
            let (exchanged, original) = memoryPeak.compareExchange(expected: seen, desired: current, ordering: .relaxed)
            if exchanged { return current }
            seen = original
        }
        return seen
    }

    public func reset() {
        commandsProcessed.store(0, ordering: .relaxed)
        connectionsReceived.store(0, ordering: .relaxed)
        rejectedConnections.store(0, ordering: .relaxed)
        netInputBytes.store(0, ordering: .relaxed)
        netOutputBytes.store(0, ordering: .relaxed)
        pubsubMessages.store(0, ordering: .relaxed)
    }
}

/// The shared, thread-safe parts of a running server that commands use.
///
/// SAFETY: `@unchecked Sendable` because `hooks` and `table` are assigned once during start-up,
/// before the first connection is accepted, and only read afterwards.
public final class ServerRuntime: @unchecked Sendable {
    public let keyspace: Keyspace
    public let blocking = BlockingRegistry()
    public let pubsub = PubSubHub()
    public let clients = ClientRegistry()
    public let stats = ServerStats()
    /// `maxmemory` and eviction (Eviction.swift).
    public let memory = MemoryLimit()
    public let startTime = currentTimeMillis()
    public internal(set) var table: CommandTable
    /// Per-command calls, time, failures and latency histograms; error codes; the slow log and
    /// the latency monitor (CommandStatistics.swift).
    public let statistics: CommandStatistics
    /// `notify-keyspace-events` as `KeyspaceEventClass` bits (0: off), read by every write.
    public let keyspaceEvents = UnsafeAtomic<UInt32>.create(0)
    /// CLIENT PAUSE (ClientPause.swift).
    public let pause = ClientPause()
    /// MONITOR's clients (MonitorFeed.swift).
    public let monitors = MonitorFeed()
    public var hooks: (any ServerHooks)!
    /// ACL users, the ACL log and file (AccessControl.swift).
    public let acl: AccessControl
    /// `stop-writes-on-bgsave-error`: set while a failed background save makes the server refuse
    /// writes (MISCONF); read by every command, maintained by the server's snapshot policy. An
    /// `UnsafeAtomic` (freed in deinit): reading a class-held `ManagedAtomic` retained it.
    public let diskErrorRefusesWrites = UnsafeAtomic<Bool>.create(false)
    /// Active expiry may be switched off by DEBUG SET-ACTIVE-EXPIRE 0.
    public let activeExpireEnabled = ManagedAtomic<Bool>(true)
    /// Replication's refusals, one load on every command (`admit`): a bit per reason, kept by
    /// the server's replication state (`ReplicationRefusal`).
    public let replicationRefusals = UnsafeAtomic<UInt8>.create(0)
    /// Whether a `PropagationSink` is attached (see Propagation.swift): read by every write
    /// that changed something, so an `UnsafeAtomic` like the flag above.
    public let propagationEnabled = UnsafeAtomic<Bool>.create(false)
    /// The sink (`setPropagationSink`): changed only with every shard lock held, read under at
    /// least one, so the shard locks are its lock (no lock of its own on every write).
    var propagationSink: (any PropagationSink)?

    public init(keyspace: Keyspace, table: CommandTable) {
        self.keyspace = keyspace
        self.table = table
        self.statistics = CommandStatistics(table: table)
        self.acl = AccessControl(table: table)
    }

    deinit {
        diskErrorRefusesWrites.destroy()
        keyspaceEvents.destroy()
        replicationRefusals.destroy()
        propagationEnabled.destroy()
    }

    /// Seconds-resolution clock for OBJECT IDLETIME (like Redis's LRU clock).
    public var lruClock: UInt32 { UInt32(truncatingIfNeeded: currentTimeMillis() / 1000) }

    /// `Entry.lastAccess` of a key created now by a loader (RDB, AOF, full sync): the LRU clock,
    /// or under an LFU policy a new key's LFU word.
    public var initialAccess: UInt32 { memory.accessClock(nowMillis: currentTimeMillis(), random: 0).initial }
}
