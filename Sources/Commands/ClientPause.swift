import Atomics
import NIOConcurrencyHelpers
import Keyspace

/// CLIENT PAUSE / UNPAUSE (Redis 7.0): while a pause lasts, clients' commands wait, in order,
/// until it ends (every command under ALL; under WRITE only the ones that may write, and EXEC of
/// a transaction that holds one). Replicas and the master link are never paused. While paused,
/// keys are not expired (a read sees an expired key as missing without deleting it) and nothing
/// is evicted, so the dataset stays as it was, which is what a failover tool pauses for.
///
/// A second pause keeps the stricter mode and the later end, as in Redis. The command path
/// pays one relaxed load per command while nothing is paused.
public final class ClientPause: @unchecked Sendable {
    public enum Mode: UInt8, Sendable { case none = 0, write = 1, all = 2 }

    /// Monotonic ms at which the pause ends; 0 when there is none.
    private let end = UnsafeAtomic<Int64>.create(0)
    private let mode = UnsafeAtomic<UInt8>.create(0)
    private let lock = NIOLock()
    /// Clients holding a postponed command, woken by UNPAUSE (each also has a timer for the end).
    private var waiting: [ObjectIdentifier: ClientState] = [:]   // guarded by lock

    public init() {}

    deinit {
        end.destroy()
        mode.destroy()
    }

    /// CLIENT PAUSE: until monotonic ms `until`, in `mode` (or stricter and later, if a pause is on).
    public func pause(until: Int64, mode requested: Mode) {
        lock.withLockVoid {
            let activeNow = isActive
            if !activeNow || requested.rawValue > mode.load(ordering: .relaxed) {
                mode.store(requested.rawValue, ordering: .relaxed)
            }
            if !activeNow || until > end.load(ordering: .relaxed) {
                end.store(until, ordering: .relaxed)
            }
        }
    }

    /// CLIENT UNPAUSE: ends the pause and runs every postponed command now.
    public func unpause() {
        let clients: [ClientState] = lock.withLock {
            end.store(0, ordering: .relaxed)
            mode.store(0, ordering: .relaxed)
            defer { waiting = [:] }
            return Array(waiting.values)
        }
        for client in clients { client.connection?.resumePostponed() }
    }

    /// True while a pause lasts (expiry and eviction hold off).
    public var isActive: Bool {
        let e = end.load(ordering: .relaxed)
        return e != 0 && monotonicMillis() < e
    }

    /// When `command` from `ctx.client` must wait: the pause's end; nil when it may run now.
    @inline(__always)
    func postpones(_ command: Command, _ ctx: inout CommandContext) -> Int64? {
        let e = end.load(ordering: .relaxed)
        guard e != 0 else { return nil }
        return slowPostpones(command, &ctx, end: e)
    }

    private func slowPostpones(_ command: Command, _ ctx: inout CommandContext, end e: Int64) -> Int64? {
        guard monotonicMillis() < e, ctx.client.peer == .none else { return nil }
        switch Mode(rawValue: mode.load(ordering: .relaxed)) ?? .none {
        case .all:
            return e
        case .write:
            if command.flags.contains(.write) { return e }
            if command.flags.contains(.runsQueued),
               ctx.client.multiQueue?.contains(where: { $0.command.flags.contains(.write) }) == true { return e }
            return nil
        case .none:
            return nil
        }
    }

    /// A client now holds a postponed command (UNPAUSE wakes it).
    public func hold(_ client: ClientState) {
        lock.withLockVoid { waiting[ObjectIdentifier(client)] = client }
    }

    /// A postponed command ran, or its client went away.
    public func release(_ client: ClientState) {
        lock.withLockVoid { _ = waiting.removeValue(forKey: ObjectIdentifier(client)) }
    }
}
