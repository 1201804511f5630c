import NIOCore
import Keyspace
import RESP

/// Replication commands: REPLICAOF (SLAVEOF), REPLCONF, PSYNC, SYNC, ROLE and WAIT. The
/// handlers check arguments and leave the protocol to the server (`ReplicationHooks`,
/// implemented in Server/Replication.swift).
extension CommandTable {
    static let replicationCommands: [Command] = [
        Command("replicaof", arity: 3, flags: [.admin, .noscript, .stale, .noKeyspace], group: "server",
                summary: "Configures a server as replica of another, or promotes it to a master.", handler: replicaOf),
        Command("slaveof", arity: 3, flags: [.admin, .noscript, .stale, .noKeyspace], group: "server",
                summary: "Sets a Redis server as a replica of another, or promotes it to being a master.", handler: replicaOf),
        Command("replconf", arity: -1, flags: [.admin, .noscript, .loading, .stale, .noKeyspace], group: "server",
                summary: "An internal command for configuring the replication stream.", handler: replconf),
        Command("psync", arity: -3, flags: [.admin, .noscript, .noMulti, .noKeyspace], group: "server",
                summary: "An internal command used in replication.") { ctx in
            let offset = ctx.args[2].intValue
            guard let offset else { return ctx.replyNotInteger() }
            requestSync(&ctx, SyncRequest(replid: ctx.args[1].string, offset: Int64(offset), legacy: false))
        },
        Command("sync", arity: 1, flags: [.admin, .noscript, .noMulti, .noKeyspace], group: "server",
                summary: "An internal command used in replication.") { ctx in
            requestSync(&ctx, SyncRequest(replid: "?", offset: -1, legacy: true))
        },
        Command("role", arity: 1, flags: [.noscript, .loading, .stale, .fast, .noKeyspace], group: "server",
                summary: "Returns the replication role.") { ctx in
            ctx.server.hooks.replication.role(&ctx.out)
        },
        Command("wait", arity: 3, flags: [.noscript, .noKeyspace], group: "generic",
                summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
                handler: wait),
    ]

    private static func replicaOf(_ ctx: inout CommandContext) {
        let hooks = ctx.server.hooks.replication
        if ctx.args[1].equalsIgnoringCase("NO") && ctx.args[2].equalsIgnoringCase("ONE") {
            return reply(&ctx, hooks.replicaOf(nil, requestedBy: ctx.client))
        }
        if ctx.client.peer == .replica { return ctx.out.error("ERR Command is not valid when client is a replica.") }
        guard let port = ctx.args[2].intValue, (0...65535).contains(port) else {
            return ctx.out.error("ERR Invalid master port")
        }
        reply(&ctx, hooks.replicaOf((ctx.args[1].string, port), requestedBy: ctx.client))
    }

    private static func reply(_ ctx: inout CommandContext, _ outcome: Result<String, ReplicationError>) {
        switch outcome {
        case .success(let text): ctx.out.simple(text)
        case .failure(let error): ctx.out.error(error.message)
        }
    }

    /// REPLCONF <option> <value> ...: from a replica before and after its PSYNC (ACK gets no
    /// reply), and from the master to its replica (GETACK, answered with an ACK).
    private static func replconf(_ ctx: inout CommandContext) {
        guard ctx.args.count % 2 == 1 else { return ctx.replySyntaxError() }
        var options: [(String, String)] = []
        for i in stride(from: 1, to: ctx.args.count, by: 2) {
            options.append((ctx.args[i].string.lowercased(), ctx.args[i + 1].string))
        }
        switch ctx.server.hooks.replication.replconf(ctx.client, options) {
        case .ok: ctx.out.ok()
        case .silent: break
        case .reply(let words):
            ctx.out.array(words.count)
            for w in words { ctx.out.bulk(w) }
        case .error(let message): ctx.out.error(message)
        }
    }

    private static func requestSync(_ ctx: inout CommandContext, _ request: SyncRequest) {
        guard ctx.client.peer == .none else { return }   // a replica asking again: ignored, as Redis
        if let refusal = ctx.server.hooks.replication.refusesSync {
            return ctx.out.error(refusal)
        }
        // No reply here: the replication master answers (+FULLRESYNC / +CONTINUE) on the socket,
        // after everything this connection was answered before (see Connection).
        ctx.client.syncRequest = request
    }

    /// WAIT numreplicas timeout: how many replicas acknowledged everything written so far,
    /// blocking until `numreplicas` did or the timeout (ms, 0: forever) passed.
    private static func wait(_ ctx: inout CommandContext) {
        let hooks = ctx.server.hooks.replication
        guard let wanted = ctx.args[1].intValue else { return ctx.replyNotInteger() }
        guard let timeout = ctx.args[2].intValue else { return ctx.out.error("ERR timeout is not an integer or out of range") }
        guard timeout >= 0 else { return ctx.out.error("ERR timeout is negative") }
        if hooks.isReplica {
            return ctx.out.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
        }
        let offset = hooks.offset
        let acked = hooks.acknowledgedReplicas(offset: offset)
        // Inside EXEC a client cannot block: the count now, as Redis.
        if acked >= wanted || ctx.inTransaction { return ctx.out.integer(acked) }
        let deadline = timeout == 0 ? 0 : monotonicMillis() + Int64(timeout)
        let waiter = BlockedWaiter(client: ctx.client, command: ctx.executing!, args: Arguments(ctx.args.owned()),
                                   db: ctx.db, keys: [], deadline: deadline,
                                   timeoutReply: { [hooks] in
                                       var out = ReplyWriter(buffer: ByteBuffer())
                                       out.integer(hooks.acknowledgedReplicas(offset: offset))
                                       return out.buffer
                                   })
        hooks.waitForReplicas(waiter, count: wanted, offset: offset)
        ctx.blockedWaiter = waiter
    }
}

/// A replication command refused, with the whole error line (code first).
public struct ReplicationError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// What REPLCONF answers.
public enum ReplconfOutcome: Sendable {
    case ok
    /// REPLCONF ACK: nothing at all.
    case silent
    /// GETACK: `REPLCONF ACK <offset>` sent back as a command.
    case reply([String])
    case error(String)
}

/// What the replication commands ask of the server.
public protocol ReplicationHooks: AnyObject, Sendable {
    /// REPLICAOF host port, or REPLICAOF NO ONE (nil): the status reply, or the error.
    func replicaOf(_ master: (host: String, port: Int)?, requestedBy client: ClientState) -> Result<String, ReplicationError>
    func replconf(_ client: ClientState, _ options: [(String, String)]) -> ReplconfOutcome
    /// Why PSYNC/SYNC cannot be served now (a replica without a link to its master), or nil.
    var refusesSync: String? { get }
    func role(_ out: inout ReplyWriter)
    var isReplica: Bool { get }
    /// The replication offset (master_repl_offset) now.
    var offset: Int64 { get }
    /// Replicas whose acknowledged offset is at least `offset`.
    func acknowledgedReplicas(offset: Int64) -> Int
    /// Unblocks `waiter` (with the count as an integer reply) once `count` replicas acknowledged
    /// `offset`; asks the replicas for an acknowledgement now.
    func waitForReplicas(_ waiter: BlockedWaiter, count: Int, offset: Int64)
}
