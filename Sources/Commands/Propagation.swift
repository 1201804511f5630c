import Atomics
import NIOCore
import NIOConcurrencyHelpers
import Keyspace
import RESP

/// A change to the data as a command that reproduces it exactly when replayed: what the
/// append-only file appends and what replicas receive (Redis's `alsoPropagate`).
public struct PropagatedCommand: Sendable, Equatable {
    /// The database the command applies to (the consumer emits SELECT when it changes).
    public var db: Int
    /// Owned copies of the arguments, the command name first.
    public var args: [ByteBuffer]

    public init(db: Int, args: [ByteBuffer]) {
        self.db = db
        self.args = args
    }

    public init(db: Int, _ words: String...) {
        self.init(db: db, args: words.map { ByteBuffer(string: $0) })
    }
}

/// Where propagated commands go: the append-only file, the replication stream.
///
/// `propagate` is called on the thread of the command that produced the commands, while it
/// still holds the locks of every shard it touched, so two writes to the same key arrive in the
/// order they were applied. It must not take a shard lock, and should only queue the commands.
public protocol PropagationSink: AnyObject, Sendable {
    /// The effects of one command (one EXEC, one blocked command served, one expired key). More
    /// than one command arrives wrapped in MULTI ... EXEC (as Redis 7.0 propagates them), so
    /// a consumer that replays them applies all or none.
    ///
    /// Returns a durability ticket: the command's reply may leave only once the sink says the
    /// ticket is safe (the append-only file under `appendfsync always` holds replies until their
    /// records are synced). 0: nothing to wait for.
    func propagate(_ commands: [PropagatedCommand]) -> UInt64

    /// One command that propagates exactly as the client sent it (most writes): its arguments
    /// are only valid during the call, so a sink encodes them at once, without the copies a
    /// `PropagatedCommand` holds. Same ordering and ticket rules as `propagate(_:)`.
    func propagate(db: Int, arguments: Arguments) -> UInt64
}

extension PropagationSink {
    public func propagate(db: Int, arguments: Arguments) -> UInt64 {
        propagate([PropagatedCommand(db: db, args: arguments.owned())])
    }
}

extension ServerRuntime {
    /// True while a sink listens: only then are commands copied for propagation.
    @inlinable
    public var propagating: Bool { propagationEnabled.load(ordering: .relaxed) }

    /// Attaches (or, with nil, detaches) the sink that receives every change from now on.
    /// Call it with every shard lock held (or before the server serves anyone): the sink is
    /// read by commands under their shard locks, so those locks order the change for them.
    public func setPropagationSink(_ sink: (any PropagationSink)?) {
        propagationSink = sink
        propagationEnabled.store(sink != nil, ordering: .relaxed)
    }

    /// Hands one command's propagated commands to the sink (wrapped in MULTI/EXEC when there is
    /// more than one) and empties the list. Called with the command's shards still held.
    func emitPropagated(_ ctx: inout CommandContext) {
        guard let sink = propagationSink else {
            ctx.propagated.removeAll(keepingCapacity: true)
            ctx.propagatesOwnArguments = false
            return
        }
        if ctx.propagatesOwnArguments {
            // The fast path: one command, as sent (see `call`).
            ctx.propagatesOwnArguments = false
            ctx.durabilityTicket = max(ctx.durabilityTicket, sink.propagate(db: ctx.propagatedDB, arguments: ctx.args))
            return
        }
        var commands = ctx.propagated
        ctx.propagated.removeAll(keepingCapacity: true)
        if commands.count > 1 {
            commands.insert(PropagatedCommand(db: commands[0].db, "MULTI"), at: 0)
            commands.append(PropagatedCommand(db: commands[0].db, "EXEC"))
        }
        ctx.durabilityTicket = max(ctx.durabilityTicket, sink.propagate(commands))
    }

    /// A key that active expiry or eviction deleted, as the DEL that replays the deletion.
    /// Called with the key's shard locked.
    public func propagateDeletion(db: Int, key: ByteBuffer) {
        guard propagating, let sink = propagationSink else { return }
        _ = sink.propagate([PropagatedCommand(db: db, args: [ByteBuffer(string: "DEL"), key.owned()])])
    }
}

/// One argument of a propagated command, for `CommandContext.propagate(_:)`.
public enum PropagatedWord {
    case text(String)
    case bytes(ByteBuffer)
    case number(Int64)
}

extension CommandContext {
    /// Records the deterministic form of what the running command did, in place of its own
    /// arguments (relative expiry times as absolute, the members a random pop chose, ...). May
    /// be called several times; every call adds one command.
    public mutating func propagate(as args: [ByteBuffer]) {
        propagationRecorded = true
        guard server.propagating else { return }
        propagated.append(PropagatedCommand(db: db, args: args.map { $0.owned() }))
    }

    /// `propagate(as:)` from words and argument buffers, built only while a sink listens.
    public mutating func propagate(_ words: PropagatedWord...) {
        propagationRecorded = true
        guard server.propagating else { return }
        propagated.append(PropagatedCommand(db: db, args: words.map { word in
            switch word {
            case .text(let t): return ByteBuffer(string: t)
            case .bytes(let b): return b.owned()
            case .number(let n): return ByteBuffer(string: String(n))
            }
        }))
    }

    /// `SET key value PXAT ms`: a write with an expiry, whatever unit the client used (Redis 7.0
    /// propagates SET EX/PX/EXAT, SETEX and PSETEX this way).
    public mutating func propagateSet(_ key: ByteBuffer, _ value: ByteBuffer, expireAt: Int64) {
        propagate(.text("SET"), .bytes(key), .bytes(value), .text("PXAT"), .number(expireAt))
    }

    /// The running command propagates nothing of its own (EXEC: the commands it ran did).
    public mutating func propagateNothing() {
        propagationRecorded = true
    }
}
