import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Commands
import Configuration
import Keyspace
import Persistence
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// The replica side of replication: the connection to this server's master, as Redis 7.0's
/// replica drives it.
///
///     connect    TCP to the master (retried every second while down)
///     handshake  PING, AUTH (masterauth), REPLCONF listening-port, REPLCONF capa eof capa psync2,
///                PSYNC <replid> <offset+1> (or ? -1 before the first sync)
///     sync       +FULLRESYNC: the snapshot, as `$<length>` or `$EOF:<mark>` ... <mark>, into a
///                file (`repl-diskless-load disabled`) or memory; loaded into a scratch
///                keyspace while the old data keeps serving, then swapped in
///     connected  the stream: each command runs through the command path as the master client
///                (never refused, never answered but for REPLCONF GETACK); the bytes applied go
///                to the backlog; REPLCONF ACK <offset> every second
///
/// Everything here runs on the link's event loop, except what other threads read for INFO and
/// ROLE, which is atomic.
final class MasterLink: @unchecked Sendable {
    // SAFETY: mutable state is touched only on `loop`; cross-thread readers use the atomics.

    enum State: Int {
        case connect, connecting, handshake, sync, connected

        var roleName: String {
            switch self {
            case .connect: return "connect"
            case .connecting: return "connecting"
            case .handshake: return "handshake"
            case .sync: return "sync"
            case .connected: return "connected"
            }
        }
    }

    let host: String
    let port: Int
    unowned let replication: Replication
    private let runtime: ServerRuntime
    private let config: Config
    private let loop: EventLoop

    private let stateCode = ManagedAtomic<Int>(State.connect.rawValue)
    private var state: State {
        get { State(rawValue: stateCode.load(ordering: .relaxed))! }
        set {
            let wasUp = isUp
            stateCode.store(newValue.rawValue, ordering: .relaxed)
            if wasUp != isUp {
                if !isUp { downSince.store(monotonicMillis(), ordering: .relaxed) }
                replication.linkChanged()
            }
        }
    }
    private let applied = ManagedAtomic<Int64>(0)
    private let lastIO = ManagedAtomic<Int64>(0)
    private let downSince = ManagedAtomic<Int64>(monotonicMillis())
    private let syncTotal = ManagedAtomic<Int>(-1)
    private let syncRead = ManagedAtomic<Int>(0)
    private let stopped = ManagedAtomic<Bool>(false)
    private var lastAttempt: Int64 = 0

    private var channel: Channel?
    private var inbound = ByteBuffer()

    private enum Step { case ping, auth, listeningPort, capa, psync }
    private var step = Step.ping

    /// A snapshot being received.
    private final class Transfer {
        let replid: String
        let offset: Int64
        var remaining: Int?          // `$<length>`
        var mark: [UInt8]?           // `$EOF:<mark>`
        var tail: [UInt8] = []       // the last bytes received, to find the mark
        var fd: Int32 = -1
        var path = ""
        var memory = ByteBuffer()
        var received = 0
        init(replid: String, offset: Int64) {
            self.replid = replid
            self.offset = offset
        }
    }
    private var transfer: Transfer?
    private var loading = false

    // The master client: kept across reconnections (its selected database continues).
    private let client: ClientState
    private var ctx: CommandContext
    private var parser: CommandParser
    /// Stream bytes received and not yet part of an applied command.
    private var unapplied = ByteBuffer()
    private var consumedForCommand = 0
    private let loader = NIOThreadPool(numberOfThreads: 1)

    /// `offset`: this server's replication offset now (the link continues from it).
    init(replication: Replication, host: String, port: Int, offset: Int64) {
        self.replication = replication
        self.host = host
        self.port = port
        self.runtime = replication.runtime
        self.config = replication.config
        self.loop = replication.server.group.next()
        client = ClientState(id: runtime.clients.allocateID(), remoteAddress: "\(host):\(port)", localAddress: "", fd: -1,
                             now: currentTimeMillis())
        client.peer = .master
        client.authenticated = true
        client.aclBypass = true
        ctx = CommandContext(args: [], out: ReplyWriter(buffer: ByteBuffer()), keyspace: replication.runtime.keyspace,
                             client: client, server: replication.runtime, now: currentTimeMillis(), db: 0)
        parser = MasterLink.makeParser()
        applied.store(offset, ordering: .relaxed)
        loader.start()
    }

    /// The master's stream is trusted input: no bulk length limit (proto-max-bulk-len is for
    /// clients).
    private static func makeParser() -> CommandParser {
        var limits = ParserLimits()
        limits.maxBulkLength = Int.max / 2
        return CommandParser(limits: limits)
    }

    var isUp: Bool { stateCode.load(ordering: .relaxed) == State.connected.rawValue }
    var roleState: String { state.roleName }
    /// The offset of the last command applied (slave_repl_offset).
    var appliedOffset: Int64 { applied.load(ordering: .relaxed) }

    func start() {
        runtime.clients.add(client)
        loop.execute { self.connect() }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        loop.execute {
            self.channel?.close(promise: nil)
            self.channel = nil
            self.abortTransfer()
            self.runtime.clients.remove(self.client)
        }
        loader.shutdownGracefully { _ in }
    }

    /// Every second (any thread): reconnect, acknowledge, time out.
    func cron() {
        loop.execute { [self] in
            guard !stopped.load(ordering: .relaxed) else { return }
            let now = monotonicMillis()
            switch state {
            case .connect:
                if now - lastAttempt >= 1000 { connect() }
            case .connected:
                sendAck()
                fallthrough
            case .connecting, .handshake, .sync:
                if now - lastIO.load(ordering: .relaxed) > Int64(config[.replTimeout]) * 1000 && !loading {
                    replication.log.warning("MASTER timeout: no data nor PING received...")
                    channel?.close(promise: nil)
                }
            }
        }
    }

    // MARK: Connection

    private func connect() {
        guard !stopped.load(ordering: .relaxed), channel == nil else { return }
        lastAttempt = monotonicMillis()
        lastIO.store(lastAttempt, ordering: .relaxed)
        state = .connecting
        let handler = MasterLinkHandler(link: self)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(Int64(config[.replTimeout])))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: host, port: port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard !stopped.load(ordering: .relaxed) else { return channel.close(promise: nil) }
                    self.channel = channel
                    replication.log.notice("MASTER <-> REPLICA sync started")
                    state = .handshake
                    step = .ping
                    send(["PING"])
                case .failure(let error):
                    replication.log.warning("Error condition on socket for SYNC: \(error)")
                    state = .connect
                }
            }
    }

    /// The connection to the master closed.
    fileprivate func lost() {
        channel = nil
        inbound.clear()
        abortTransfer()
        // A command cut in the middle was not applied: the offset stays at the last whole one.
        unapplied.clear()
        consumedForCommand = 0
        parser = MasterLink.makeParser()
        if !stopped.load(ordering: .relaxed) {
            replication.log.notice("Connection with master lost.")
            replication.log.notice("Caching the disconnected master state.")
        }
        state = .connect
    }

    private func send(_ words: [String]) {
        var out = ByteBuffer()
        AOFRecords.append(words.map { ByteBuffer(string: $0) }, to: &out)
        channel?.writeAndFlush(out, promise: nil)
    }

    private func sendAck() {
        send(["REPLCONF", "ACK", String(appliedOffset)])
    }

    private func fail(_ message: String) {
        replication.log.warning("\(message)")
        channel?.close(promise: nil)
    }

    // MARK: Input

    fileprivate func received(_ bytes: ByteBuffer) {
        lastIO.store(monotonicMillis(), ordering: .relaxed)
        var bytes = bytes
        inbound.writeBuffer(&bytes)
        advance()
    }

    /// Consumes `inbound` as far as the state allows.
    private func advance() {
        while inbound.readableBytes > 0 && channel != nil {
            switch state {
            case .handshake:
                guard let line = takeLine() else { return }
                handshakeReply(line)
            case .sync:
                if transfer == nil {
                    guard let line = takeLine() else { return }
                    if line.isEmpty { continue }   // the master's keep-alive newlines
                    startTransfer(header: line)
                } else if loading {
                    return   // the stream waits until the snapshot is in
                } else {
                    receiveTransfer()
                }
            case .connected:
                applyStream()
                return
            case .connect, .connecting:
                return
            }
        }
    }

    private func takeLine() -> String? {
        let view = inbound.readableBytesView
        guard let nl = view.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = nl - view.startIndex
        var line = inbound.readString(length: length) ?? ""
        inbound.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }

    private func handshakeReply(_ line: String) {
        switch step {
        case .ping:
            if line.hasPrefix("-") && !(line.hasPrefix("-NOAUTH") || line.hasPrefix("-NOPERM") || line.hasPrefix("-ERR operation not permitted")) {
                return fail("Error reply to PING from master: '\(line)'")
            }
            if line.isEmpty { return }
            replication.log.notice("Master replied to PING, replication can continue...")
            let password = config[.masterAuth]
            if !password.isEmpty {
                let user = config[.masterUser]
                send(user.isEmpty ? ["AUTH", password] : ["AUTH", user, password])
                step = .auth
            } else {
                sendListeningPort()
            }
        case .auth:
            guard !line.hasPrefix("-") else { return fail("Unable to AUTH to MASTER: \(line)") }
            sendListeningPort()
        case .listeningPort:
            if line.hasPrefix("-") { replication.log.notice("(Non critical) Master does not understand REPLCONF listening-port: \(line)") }
            send(["REPLCONF", "capa", "eof", "capa", "psync2"])
            step = .capa
        case .capa:
            if line.hasPrefix("-") { replication.log.notice("(Non critical) Master does not understand REPLCONF capa: \(line)") }
            if let (id, next) = replication.continuation {
                replication.log.notice("Trying a partial resynchronization (request \(id):\(next)).")
                send(["PSYNC", id, String(next)])
            } else {
                replication.log.notice("Partial resynchronization not possible (no cached master)")
                send(["PSYNC", "?", "-1"])
            }
            step = .psync
        case .psync:
            psyncReply(line)
        }
    }

    private func sendListeningPort() {
        send(["REPLCONF", "listening-port", String(config[.port])])
        step = .listeningPort
    }

    private func psyncReply(_ line: String) {
        if line.isEmpty { return }
        let words = line.split(separator: " ").map(String.init)
        switch words.first {
        case "+FULLRESYNC":
            guard words.count == 3, let offset = Int64(words[2]) else { return fail("Bad +FULLRESYNC reply from master: '\(line)'") }
            replication.log.notice("Full resync from master: \(words[1]):\(offset)")
            transfer = nil
            pendingFullSync = (words[1], offset)
            syncTotal.store(-1, ordering: .relaxed)
            syncRead.store(0, ordering: .relaxed)
            state = .sync
        case "+CONTINUE":
            replication.log.notice("Successful partial resynchronization with master.")
            if words.count >= 2 { replication.continued(newReplid: words[1]) }
            replication.log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            state = .connected
            sendAck()
        default:
            if line.hasPrefix("-NOMASTERLINK") || line.hasPrefix("-LOADING") {
                replication.log.notice("Master is currently unable to PSYNC but should be in the future: \(line)")
                channel?.close(promise: nil)
            } else {
                fail("Unexpected reply to PSYNC from master: \(line)")
            }
        }
    }

    private var pendingFullSync: (replid: String, offset: Int64)?

    // MARK: The snapshot

    private func startTransfer(header: String) {
        guard let full = pendingFullSync else { return fail("Snapshot without +FULLRESYNC from master") }
        let t = Transfer(replid: full.replid, offset: full.offset)
        if header.hasPrefix("$EOF:") {
            let mark = Array(header.utf8.dropFirst(5))
            guard mark.count == 40 else { return fail("Bad EOF mark from master: '\(header)'") }
            t.mark = mark
            replication.log.notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
        } else if header.hasPrefix("$"), let n = Int(header.dropFirst()), n >= 0 {
            t.remaining = n
            syncTotal.store(n, ordering: .relaxed)
            replication.log.notice("MASTER <-> REPLICA sync: receiving \(n) bytes from master to disk")
        } else if header.hasPrefix("-") {
            return fail("MASTER aborted replication with an error: \(header)")
        } else {
            return fail("Bad protocol from MASTER, the first byte is not '$' (we received '\(header)'), are you sure the host and port are right?")
        }
        // repl-diskless-load: disabled (a file), swapdb (memory), on-empty-db (memory if empty).
        let mode = config[.replDisklessLoad]
        let toMemory = mode == "swapdb" || (mode == "on-empty-db" && keyspaceIsEmpty)
        if !toMemory {
            t.path = "temp-\(currentTimeMillis() / 1000).\(getpid()).rdb"
            t.fd = open(t.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard t.fd >= 0 else {
                return fail("Opening the temp file needed for MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
            }
        }
        transfer = t
    }

    private var keyspaceIsEmpty: Bool {
        runtime.keyspace.shards.allSatisfy { shard in shard.lock.withLock { shard.dbs.allSatisfy { $0.count == 0 } } }
    }

    private func receiveTransfer() {
        guard let t = transfer else { return }
        var n = inbound.readableBytes
        if let remaining = t.remaining { n = min(n, remaining) }
        guard n > 0 || t.remaining == 0 else { return }
        let chunk = inbound.readSlice(length: n)!
        do {
            try store(chunk, in: t)
        } catch {
            return fail("\(error)")
        }
        t.received += n
        syncRead.store(t.received, ordering: .relaxed)
        if let remaining = t.remaining {
            t.remaining = remaining - n
            if t.remaining == 0 { finishTransfer(t, dropping: 0) }
        } else if let mark = t.mark {
            t.tail.append(contentsOf: chunk.readableBytesView)
            if t.tail.count > 40 { t.tail.removeFirst(t.tail.count - 40) }
            // Masters send nothing after the mark until this replica acknowledges the load, so
            // the mark ends a read.
            if t.tail == mark { finishTransfer(t, dropping: 40) }
        }
    }

    private func store(_ chunk: ByteBuffer, in t: Transfer) throws {
        if t.fd >= 0 {
            try chunk.withUnsafeReadableBytes { try SnapshotFile.writeAll(t.fd, $0, path: t.path) }
        } else {
            var chunk = chunk
            t.memory.writeBuffer(&chunk)
        }
    }

    /// The whole snapshot is here (its last `dropping` bytes are the EOF mark): load it into a
    /// scratch keyspace on the loader thread, then swap it in with every shard lock held.
    private func finishTransfer(_ t: Transfer, dropping: Int) {
        if t.fd >= 0 {
            let size = lseek(t.fd, 0, SEEK_END)
            _ = ftruncate(t.fd, size - off_t(dropping))
            fsync(t.fd)
            close(t.fd)
            t.fd = -1
        } else if dropping > 0 {
            t.memory.moveWriterIndex(to: t.memory.writerIndex - dropping)
        }
        replication.log.notice("MASTER <-> REPLICA sync: Loading DB in memory (the old data keeps serving until it is loaded)")
        loading = true
        let runtime = self.runtime, config = self.config, log = replication.log
        let server = replication.server
        loader.runIfActive(eventLoop: loop) { () -> RDBLoadSummary in
            let scratch = Keyspace(databases: runtime.keyspace.databaseCount)
            let summary: RDBLoadSummary
            let now = currentTimeMillis()
            if t.path.isEmpty {
                summary = try t.memory.withUnsafeReadableBytes { raw in
                    do {
                        return try RDBReader(raw).load(databases: scratch.databaseCount, now: now, clock: runtime.initialAccess, insert: scratch.insertLoaded)
                    } catch let error as RDBLoadError {
                        throw PersistenceError("The RDB received from the master is damaged or unsupported: \(error)")
                    }
                }
            } else {
                // As Redis: the received file becomes this server's RDB file.
                let target = config[.dbFilename]
                guard rename(t.path, target) == 0 else {
                    throw PersistenceError("Failed trying to rename the temp DB into \(target) in MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
                }
                guard let loaded = try SnapshotFile.load(target, databases: scratch.databaseCount, now: now,
                                                         clock: runtime.initialAccess, insert: scratch.insertLoaded) else {
                    throw PersistenceError("The RDB received from the master vanished")
                }
                summary = loaded
            }
            let keyspace = runtime.keyspace
            keyspace.lock(Keyspace.allShardsMask)
            keyspace.replaceContents(with: scratch)
            // The append-only file must describe the new data: a rewrite from it, as Redis
            // restarts the AOF after a full sync.
            if server.appendOnly.isEnabled {
                _ = server.appendOnly.beginRewrite(keyspace.snapshotHoldingLocks(now: currentTimeMillis()))
            }
            keyspace.unlock(Keyspace.allShardsMask)
            log.notice("Done loading RDB, keys loaded: \(summary.keysLoaded), keys expired: \(summary.keysExpired).")
            return summary
        }.whenComplete { [self] result in
            loading = false
            transfer = nil
            switch result {
            case .success:
                replication.fullSyncLoaded(replid: t.replid, offset: t.offset)
                client.db = 0   // the master's stream selects its database before any write
                applied.store(t.offset, ordering: .relaxed)
                replication.log.notice("MASTER <-> REPLICA sync: Finished with success")
                state = .connected
                sendAck()
                advance()
            case .failure(let error):
                unlink(t.path)
                fail("Failed trying to load the MASTER synchronization DB from disk: \(error)")
            }
        }
    }

    private func abortTransfer() {
        guard let t = transfer, !loading else { return }
        if t.fd >= 0 {
            close(t.fd)
            unlink(t.path)
        }
        transfer = nil
    }

    // MARK: The stream

    /// Runs every complete command in `inbound` as the master client.
    private func applyStream() {
        var appliedBytes = ByteBuffer()
        var input = inbound
        inbound = ByteBuffer()
        var copy = input
        unapplied.writeBuffer(&copy)
        let now = currentTimeMillis()
        while true {
            let before = input.readerIndex
            let complete: Bool
            do {
                complete = try parser.next(from: &input)
            } catch {
                replication.log.warning("Protocol error in the stream from MASTER: \(error.message)")
                channel?.close(promise: nil)
                return
            }
            consumedForCommand += input.readerIndex - before
            guard complete else { break }
            var bytes = unapplied.readSlice(length: consumedForCommand)!
            consumedForCommand = 0
            if parser.args.isEmpty { continue }
            swap(&ctx.args, &parser.args)
            ctx.begin(now: now)
            let answers = ctx.args[0].equalsIgnoringCase("REPLCONF")
            _ = runtime.dispatch(&ctx)
            swap(&ctx.args, &parser.args)
            // Applied: the offset moves past it (GETACK, above, reported the offset before it).
            applied.wrappingIncrement(by: Int64(bytes.readableBytes), ordering: .relaxed)
            appliedBytes.writeBuffer(&bytes)
            if answers && ctx.out.buffer.readableBytes > 0 {
                channel?.writeAndFlush(ctx.out.buffer, promise: nil)
            }
            ctx.out.buffer.clear()
            ctx.durabilityTicket = 0
        }
        // What the parser did not take (the start of a command) is read again next time.
        if input.readableBytes > 0 {
            unapplied.moveWriterIndex(to: unapplied.writerIndex - input.readableBytes)
            inbound = input
        }
        if !parser.isMidRequest { parser.releaseArguments() }
        if unapplied.readableBytes == 0 { unapplied.clear() }
        runtime.publishCounters(&ctx)
        if appliedBytes.readableBytes > 0 { replication.appliedFromMaster(appliedBytes) }
    }

    // MARK: INFO

    /// The replica-side fields of INFO replication, Redis 7.0's names and order.
    func infoFields() -> [(String, String)] {
        let now = monotonicMillis()
        let up = isUp
        let current = state
        var fields: [(String, String)] = [
            ("master_host", host),
            ("master_port", String(port)),
            ("master_link_status", up ? "up" : "down"),
            ("master_last_io_seconds_ago", up ? String((now - lastIO.load(ordering: .relaxed)) / 1000) : "-1"),
            ("master_sync_in_progress", current == .sync ? "1" : "0"),
            ("slave_read_repl_offset", String(appliedOffset)),
            ("slave_repl_offset", String(appliedOffset)),
        ]
        if current == .sync {
            let total = syncTotal.load(ordering: .relaxed), read = syncRead.load(ordering: .relaxed)
            fields += [
                ("master_sync_total_bytes", String(total)),
                ("master_sync_read_bytes", String(read)),
                ("master_sync_left_bytes", String(total < 0 ? -1 : total - read)),
                ("master_sync_perc", total <= 0 ? "0.00" : String(format3: Double(read) * 100 / Double(total))),
                ("master_sync_last_io_seconds_ago", String((now - lastIO.load(ordering: .relaxed)) / 1000)),
            ]
        }
        if !up {
            fields.append(("master_link_down_since_seconds", String((now - downSince.load(ordering: .relaxed)) / 1000)))
        }
        return fields
    }
}

/// The master link's channel handler: bytes and the close go to the link, on its loop.
private final class MasterLinkHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let link: MasterLink

    init(link: MasterLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        link.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.lost()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
