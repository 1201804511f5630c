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
}

extension ServerRuntime {
    /// Validates and runs the command in `ctx.args` for `ctx.client`: command lookup, arity, AUTH,
    /// the RESP2 subscriber context, MULTI queueing; then the handler under its shard locks; then
    /// wakes clients blocked on keys it filled. This is the whole command path between the parser
    /// and the reply buffer.
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
            stats.errorReplies.wrappingIncrement(ordering: .relaxed)
            return .done
        }
        // Commands live as long as the table (for the process): borrow, do not retain.
        return resolved._withUnsafeGuaranteedRef { dispatchResolved($0, &ctx) }
    }

    private func dispatchResolved(_ command: Command, _ ctx: inout CommandContext) -> DispatchOutcome {
        ctx.lastRun = command
        if !ctx.client.authenticated && !command.flags.contains(.noAuth) {
            ctx.out.error("NOAUTH Authentication required.")
            return .done
        }
        if ctx.client.proto == .resp2 && ctx.client.subscriptionCount > 0 && !command.flags.contains(.pubsubContext) {
            ctx.out.error("ERR Can't execute '\(command.name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
            return .done
        }
        if diskErrorRefusesWrites.load(ordering: .relaxed), command.flags.contains(.write) || command.name == "ping" {
            // Redis refuses PING too, so that health checks notice the broken persistence.
            ctx.out.error(Self.misconfError)
            if ctx.client.inMulti { ctx.client.multiFailed = true }
            return .done
        }
        if ctx.client.inMulti && !command.flags.contains(.noMulti) {
            ctx.client.multiQueue!.append(Arguments(ctx.args.owned()))
            ctx.out.simple("QUEUED")
            return .done
        }
        return run(command, &ctx)
    }

    static let misconfError = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

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
            return nil
        }
        return .passUnretained(sub)
    }

    /// Runs a resolved command under its shard locks, then does the after-command work.
    public func run(_ command: Command, _ ctx: inout CommandContext) -> DispatchOutcome {
        // Hashing the keys through the context records their slots for the handler.
        let mask: UInt64
        if let keyIndex = command.singleKeyIndex, keyIndex < ctx.args.count {
            mask = ctx.computeSlots(keyIndex: keyIndex)
        } else if command.flags.contains(.noKeyspace) {
            ctx.knownKeyCount = 0
            mask = 0
        } else if command.flags.contains(.wholeKeyspace) {
            ctx.knownKeyCount = 0
            mask = Keyspace.allShardsMask
        } else {
            mask = ctx.computeSlots(keys: command.keys)
        }
        keyspace.lock(mask)
        ctx.lockedMask = mask
        command.handler(&ctx)
        keyspace.unlock(mask)
        ctx.lockedMask = 0
        return afterCommand(&ctx)
    }

    /// Adds the changes counted in `ctx.dirty` to the server-wide counter. Connections do this once
    /// per batch of replies (before they are sent), not once per command: one shared atomic
    /// update per batch instead of one per write.
    public func publishDirty(_ ctx: inout CommandContext) {
        guard ctx.dirty > 0 else { return }
        stats.changesSinceSave.wrappingIncrement(by: ctx.dirty, ordering: .relaxed)
        ctx.dirty = 0
    }

    /// Serves blocked clients whose keys were filled.
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
