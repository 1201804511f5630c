import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Commands
import Configuration
import Keyspace
import RESP

/// One client connection: bytes in → parser → command path → reply buffer → bytes out.
///
/// Everything here runs on the channel's event loop. Replies of all commands parsed from one
/// read are gathered in one buffer and written after the event-loop round's reads (see
/// `ReplyFlusher`), which is what makes pipelining cheap. Other threads reach the connection
/// only through the `ClientConnection` methods, which hop onto the loop.
///
/// What the connection does with its input is one explicit state (`InputState`, drawn in
/// Docs/design.md); input that cannot run yet waits in `pending`, and `drain` is the one place
/// input is consumed and the query-buffer limit checked.
final class Connection: ChannelInboundHandler, ClientConnection, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What happens to the client's input.
    enum InputState {
        /// Requests are parsed and run as they arrive.
        case reading
        /// A blocking command waits for data (`waiter`), with a timer when it has a timeout;
        /// further requests wait in `pending` and run, in order, after its reply.
        case blocked(BlockedWaiter, timeout: Scheduled<Void>?)
        /// CLIENT PAUSE holds `command` (its owned arguments): it runs at the pause's end (the
        /// timer) or at UNPAUSE; further requests wait in `pending` behind it.
        case postponed(Arguments, timer: Scheduled<Void>?)
        /// The client does not read its replies and has no output limit: its requests wait in
        /// `pending` and reading from the socket is off until NIO's buffer drains (see
        /// `pauseIfNotReading`). `closeWhenDrained`: it half-closed meanwhile, so the connection
        /// closes once the paused requests are answered. `resumeQueued`: a resume task is queued.
        case paused(closeWhenDrained: Bool, resumeQueued: Bool)
        /// The connection is going away: nothing more is read or run.
        case closing
    }

    private(set) var input: InputState = .reading

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

    /// Pub/sub messages and MONITOR lines from other threads, waiting for this loop. A mailbox
    /// rather than one event-loop task each: the loop takes what is there before it runs the
    /// requests of a read, so a message published before a client's next request reached the
    /// server is answered before that request's reply, as in Redis.
    private enum Delivery { case push(PushMessage), bytes(ByteBuffer) }
    private let mailbox = NIOLockedValueBox<[Delivery]>([])
    /// Something is in the mailbox (checked once per read without taking its lock).
    private let mailboxFull = UnsafeAtomic<Bool>.create(false)

    /// Input not run yet: a partial request, or requests waiting while blocked or paused.
    private var pending: ByteBuffer? = nil
    /// The clock reading of the last batch of requests (CLIENT LIST `idle=`).
    private var batchMillis = currentTimeMillis()
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
        let config = server.config
        limits = Limits(generation: generation,
                        queryBuffer: config[.clientQueryBufferLimit],
                        normalOutput: config.outputLimit(.normal).hard,
                        pubsubOutput: config.outputLimit(.pubsub).hard)
        parser.limits.maxBulkLength = config[.protoMaxBulkLen]
    }

    init(id: Int, runtime: ServerRuntime, server: SwiftletServer, channel: Channel, flusher: ReplyFlusher) {
        self.flusher = flusher
        self.runtime = runtime
        self.server = server
        self.eventLoop = channel.eventLoop
        var limits = ParserLimits()
        limits.maxBulkLength = server.config[.protoMaxBulkLen]
        parser = CommandParser(limits: limits)
        let fd: Int32 = -1   // NIO does not expose the descriptor; CLIENT LIST reports -1
        state = ClientState(id: id,
                            remoteAddress: Connection.describe(channel.remoteAddress),
                            localAddress: Connection.describe(channel.localAddress), fd: fd,
                            now: currentTimeMillis())
        state.authenticated = runtime.acl.defaultUserNeedsNoPassword
        parser.authenticated = state.authenticated
        ctx = CommandContext(args: [], out: ReplyWriter(buffer: channel.allocator.buffer(capacity: 1024)),
                             keyspace: runtime.keyspace, client: state, server: runtime,
                             now: currentTimeMillis(), db: 0)
    }

    deinit { mailboxFull.destroy() }

    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "?" }
        switch address {
        case .v4, .v6: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: return address.pathname ?? "unix"
        }
    }

    private var isClosing: Bool {
        if case .closing = input { return true } else { return false }
    }

    private var isPostponed: Bool {
        if case .postponed = input { return true } else { return false }
    }

    private var blockedWaiter: BlockedWaiter? {
        if case .blocked(let waiter, _) = input { return waiter } else { return nil }
    }

    /// The client's class for `client-output-buffer-limit`: a subscriber is `pubsub`. (Being
    /// subscribed is a mode of the client, not of its input: a RESP3 subscriber can block.)
    private var outputLimit: Int {
        state.subscriptionCount > 0 ? limits.pubsubOutput : limits.normalOutput
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        channelContext = context
        state.connection = self
        runtime.clients.add(state)
        let timeout = server.config[.timeout]
        if timeout > 0 {
            // Timers hold the connection strongly and are cancelled when it closes (see
            // `ClientState.connection` for why nothing here takes a weak reference to it).
            idleTimer = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
                checkIdle(limitSeconds: Int64(timeout))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let waiter = blockedWaiter
        enterClosing()
        state.closed.store(true, ordering: .releasing)
        state.disconnect()   // breaks the connection <-> state cycle
        if let waiter { _ = runtime.blocking.cancel(waiter) }
        idleTimer?.cancel()
        idleTimer = nil
        unwatchAll()
        runtime.pubsub.removeAll(of: state)
        runtime.monitors.remove(state)
        if state.peer == .replica { server.replicator.replicaDisconnected(state) }
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
        guard blockedWaiter == nil, state.subscriptionCount == 0, state.peer == .none else { return }
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
        let bytes = unwrapInboundIn(data)
        runtime.stats.netInputBytes.wrappingIncrement(by: bytes.readableBytes, ordering: .relaxed)
        lastActivity = .now()
        guard !isClosing else { return }
        if mailboxFull.load(ordering: .acquiring) { takeMailbox() }
        drain(adding: bytes, context: context)
    }

    /// The one place input is consumed: appends `bytes` to what is pending, runs requests while
    /// the connection is `.reading`, and keeps the rest within `client-query-buffer-limit`
    /// (a partial request, or requests that wait for a blocked command or a paused client).
    private func drain(adding bytes: ByteBuffer?, context: ChannelHandlerContext) {
        refreshLimits()   // CONFIG SET may have changed a limit while this input waited
        var input: ByteBuffer
        if var buffered = pending {
            pending = nil
            if var bytes { buffered.writeBuffer(&bytes) }
            input = buffered
        } else if let bytes {
            input = bytes
        } else {
            return
        }
        if case .reading = self.input { process(&input, context: context) }
        guard input.readableBytes > 0 && !isClosing else { return }
        if input.readableBytes > limits.queryBuffer {
            server.log.warning("Closing client that reached max query buffer length: \(state.remoteAddress)")
            closeNow(context)
            return
        }
        pending = input
    }

    /// Parses and runs requests until the input runs out or the connection leaves `.reading`
    /// (blocked, paused, closing).
    private func process(_ input: inout ByteBuffer, context: ChannelHandlerContext) {
        // One clock reading per batch: the commands of one read run within microseconds, and
        // the vDSO call per command showed up in profiles of pipelined runs.
        let now = currentTimeMillis()
        batchMillis = now
        while case .reading = self.input {
            let complete: Bool
            do {
                complete = try parser.next(from: &input)
            } catch {
                ctx.out.error("ERR Protocol error: \(error.message)")
                server.log.debug("Protocol error from client \(state.remoteAddress): \(error.message)")
                input.clear()
                flushThenClose(context)
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
            if state.syncRequest != nil {
                // PSYNC/SYNC accepted: what was answered before goes first, then the connection
                // belongs to replication (its replies from now on are the stream).
                flush(context)
                server.replicator.attach(state, channel: context.channel)
            }
            switch outcome {
            case .done:
                break
            case .blocked(let waiter):
                block(on: waiter)
            case .postponed:
                postpone(Arguments(parser.args.owned()), until: ctx.postponedUntil)
            case .close:
                flushThenClose(context)
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
        switch input {
        case .paused(_, let resumeQueued):
            input = .paused(closeWhenDrained: true, resumeQueued: resumeQueued)   // answer the paused requests first
        case .closing:
            break
        case .reading, .blocked, .postponed:
            updateShared()
            flush(context)
            closeAfterWrites(context)
        }
    }

    /// Closes once every reply written so far has gone out: a plain close discards replies still
    /// queued in NIO, which a half-closed client with large replies would lose. (Redis drops
    /// them; the client asked, so it gets them.)
    private func closeAfterWrites(_ context: ChannelHandlerContext) {
        enterClosing()
        let written = context.eventLoop.makePromise(of: Void.self)
        // An empty write completes after every write queued before it.
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        let channel = context.channel   // Sendable, unlike the context
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    /// Called by the flusher once all connections of this event-loop round have read.
    func flushQueuedReplies() {
        flushQueued = false
        guard let context = channelContext, !isClosing else { return }
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
                                 blocked: blockedWaiter != nil || isPostponed, noEvict: state.noEvict,
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
        if state.peer == .replica {
            // A replica's commands (REPLCONF ACK) are not answered: its socket carries the stream.
            ctx.out.buffer.clear()
            return
        }
        guard ctx.out.buffer.readableBytes > 0 else {
            if flush { context.flush() }
            return
        }
        // Replies to writes wait for the append-only file's policy (see AppendOnlyFile).
        if ctx.durabilityTicket != 0 {
            guard server.appendOnly.mayReply(ctx.durabilityTicket) else { return holdForDurability() }
            ctx.durabilityTicket = 0
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
        let limit = outputLimit
        guard limit > 0, let pendingBytes = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes),
              pendingBytes > limit else { return }
        server.log.warning("Client \(state.remoteAddress) scheduled to be closed ASAP for overcoming of output buffer limits.")
        closeNow(context)
    }

    /// Leaves whatever state the input was in for `.closing`, ending a blocked wait's timer.
    private func enterClosing() {
        if case .blocked(_, let timer) = input { timer?.cancel() }
        if case .postponed(_, let timer) = input {
            timer?.cancel()
            runtime.pause.release(state)
        }
        input = .closing
    }

    private func closeNow(_ context: ChannelHandlerContext) {
        enterClosing()
        context.close(promise: nil)
    }

    /// Sends what is written (a protocol error, QUIT's OK), then closes; after the replies held
    /// for the append-only file, when there are any.
    private func flushThenClose(_ context: ChannelHandlerContext) {
        enterClosing()
        flush(context)
        if heldForDurability {
            closeWhenReleased = true
            return
        }
        context.close(promise: nil)
    }

    // MARK: durability

    /// Replies wait in `ctx.out` for the append-only file (appendfsync always / bounded).
    private var heldForDurability = false
    private var closeWhenReleased = false

    private func holdForDurability() {
        guard !heldForDurability else { return }
        heldForDurability = true
        server.appendOnly.hold(self, ticket: ctx.durabilityTicket, on: eventLoop)
    }

    /// On this connection's event loop, once the ticket it was held for may be answered: sends
    /// what waited (which holds again if writes made since need a later sync).
    func durabilityReached() {
        heldForDurability = false
        guard let context = channelContext else { return }
        flush(context)
        if closeWhenReleased && !heldForDurability {
            closeWhenReleased = false
            context.close(promise: nil)
        }
    }

    /// Backpressure for a client that does not read its replies and has no output limit (Redis's
    /// default for normal clients, under which Redis buffers without bound): once NIO holds more
    /// unsent replies than its high-water mark, stop running the client's requests (the rest of
    /// its input waits in `pending`) and stop reading from it, until the socket drains. Checked
    /// only after a 256 KiB chunk of replies, so ordinary traffic never gets here.
    private func pauseIfNotReading(_ context: ChannelHandlerContext) {
        guard outputLimit == 0, case .reading = input, !context.channel.isWritable else { return }
        input = .paused(closeWhenDrained: false, resumeQueued: false)
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
        context.flush()   // what is written must be on its way, or the socket never drains
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .paused(let closeWhenDrained, false) = input, context.channel.isWritable {
            // Resumed from a separate task: this event can arrive inside a flush made while the
            // paused input is still being processed.
            input = .paused(closeWhenDrained: closeWhenDrained, resumeQueued: true)
            eventLoop.execute { self.resumePausedInput() }
        }
        context.fireChannelWritabilityChanged()
    }

    private func resumePausedInput() {
        guard case .paused(let closeWhenDrained, _) = input, let context = channelContext else { return }
        guard context.channel.isWritable else {
            input = .paused(closeWhenDrained: closeWhenDrained, resumeQueued: false)   // the next drain resumes
            return
        }
        input = .reading
        drain(adding: nil, context: context)
        flush(context)
        switch input {
        case .paused(_, let resumeQueued):
            // Paused again before the input ran out: the next drain resumes; keep the close.
            input = .paused(closeWhenDrained: closeWhenDrained, resumeQueued: resumeQueued)
        case .closing:
            break
        case .reading, .blocked, .postponed:
            if closeWhenDrained {
                // What is left is at most a partial request that cannot complete.
                closeAfterWrites(context)
            } else {
                try? context.channel.syncOptions?.setOption(.autoRead, value: true)
            }
        }
    }

    // MARK: CLIENT PAUSE

    /// Holds the command until the pause ends: a timer for its end, and UNPAUSE's wake-up.
    private func postpone(_ args: Arguments, until: Int64) {
        runtime.pause.hold(state)
        let timer = eventLoop.scheduleTask(in: .milliseconds(max(0, until - monotonicMillis()))) { [self] in
            runPostponed()
        }
        input = .postponed(args, timer: timer)
    }

    /// Runs the held command (through the whole command path again: a pause set meanwhile
    /// postpones it anew), then the input queued behind it.
    private func runPostponed() {
        guard case .postponed(let args, let timer) = input, let context = channelContext else { return }
        timer?.cancel()
        runtime.pause.release(state)
        input = .reading
        let saved = ctx.args
        ctx.args = args
        ctx.begin(now: currentTimeMillis())
        let outcome = runtime.dispatch(&ctx)
        ctx.args = saved
        switch outcome {
        case .done: break
        case .blocked(let waiter): block(on: waiter)
        case .postponed: postpone(args, until: ctx.postponedUntil)
        case .close:
            flushThenClose(context)
            return
        }
        if case .reading = input { drain(adding: nil, context: context) }
        updateShared()
        flush(context)
    }

    func resumePostponed() {
        eventLoop.execute { self.runPostponed() }
    }

    // MARK: blocking

    private func block(on waiter: BlockedWaiter) {
        input = .blocked(waiter, timeout: nil)
        state.shared.withLockedValue { $0.blockedWaiter = waiter }
        guard waiter.deadline > 0 else { return }
        scheduleTimeout(waiter, in: waiter.deadline - monotonicMillis())
    }

    private func scheduleTimeout(_ waiter: BlockedWaiter, in millis: Int64) {
        let timer = eventLoop.scheduleTask(in: .milliseconds(max(0, millis))) { [self] in
            guard self.blockedWaiter === waiter else { return }
            if self.runtime.blocking.cancel(waiter) {
                if let reply = waiter.timeoutReply {
                    self.resume(with: reply())
                    return
                }
                var timeout = ReplyWriter(buffer: ByteBuffer(), proto: waiter.proto)
                timeout.nullArray()
                self.resume(with: timeout.buffer)
            } else if !waiter.claimed.load(ordering: .acquiring) || self.blockedWaiter === waiter {
                // A server is serving it right now; its reply arrives through `unblock`. Should it
                // find nothing after all, the wait goes on, so check again shortly.
                self.scheduleTimeout(waiter, in: 1)
            }
        }
        if case .blocked(let current, _) = input, current === waiter { input = .blocked(waiter, timeout: timer) }
    }

    /// Ends the blocked state on the event loop: writes the reply and runs the queued input.
    private func resume(with reply: ByteBuffer, durability: UInt64 = 0) {
        guard let context = channelContext, case .blocked(_, let timer) = input else { return }
        timer?.cancel()
        ctx.durabilityTicket = max(ctx.durabilityTicket, durability)
        input = .reading
        state.shared.withLockedValue { $0.blockedWaiter = nil }
        var reply = reply
        ctx.out.buffer.writeBuffer(&reply)
        drain(adding: nil, context: context)
        flush(context)
    }

    // MARK: ClientConnection (any thread)

    func unblock(with reply: ByteBuffer, durability: UInt64) {
        eventLoop.execute { self.resume(with: reply, durability: durability) }
    }

    func deliver(_ message: PushMessage) { post(.push(message)) }

    func send(_ bytes: ByteBuffer) { post(.bytes(bytes)) }

    /// Puts a delivery in the mailbox; the first one of a batch also queues a task that sends
    /// them (a read that comes first takes them before its requests).
    private func post(_ delivery: Delivery) {
        let first = mailbox.withLockedValue { box -> Bool in
            box.append(delivery)
            if box.count == 1 { mailboxFull.store(true, ordering: .releasing) }
            return box.count == 1
        }
        guard first else { return }
        eventLoop.execute {
            guard let context = self.channelContext, !self.isClosing else { return }
            self.takeMailbox()
            self.flush(context)
        }
    }

    /// Appends what is in the mailbox to the replies (on the loop).
    private func takeMailbox() {
        let deliveries = mailbox.withLockedValue { box -> [Delivery] in
            mailboxFull.store(false, ordering: .relaxed)
            defer { box.removeAll(keepingCapacity: true) }
            return box
        }
        guard !isClosing else { return }
        for d in deliveries {
            switch d {
            case .push(let message): ctx.out.push(message)
            case .bytes(let bytes): ctx.out.buffer.writeImmutableBuffer(bytes)
            }
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
