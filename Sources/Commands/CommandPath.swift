import NIOCore
import Keyspace
import RESP

/// What the connection must do after a command.
public enum DispatchOutcome {
    /// The reply (if any) is in `ctx.out`.
    case done
    /// The client is blocked; its reply will arrive through `ClientConnection.unblock`.
    case blocked(BlockedWaiter)
    /// Write what is in `ctx.out`, then close (QUIT, CLIENT KILL of itself).
    case close
    /// CLIENT PAUSE holds the command: nothing ran and nothing was replied; the connection runs
    /// it again at the pause's end (`ctx.postponedUntil`, monotonic ms) or at UNPAUSE. (No
    /// payload: a second payload case made every outcome's switch cost ~15 instructions.)
    case postponed
}

/// The one command-execution path. Every command, wherever it comes from (a client's request,
/// a command queued by MULTI and run by EXEC, a blocked client's command re-run when its key is
/// filled), runs through these steps, in this order:
///
///     resolve    table lookup, subcommand, arity                        `resolve`
///     check      AUTH, RESP2 subscriber context, MISCONF, evict/OOM    `admit`
///     pause      CLIENT PAUSE: the connection runs the command later    `dispatchResolved`
///     queue      inside MULTI: keep the resolved command, reply QUEUED  `dispatchResolved`
///     lock       the shards of the command's keys, ascending            `underLocks`
///     run        the handler                                            `call`
///     account    calls and changes, counted in the context              `call`
///     propagate  changed data leaves as commands (AOF, replicas)        `call`, `underLocks`
///     unlock                                                            `underLocks`
///     after      serve clients blocked on keys the command filled       `afterCommand`
///
/// EXEC is an ordinary command here: the lock step takes the shards of every queued command
/// (`CommandFlags.runsQueued`), and its handler runs each queued command through `call`.
extension ServerRuntime {
    /// Runs the request in `ctx.args` for `ctx.client` through the whole path.
    public func dispatch(_ ctx: inout CommandContext) -> DispatchOutcome {
        let before = ctx.client.replyMode
        guard before != .on else { return dispatchReplying(&ctx) }
        // CLIENT REPLY OFF/SKIP: run as usual, then drop whatever was written, errors included;
        // only CLIENT REPLY ON (which switches back) is answered.
        let mark = ctx.out.buffer.writerIndex
        let outcome = dispatchReplying(&ctx)
        let after = ctx.client.replyMode
        if after != .on {
            ctx.out.buffer.moveWriterIndex(to: mark)
            if before == .skip && after == .skip { ctx.client.replyMode = .on }
        }
        return outcome
    }

    private func dispatchReplying(_ ctx: inout CommandContext) -> DispatchOutcome {
        // `ctx.client` is read afresh after each call that takes `ctx` inout: a local copy of the
        // reference would cost a retain and a release per command.
        guard let resolved = resolve(&ctx) else {
            if ctx.client.inMulti { ctx.client.multiFailed = true }
            return .done
        }
        // Commands live as long as the table (for the process): borrow, do not retain.
        return resolved._withUnsafeGuaranteedRef { dispatchResolved($0, &ctx) }
    }

    private func dispatchResolved(_ command: Command, _ ctx: inout CommandContext) -> DispatchOutcome {
        ctx.lastRun = command
        guard admit(command, &ctx) else {
            if ctx.client.inMulti { ctx.client.multiFailed = true }
            statistics.recordRejection(command)
            return .done
        }
        // After the checks and before MULTI queues the command, where Redis postpones it too.
        if let until = pause.postpones(command, &ctx) {
            ctx.postponedUntil = until
            return .postponed
        }
        if ctx.client.inMulti && !command.flags.contains(.noMulti) {
            // The resolved command is queued with owned copies of its arguments: EXEC runs it
            // without looking it up again.
            ctx.client.multiQueue!.append(QueuedCommand(command: command, args: Arguments(ctx.args.owned())))
            ctx.out.simple("QUEUED")
            return .done
        }
        return execute(command, &ctx)
    }

    static let misconfError = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

    /// The checks between a valid invocation and running it; replies the error and returns
    /// false when the command may not run now.
    @inline(__always)
    func admit(_ command: Command, _ ctx: inout CommandContext) -> Bool {
        if !ctx.client.authenticated && !command.flags.contains(.noAuth) {
            ctx.out.error("NOAUTH Authentication required.")
            return false
        }
        if refusedByACL(command, &ctx) { return false }
        if ctx.client.proto == .resp2 && ctx.client.subscriptionCount > 0 && !command.flags.contains(.pubsubContext) {
            ctx.out.error("ERR Can't execute '\(command.name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
            return false
        }
        let refusals = replicationRefusals.load(ordering: .relaxed)
        if refusals & ~ReplicationRefusal.keepsExpiredKeys != 0, let refusal = replicationRefusal(refusals, command, ctx.client) {
            ctx.out.error(refusal)
            return false
        }
        if diskErrorRefusesWrites.load(ordering: .relaxed), command.flags.contains(.write) || command.name == "ping" {
            // Redis refuses PING too, so that health checks notice the broken persistence.
            ctx.out.error(Self.misconfError)
            return false
        }
        return admitMemory(command, &ctx)
    }

    /// The replication refusal for `command`, if any (Redis's messages).
    private func replicationRefusal(_ refusals: UInt8, _ command: Command, _ client: ClientState) -> String? {
        guard client.peer != .master else { return nil }
        if refusals & ReplicationRefusal.staleData != 0 && !command.flags.contains(.stale) {
            return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
        }
        guard command.flags.contains(.write) else { return nil }
        if refusals & ReplicationRefusal.readOnlyReplica != 0 {
            return "READONLY You can't write against a read only replica."
        }
        if refusals & ReplicationRefusal.tooFewReplicas != 0 {
            return "NOREPLICAS Not enough good replicas to write."
        }
        return nil
    }

    /// Looks up the command (and subcommand) and checks arity; replies the error and returns nil
    /// when the invocation is not valid. Commands live as long as the table that holds them, so
    /// the result is not retained (that was an atomic increment and decrement per command).
    func resolve(_ ctx: inout CommandContext) -> Unmanaged<Command>? {
        // Clients tend to repeat a command (pipelines, benchmarks): try the last one first.
        let top: Unmanaged<Command>
        if let cached = ctx.lastCommand, cached._withUnsafeGuaranteedRef({ c in ctx.args.withUnsafeBytes(0) { c.isNamed($0) } }) {
            top = cached
        } else if let found = ctx.args.withUnsafeBytes(0, { table.lookup($0) }) {
            top = .passUnretained(found)
            ctx.lastCommand = top
        } else {
            var list = ""
            for arg in ctx.args.dropFirst() where list.utf8.count < 128 {
                list += "'\(arg.string.prefix(128 - list.utf8.count))' "
            }
            ctx.out.error("ERR unknown command '\(ctx.args[0].string.prefix(128))', with args beginning with: \(list)")
            return nil
        }
        return top._withUnsafeGuaranteedRef { validate($0, &ctx) }
    }

    /// Arity check, and the subcommand of a container command.
    private func validate(_ command: Command, _ ctx: inout CommandContext) -> Unmanaged<Command>? {
        if !command.hasSubcommands {
            guard command.acceptsArgumentCount(ctx.args.count) else {
                ctx.out.error("ERR wrong number of arguments for '\(command.name)' command")
                statistics.recordRejection(command)
                return nil
            }
            return .passUnretained(command)
        }
        if ctx.args.count == 1 && command.runsWithoutSubcommand { return .passUnretained(command) }
        guard ctx.args.count >= 2 else {
            ctx.out.error("ERR wrong number of arguments for '\(command.name)' command")
            return nil
        }
        let subName = ctx.args[1].string.lowercased()
        guard let sub = command.subcommands[subName] else {
            ctx.out.error("ERR unknown subcommand '\(ctx.args[1].string.prefix(128))'. Try \(command.name.uppercased()) HELP.")
            return nil
        }
        guard sub.acceptsArgumentCount(ctx.args.count) else {
            ctx.out.error("ERR wrong number of arguments for '\(command.name)|\(sub.name)' command")
            statistics.recordRejection(sub)
            return nil
        }
        return .passUnretained(sub)
    }

    /// Lock, run, account, propagate, unlock; then the after-command work.
    public func execute(_ command: Command, _ ctx: inout CommandContext) -> DispatchOutcome {
        underLocks(of: command, &ctx) { ctx in call(command, &ctx) }
        return afterCommand(&ctx)
    }

    /// Runs `body` holding the shards `command` needs for the arguments in `ctx.args`, and hands
    /// what the command propagated to the sink before the locks are released, so that writes to
    /// one key leave in the order they were applied.
    @inline(__always)
    func underLocks<R>(of command: Command, _ ctx: inout CommandContext, _ body: (inout CommandContext) -> R) -> R {
        // Hashing the keys through the context also records their slots for the handler.
        let mask = ctx.keyMask(of: command)
        keyspace.lock(mask)
        ctx.lockedMask = mask
        let result = body(&ctx)
        if ctx.propagatesOwnArguments || !ctx.propagated.isEmpty { emitPropagated(&ctx) }
        keyspace.unlock(mask)
        ctx.lockedMask = 0
        return result
    }

    /// Runs a resolved command's handler, with its shards already held; counts it, and records
    /// the command for propagation when it changed data (unless the handler recorded its own
    /// deterministic form with `ctx.propagate(as:)`, or, like EXEC, its parts propagated
    /// themselves). The only place a handler is called.
    @inline(__always)
    public func call(_ command: Command, _ ctx: inout CommandContext) {
        let changesBefore = ctx.changes
        let db = ctx.db
        ctx.executing = command
        ctx.propagationRecorded = false
        let errorsBefore = ctx.out.errorCount
        let start = monotonicNanos()
        command.handler(&ctx)
        let nanos = monotonicNanos() &- start
        ctx.calls &+= 1
        // A command that blocked is counted when it is served (its second run), as in Redis.
        if ctx.blockedWaiter == nil && !ctx.stillBlocked && ctx.recordsStatistics {
            account(command, nanos: nanos, failed: ctx.out.errorCount != errorsBefore, &ctx)
        }
        // MONITOR sees a blocking command once, when it is called (as Redis).
        if monitors.count.load(ordering: .relaxed) > 0 && !ctx.servingBlocked && ctx.recordsStatistics
            && !command.flags.contains(.admin) {
            monitors.feed(command, ctx.args, db: ctx.db, client: ctx.client)
        }
        if ctx.changes != changesBefore && !ctx.propagationRecorded && propagating {
            if ctx.propagated.isEmpty && !ctx.inTransaction && !ctx.propagatesOwnArguments {
                // Alone, as sent: encoded from the arguments in place before the unlock. Inside
                // EXEC the next command replaces `args` first, so those are copied.
                ctx.propagatesOwnArguments = true
                ctx.propagatedDB = db
            } else {
                ctx.propagated.append(PropagatedCommand(db: db, args: ctx.args.owned()))
            }
        }
    }

    /// INFO commandstats and latencystats, and the slow log and latency monitor, for a call that
    /// took `nanos`. The monitors cost one comparison each until a command is slow enough.
    @inline(__always)
    func account(_ command: Command, nanos: UInt64, failed: Bool, _ ctx: inout CommandContext) {
        statistics.recordCall(command, nanos: nanos, failed: failed)
        if nanos >= statistics.slowlogThreshold.load(ordering: .relaxed) && !command.flags.contains(.skipSlowlog) {
            statistics.slowLog.add(command, ctx.args, micros: Int(nanos / 1000), client: ctx.client, now: currentTimeMillis())
        }
        if nanos >= 1_000_000 {
            statistics.noteLatency(command.flags.contains(.fast) ? "fast-command" : "command", millis: Int(nanos / 1_000_000))
        }
    }

    /// Counters a connection gathers in its context (changes for the save rules, commands run),
    /// added to the server-wide ones once per batch of replies, before the replies are sent: one
    /// shared atomic update per batch instead of one per command.
    public func publishCounters(_ ctx: inout CommandContext) {
        if ctx.dirty > 0 {
            stats.changesSinceSave.wrappingIncrement(by: ctx.dirty, ordering: .relaxed)
            ctx.dirty = 0
        }
        if ctx.calls > 0 {
            stats.commandsProcessed.wrappingIncrement(by: ctx.calls, ordering: .relaxed)
            ctx.calls = 0
        }
        if ctx.memoryDelta != 0 {
            memory.used.wrappingIncrement(by: ctx.memoryDelta, ordering: .relaxed)
            ctx.memoryDelta = 0
        }
        if !ctx.out.pendingErrorCodes.isEmpty {
            statistics.recordErrors(ctx.out.takeErrorCodes())
        }
    }

    /// Serves blocked clients whose keys were filled, and tells the connection what to do next.
    func afterCommand(_ ctx: inout CommandContext) -> DispatchOutcome {
        if !ctx.readyKeys.isEmpty {
            let ready = ctx.readyKeys
            ctx.readyKeys.removeAll()
            blocking.serve(readyKeys: ready, runtime: self)
        }
        if let waiter = ctx.blockedWaiter {
            ctx.blockedWaiter = nil
            return .blocked(waiter)
        }
        if ctx.closeAfterReply {
            ctx.closeAfterReply = false
            return .close
        }
        return .done
    }
}
