import Atomics
import NIOCore
import NIOPosix
import Commands
import Keyspace
import RESP

/// One client connection: bytes in → parser → dispatcher → reply buffer → bytes out.
///
/// Everything here runs on the channel's event loop. Replies of all commands parsed from one
/// read are gathered in one buffer and written with a single flush in `channelReadComplete`, which
/// is what makes pipelining cheap. Other threads reach the connection only through the
/// `ClientConnection` methods, which hop onto the loop.
final class Connection: ChannelInboundHandler, ClientConnection, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let runtime: ServerRuntime
    private let server: SwiftletServer
    private var parser: CommandParser
    /// Not an Optional: every access to an implicitly unwrapped struct copied it out first (and
    /// retained everything it holds), several times per command.
    private var ctx: CommandContext
    private var channelContext: ChannelHandlerContext?
    private let eventLoop: EventLoop
    /// Sends this connection's replies at the end of the event-loop round (see `ReplyFlusher`).
    private let flusher: ReplyFlusher
    private var flushQueued = false
    let state: ClientState

    /// Input received while a command was blocked, or a partial request.
    private var pending: ByteBuffer? = nil
    private var blockedOn: BlockedWaiter? = nil
    private var blockTimer: Scheduled<Void>? = nil
    private var closing = false
    /// The clock reading of the last batch of requests (CLIENT LIST `idle=`).
    private var batchMillis = currentTimeMillis()
    /// Running this client's requests is paused until its socket drains: it does not read its
    /// replies and has no output limit (see `pauseIfNotReading`).
    private var outputPaused = false
    /// The client half-closed while paused: close once the paused input has been answered.
    private var closeWhenDrained = false
    private var resumeScheduled = false
    private var idleTimer: RepeatedTask? = nil
    private var lastActivity: NIODeadline = .now()
    private var limits = Limits()

    /// Configuration values read on every request, re-read only when the configuration changes.
    private struct Limits {
        var generation = -1
        var queryBuffer = 0
        var normalOutput = 0
        var pubsubOutput = 0
    }

    private func refreshLimits() {
        let generation = server.config.generation.load(ordering: .acquiring)
        guard generation != limits.generation else { return }
        limits = Limits(generation: generation,
                        queryBuffer: server.config.int("client-query-buffer-limit"),
                        normalOutput: server.config.outputLimit("normal").hard,
                        pubsubOutput: server.config.outputLimit("pubsub").hard)
        parser.limits.maxBulkLength = server.config.int("proto-max-bulk-len")
    }

    init(id: Int, runtime: ServerRuntime, server: SwiftletServer, channel: Channel, flusher: ReplyFlusher) {
        self.flusher = flusher
        self.runtime = runtime
        self.server = server
        self.eventLoop = channel.eventLoop
        var limits = ParserLimits()
        limits.maxBulkLength = server.config.int("proto-max-bulk-len")
        parser = CommandParser(limits: limits)
        let fd: Int32 = -1   // NIO does not expose the descriptor; CLIENT LIST reports -1
        state = ClientState(id: id,
                            remoteAddress: Connection.describe(channel.remoteAddress),
                            localAddress: Connection.describe(channel.localAddress), fd: fd,
                            now: currentTimeMillis())
        state.authenticated = !server.requiresAuth
        parser.authenticated = state.authenticated
        ctx = CommandContext(args: [], out: ReplyWriter(buffer: channel.allocator.buffer(capacity: 1024)),
                             keyspace: runtime.keyspace, client: state, server: runtime,
                             now: currentTimeMillis(), db: 0)
    }

    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "?" }
        switch address {
        case .v4, .v6: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: return address.pathname ?? "unix"
        }
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        channelContext = context
        state.connection = self
        runtime.clients.add(state)
        let timeout = server.config.int("timeout")
        if timeout > 0 {
            // Timers hold the connection strongly and are cancelled when it closes (see
            // `ClientState.connection` for why nothing here takes a weak reference to it).
            idleTimer = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
                checkIdle(limitSeconds: Int64(timeout))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        state.closed.store(true, ordering: .releasing)
        state.disconnect()   // breaks the connection <-> state cycle
        if let waiter = blockedOn { _ = runtime.blocking.cancel(waiter) }
        blockTimer?.cancel()
        blockTimer = nil
        idleTimer?.cancel()
        idleTimer = nil
        unwatchAll()
        runtime.pubsub.removeAll(of: state)
        runtime.clients.remove(state)
        server.connectionClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        channelContext = nil
        state.disconnect()   // also when removed without going inactive first
    }

    private func checkIdle(limitSeconds: Int64) {
        // Redis does not time out subscribers or blocked clients (they wait by design).
        guard blockedOn == nil, state.subscriptionCount == 0 else { return }
        if NIODeadline.now() - lastActivity > .seconds(limitSeconds) {
            channelContext?.close(promise: nil)
        }
    }

    private func unwatchAll() {
        guard let token = state.watchToken else { return }
        for w in state.watchedKeys {
            let shard = runtime.keyspace.shard(for: w.key)
            shard.lock.withLockVoid { shard.removeWatcher(token, db: w.db, key: w.key) }
        }
        state.watchToken = nil
        state.watchedKeys = []
    }

    // MARK: input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        runtime.stats.netInputBytes.wrappingIncrement(by: input.readableBytes, ordering: .relaxed)
        lastActivity = .now()
        if closing { return }
        refreshLimits()
        if outputPaused {
            // A read already under way when reading was switched off: keep it for later.
            if var buffered = pending {
                buffered.writeBuffer(&input)
                input = buffered
            }
            keepPending(input, context: context)
            return
        }
        if var buffered = pending {
            pending = nil
            buffered.writeBuffer(&input)
            input = buffered
        }
        process(&input, context: context)
        keepPending(input, context: context)
    }

    /// Keeps unprocessed input (a partial request, or requests waiting for a blocked command or
    /// a paused client) within `client-query-buffer-limit`.
    private func keepPending(_ input: ByteBuffer, context: ChannelHandlerContext) {
        guard input.readableBytes > 0 && !closing else { return }
        if input.readableBytes > limits.queryBuffer {
            server.log.warning("Closing client that reached max query buffer length: \(state.remoteAddress)")
            closeNow(context)
            return
        }
        pending = input
    }

    /// Parses and runs commands until the input runs out, the client blocks, or it must close.
    private func process(_ input: inout ByteBuffer, context: ChannelHandlerContext) {
        // One clock reading per batch: the commands of one read run within microseconds, and
        // the vDSO call per command showed up in profiles of pipelined runs.
        let now = currentTimeMillis()
        batchMillis = now
        while blockedOn == nil && !closing && !outputPaused {
            let complete: Bool
            do {
                complete = try parser.next(from: &input)
            } catch {
                ctx.out.error("ERR Protocol error: \(error.message)")
                server.log.debug("Protocol error from client \(state.remoteAddress): \(error.message)")
                closing = true
                flush(context)
                context.close(promise: nil)
                return
            }
            guard complete else { break }
            if parser.args.isEmpty { continue }
            // Hand the argument array to the context without copying it (and back afterwards), so
            // neither side triggers a copy-on-write of the other's storage.
            swap(&ctx.args, &parser.args)
            ctx.begin(now: now)
            let outcome = runtime.dispatch(&ctx)
            swap(&ctx.args, &parser.args)
            parser.authenticated = state.authenticated
            switch outcome {
            case .done:
                break
            case .blocked(let waiter):
                block(on: waiter)
            case .close:
                closing = true
                flush(context)
                context.close(promise: nil)
                return
            }
            // Keep the reply buffer bounded for huge pipelines: hand big chunks to the socket early.
            if ctx.out.buffer.readableBytes >= 256 * 1024 {
                write(context, flush: false)
                pauseIfNotReading(context)
            }
        }
        if !parser.isMidRequest { parser.releaseArguments() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Publish first: once a client has seen its reply, CLIENT LIST elsewhere must show it.
        updateShared()
        if !flushQueued {
            flushQueued = true
            flusher.enqueue(self)
        }
    }

    /// The client shut down its sending side (half-close). Replies wait for the end of the
    /// event-loop round (see `ReplyFlusher`), and NIO would close the channel before that, so
    /// they are sent now; then the connection closes, as Redis frees a client whose read hits
    /// end-of-file (after it has written the replies to what it read).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else {
            return context.fireUserInboundEventTriggered(event)
        }
        if outputPaused {
            closeWhenDrained = true   // answer the paused requests first
            return
        }
        updateShared()
        flush(context)
        closeAfterWrites(context)
    }

    /// Closes once every reply written so far has gone out: a plain close discards replies still
    /// queued in NIO, which a half-closed client with large replies would lose. (Redis drops
    /// them; the client asked, so it gets them.)
    private func closeAfterWrites(_ context: ChannelHandlerContext) {
        closing = true
        let written = context.eventLoop.makePromise(of: Void.self)
        // An empty write completes after every write queued before it.
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        let channel = context.channel   // Sendable, unlike the context
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    /// Called by the flusher once all connections of this event-loop round have read.
    func flushQueuedReplies() {
        flushQueued = false
        guard let context = channelContext, !closing else { return }
        flush(context)
    }

    /// Publishes the per-client fields other threads read, once per batch rather than per command,
    /// and under the lock only when one of them changed (a pipeline of one command repeated, the
    /// common case, changes none).
    private func updateShared() {
        runtime.publishCounters(&ctx)
        state.lastInteraction.store(batchMillis, ordering: .relaxed)
        let now = PublishedState(command: ctx.lastRun.map { ObjectIdentifier($0) }, db: state.db,
                                 proto: state.proto.rawValue, subscriptions: state.channels.count,
                                 patterns: state.patterns.count, multi: state.multiQueue?.count ?? -1,
                                 blocked: blockedOn != nil, noEvict: state.noEvict,
                                 queryBuffer: pending?.readableBytes ?? 0, rewrites: state.sharedRewrites)
        guard now != published else { return }
        published = now
        let name = ctx.lastCommandName
        let flags = state.flagString(blocked: now.blocked)
        state.shared.withLockedValue { s in
            s.lastCommand = name
            s.db = now.db
            s.resp = now.proto
            s.subscriptions = now.subscriptions
            s.patterns = now.patterns
            s.inMulti = now.multi
            s.flags = flags
            s.queryBuffer = now.queryBuffer
        }
    }

    /// What `updateShared` last wrote into `state.shared` (nil: nothing yet).
    private var published: PublishedState? = nil

    private struct PublishedState: Equatable {
        var command: ObjectIdentifier?
        var db: Int, proto: Int, subscriptions: Int, patterns: Int, multi: Int
        var blocked: Bool, noEvict: Bool
        var queryBuffer: Int
        var rewrites: Int
    }

    // MARK: output

    private func write(_ context: ChannelHandlerContext, flush: Bool) {
        runtime.publishCounters(&ctx)
        guard ctx.out.buffer.readableBytes > 0 else {
            if flush { context.flush() }
            return
        }
        runtime.stats.netOutputBytes.wrappingIncrement(by: ctx.out.buffer.readableBytes, ordering: .relaxed)
        // The buffer is handed to NIO and cleared afterwards, not before: when the socket takes
        // it all (the usual case) NIO has let go by then and the buffer is reused in place;
        // clearing first made the copy NIO held shared, so every write allocated a new one.
        if flush {
            context.writeAndFlush(wrapOutboundOut(ctx.out.buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(ctx.out.buffer), promise: nil)
        }
        ctx.out.buffer.clear()
        enforceOutputLimit(context)
    }

    private func flush(_ context: ChannelHandlerContext) {
        write(context, flush: true)
    }

    /// `client-output-buffer-limit`: a client whose unsent replies exceed the hard limit of its
    /// class is disconnected, like Redis. Without a limit the connection pauses instead
    /// (see `pauseIfNotReading`), which bounds memory without dropping anyone.
    private func enforceOutputLimit(_ context: ChannelHandlerContext) {
        let limit = state.subscriptionCount > 0 ? limits.pubsubOutput : limits.normalOutput
        guard limit > 0, let pendingBytes = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes),
              pendingBytes > limit else { return }
        server.log.warning("Client \(state.remoteAddress) scheduled to be closed ASAP for overcoming of output buffer limits.")
        closeNow(context)
    }

    private func closeNow(_ context: ChannelHandlerContext) {
        closing = true
        context.close(promise: nil)
    }

    /// Backpressure for a client that does not read its replies and has no output limit (Redis's
    /// default for normal clients, under which Redis buffers without bound): once NIO holds more
    /// unsent replies than its high-water mark, stop running the client's requests (the rest of
    /// its input waits in `pending`) and stop reading from it, until the socket drains. Checked
    /// only after a 256 KiB chunk of replies, so ordinary traffic never gets here.
    private func pauseIfNotReading(_ context: ChannelHandlerContext) {
        let limit = state.subscriptionCount > 0 ? limits.pubsubOutput : limits.normalOutput
        guard limit == 0, !closing, !context.channel.isWritable else { return }
        outputPaused = true
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
        context.flush()   // what is written must be on its way, or the socket never drains
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if outputPaused && context.channel.isWritable && !resumeScheduled {
            // Resumed from a separate task: this event can arrive inside a flush made while the
            // paused input is still being processed.
            resumeScheduled = true
            eventLoop.execute { self.resumePausedInput() }
        }
        context.fireChannelWritabilityChanged()
    }

    private func resumePausedInput() {
        resumeScheduled = false
        guard outputPaused, !closing, let context = channelContext, context.channel.isWritable else { return }
        outputPaused = false
        if var input = pending, blockedOn == nil {
            pending = nil
            process(&input, context: context)
            keepPending(input, context: context)
        }
        flush(context)
        guard !outputPaused else { return }   // paused again: the next drain resumes
        if closeWhenDrained {
            closeAfterWrites(context)   // what is left is at most a partial request that cannot complete
        } else {
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    // MARK: blocking

    private func block(on waiter: BlockedWaiter) {
        blockedOn = waiter
        state.shared.withLockedValue { $0.blockedWaiter = waiter }
        guard waiter.deadline > 0 else { return }
        scheduleTimeout(waiter, in: waiter.deadline - monotonicMillis())
    }

    private func scheduleTimeout(_ waiter: BlockedWaiter, in millis: Int64) {
        blockTimer = eventLoop.scheduleTask(in: .milliseconds(max(0, millis))) { [self] in
            guard self.blockedOn === waiter, !self.closing else { return }
            if self.runtime.blocking.cancel(waiter) {
                var timeout = ReplyWriter(buffer: ByteBuffer(), proto: waiter.proto)
                timeout.nullArray()
                self.resume(with: timeout.buffer)
            } else if !waiter.claimed.load(ordering: .acquiring) || self.blockedOn === waiter {
                // A server is serving it right now; its reply arrives through `unblock`. Should it
                // find nothing after all, the wait goes on, so check again shortly.
                self.scheduleTimeout(waiter, in: 1)
            }
        }
    }

    /// Ends the blocked state on the event loop: writes the reply and resumes queued input.
    private func resume(with reply: ByteBuffer) {
        guard let context = channelContext, blockedOn != nil else { return }
        blockedOn = nil
        state.shared.withLockedValue { $0.blockedWaiter = nil }
        blockTimer?.cancel()
        blockTimer = nil
        var reply = reply
        ctx.out.buffer.writeBuffer(&reply)
        if var input = pending {
            pending = nil
            process(&input, context: context)
            if input.readableBytes > 0 && !closing { pending = input }
        }
        flush(context)
    }

    // MARK: ClientConnection (any thread)

    func unblock(with reply: ByteBuffer) {
        eventLoop.execute { self.resume(with: reply) }
    }

    func deliver(_ message: PushMessage) {
        eventLoop.execute {
            guard let context = self.channelContext, !self.closing else { return }
            if message.kind == .pmessage {
                self.ctx.out.push(4)
                self.ctx.out.bulk("pmessage")
                self.ctx.out.bulk(message.pattern!)
            } else {
                self.ctx.out.push(3)
                self.ctx.out.bulk(message.kind == .smessage ? "smessage" : "message")
            }
            self.ctx.out.bulk(message.channel)
            self.ctx.out.bulk(message.payload)
            self.flush(context)
        }
    }

    func kill() {
        eventLoop.execute {
            guard let context = self.channelContext else { return }
            self.flush(context)
            self.closeNow(context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Peer resets and the like: just drop the connection.
        context.close(promise: nil)
    }
}
