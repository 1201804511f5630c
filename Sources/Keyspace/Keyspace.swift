import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole dataset: `KeySlot.shardCount` shards, each holding its slots of every database.
///
/// Locking contract: a command locks the shards of all the keys it names, in ascending shard
/// order (so two commands can never wait on each other in a cycle), runs, and unlocks. Commands
/// that touch the whole keyspace (KEYS, FLUSHALL, DBSIZE, EXEC of such commands) lock all shards.
///
/// SAFETY: `@unchecked Sendable` because of the raw mutex, shard-state and handle buffers, which
/// are written only by init and deinit (the shard states themselves are guarded by the mutexes).
public final class Keyspace: @unchecked Sendable {
    /// The shard handles, in a buffer rather than an Array so that reading one is a plain load
    /// (no reference counting of an array's storage on the command path). They point into this
    /// object's memory: code that holds the keyspace only in a local must keep it alive while it
    /// uses them (`withExtendedLifetime`); the server's keyspace lives as long as the process.
    public let shards: UnsafeBufferPointer<Shard>
    public let databaseCount: Int
    @usableFromInline let mutexes: UnsafeMutablePointer<pthread_mutex_t>
    let states: UnsafeMutablePointer<ShardState>

    /// Every shard's bit.
    public static var allShardsMask: UInt64 {
        KeySlot.shardCount == 64 ? ~0 : (UInt64(1) << UInt64(KeySlot.shardCount)) - 1
    }

    public init(databases: Int = 16) {
        KeySlot.inUse = true
        databaseCount = databases
        let mutexes = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: KeySlot.shardCount)
        for i in 0..<KeySlot.shardCount { pthread_mutex_init(mutexes + i, nil) }
        self.mutexes = mutexes
        let states = UnsafeMutablePointer<ShardState>.allocate(capacity: KeySlot.shardCount)
        states.initialize(repeating: ShardState(databases: databases), count: KeySlot.shardCount)
        self.states = states
        let handles = UnsafeMutablePointer<Shard>.allocate(capacity: KeySlot.shardCount)
        for i in 0..<KeySlot.shardCount {
            (handles + i).initialize(to: Shard(lock: ShardMutex(pointer: mutexes + i), state: states + i))
        }
        shards = UnsafeBufferPointer(start: handles, count: KeySlot.shardCount)
    }

    deinit {
        for i in 0..<KeySlot.shardCount { pthread_mutex_destroy(mutexes + i) }
        mutexes.deallocate()
        states.deinitialize(count: KeySlot.shardCount)
        states.deallocate()
        shards.deallocate()
    }

    @inlinable
    public func shard(for key: ByteBuffer) -> Shard { shards[KeySlot.shard(key)] }

    /// Locks the shards whose bits are set in `mask`, in ascending order (never in any other
    /// order, so two commands can never wait on each other in a cycle).
    @inlinable
    public func lock(_ mask: UInt64) {
        var m = mask
        while m != 0 {
            pthread_mutex_lock(mutexes + m.trailingZeroBitCount)
            m &= m &- 1
        }
    }

    @inlinable
    public func unlock(_ mask: UInt64) {
        var m = mask
        while m != 0 {
            pthread_mutex_unlock(mutexes + m.trailingZeroBitCount)
            m &= m &- 1
        }
    }

    @inlinable
    public static func mask(for key: ByteBuffer) -> UInt64 { 1 << UInt64(KeySlot.shard(key)) }
}
