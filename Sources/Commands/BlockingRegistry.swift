import Atomics
import DequeModule
import NIOConcurrencyHelpers
import NIOCore
import Keyspace
import RESP

/// A client waiting in BLPOP, BLMOVE, BZPOPMIN, ... for one of its keys to receive data.
public final class BlockedWaiter: Sendable {
    /// Set by whoever finishes the wait first: a server that serves it, its timeout, or its
    /// disconnect. Only the one that flips it replies.
    public let claimed = ManagedAtomic<Bool>(false)
    public let client: ClientState
    public let command: Command
    /// The command's arguments, owned copies.
    public let args: Arguments
    public let db: Int
    public let keys: [WatchedKey]
    public let proto: ProtocolVersion
    /// Monotonic ms deadline; 0 = wait forever.
    public let deadline: Int64
    /// The reply when the deadline passes (nil: a null array, what blocking pops reply). WAIT,
    /// which waits for replicas rather than keys, answers how many acknowledged by then.
    public let timeoutReply: (@Sendable () -> ByteBuffer)?

    public init(client: ClientState, command: Command, args: Arguments, db: Int, keys: [WatchedKey], deadline: Int64,
                timeoutReply: (@Sendable () -> ByteBuffer)? = nil) {
        self.client = client
        self.command = command
        self.args = args
        self.db = db
        self.keys = keys
        self.proto = client.proto
        self.deadline = deadline
        self.timeoutReply = timeoutReply
    }

    public func claim() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}

/// Clients blocked on keys, first come first served per key.
///
/// Lock order: a shard lock may be held while this registry's lock is taken (a command registers
/// its waiter while it still holds its shard, so no push can slip in between its check and its
/// registration); never the reverse.
public final class BlockingRegistry: Sendable {
    private let waiters = NIOLockedValueBox<[WatchedKey: Deque<BlockedWaiter>]>([:])
    /// Read by every write (`hasWaiters`). An `UnsafeAtomic` (a pointer, freed in deinit) rather
    /// than a `ManagedAtomic` (a class): reading a class-held atomic retained and released it.
    private let waiterCount = UnsafeAtomic<Int>.create(0)

    public init() {}

    deinit { waiterCount.destroy() }

    /// Cheap check on the write path: is anyone blocked at all?
    public var hasWaiters: Bool { waiterCount.load(ordering: .relaxed) > 0 }

    public var blockedClients: Int { waiterCount.load(ordering: .relaxed) }

    func register(_ waiter: BlockedWaiter) {
        waiters.withLockedValue { w in
            for key in waiter.keys { w[key, default: []].append(waiter) }
        }
        waiterCount.wrappingIncrement(ordering: .relaxed)
    }

    /// Removes a finished waiter from every key it waited on.
    public func remove(_ waiter: BlockedWaiter) {
        let removed = waiters.withLockedValue { w -> Bool in
            var found = false
            for key in waiter.keys {
                guard var queue = w[key] else { continue }
                if let i = queue.firstIndex(where: { $0 === waiter }) {
                    queue.remove(at: i)
                    found = true
                }
                w[key] = queue.isEmpty ? nil : queue
            }
            return found
        }
        if removed { waiterCount.wrappingDecrement(ordering: .relaxed) }
    }

    /// Keys of database `db` that clients wait on (SWAPDB and FLUSHDB-like changes re-check them).
    public func waitingKeys(db: Int) -> [WatchedKey] {
        waiters.withLockedValue { w in w.keys.filter { $0.db == db } }
    }

    func first(for key: WatchedKey) -> BlockedWaiter? {
        waiters.withLockedValue { w in
            guard var queue = w[key] else { return nil }
            while let head = queue.first, head.claimed.load(ordering: .acquiring) {
                queue.removeFirst()
            }
            w[key] = queue.isEmpty ? nil : queue
            return queue.first
        }
    }

    /// Serves clients blocked on keys that just received data, FIFO per key, each waiter's
    /// command re-run through the command path (its own arguments and shard locks) as if it had
    /// just arrived. Runs on the thread of the command that made the keys ready, after that
    /// command released its locks.
    public func serve(readyKeys: [WatchedKey], runtime: ServerRuntime) {
        var pending = Deque(readyKeys)
        while let key = pending.popFirst() {
            while let waiter = first(for: key) {
                var ctx = CommandContext(
                    args: waiter.args,
                    out: ReplyWriter(buffer: ByteBuffer(), proto: waiter.proto),
                    keyspace: runtime.keyspace, client: waiter.client, server: runtime,
                    now: currentTimeMillis(), db: waiter.db)
                ctx.servingBlocked = true
                let outcome = runtime.underLocks(of: waiter.command, &ctx) { ctx -> ServeOutcome in
                    // Claimed under the locks, before the handler takes data: a waiter whose
                    // timeout claims it first is simply dropped, and a timeout that loses the race
                    // retries. A client that disconnected meanwhile is dropped rather than served,
                    // so the element it would have taken stays for the next waiter.
                    guard waiter.claim(), !waiter.client.closed.load(ordering: .acquiring) else { return .dropped }
                    runtime.call(waiter.command, &ctx)
                    guard !ctx.stillBlocked else {
                        // Nothing to take after all (the key was emptied or changed type).
                        waiter.claimed.store(false, ordering: .releasing)
                        return .keepsWaiting
                    }
                    return .served
                }
                switch outcome {
                case .dropped:
                    remove(waiter)
                    continue
                case .keepsWaiting:
                    break
                case .served:
                    remove(waiter)
                    runtime.publishCounters(&ctx)
                    waiter.client.connection?.unblock(with: ctx.out.buffer, durability: ctx.durabilityTicket)
                    pending.append(contentsOf: ctx.readyKeys)
                    continue
                }
                break   // the first waiter keeps waiting in first place: next key
            }
        }
    }

    private enum ServeOutcome { case dropped, keepsWaiting, served }

    /// Ends a wait that timed out or whose client went away. Returns false when a server is
    /// serving it right now (the caller retries shortly) or it was already served.
    public func cancel(_ waiter: BlockedWaiter) -> Bool {
        guard waiter.claim() else { return false }
        remove(waiter)
        return true
    }

    /// Registers the caller as blocked on `keys` (must run while the command holds their shards).
    public func block(_ ctx: inout CommandContext, keys: [ByteBuffer], timeoutMillis: Int64) {
        let command = ctx.executing!   // set by the command path before the handler runs
        let watched = keys.map { WatchedKey(db: ctx.db, key: $0.owned()) }
        let deadline = timeoutMillis == 0 ? 0 : monotonicMillis() + timeoutMillis
        let waiter = BlockedWaiter(client: ctx.client, command: command, args: Arguments(ctx.args.owned()),
                                   db: ctx.db, keys: watched, deadline: deadline)
        register(waiter)
        ctx.blockedWaiter = waiter
    }
}

extension CommandContext {
    /// Called by a blocking command that found nothing to take. Blocks the client (the reply comes
    /// later, from whoever serves it or from its timeout); inside MULTI/EXEC it answers the
    /// timeout reply right away as Redis does; while a waiter is being served it only reports that
    /// the client must keep waiting.
    public mutating func blockOrTimeOut(keys: [ByteBuffer], timeoutMillis: Int64) {
        if servingBlocked {
            stillBlocked = true
        } else if inTransaction {
            out.nullArray()
        } else {
            server.blocking.block(&self, keys: keys, timeoutMillis: timeoutMillis)
        }
    }

    /// Parses a blocking timeout in seconds (may be fractional), replying the Redis error when bad.
    public mutating func timeoutArgument(_ i: Int) -> Int64? {
        guard let seconds = parseDouble(args[i]), seconds.isFinite else {
            out.error("ERR timeout is not a float or out of range")
            return nil
        }
        if seconds < 0 {
            out.error("ERR timeout is negative")
            return nil
        }
        let ms = seconds * 1000
        guard ms < Double(Int64.max / 2) else {
            out.error("ERR timeout is out of range")
            return nil
        }
        return Int64(ms.rounded(.up))
    }
}
