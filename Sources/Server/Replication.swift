import Atomics
import Logging
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

/// Replication, as Redis 7.0 speaks it (PSYNC2), both ways: this file holds the state both
/// roles share (replication ids, offset, backlog, the replicas of this server) and the master
/// side; `MasterLink` is the replica side, `FullSync` the snapshot passes.
///
///     role master   every change leaves the command path (`PropagationSink`), is encoded into
///                   `stream` (SELECT when the database changes, then the command in RESP: the
///                   same bytes the append-only file gets); at the end of each event-loop round
///                   `flushStream` moves them into the backlog and onto every online replica.
///     role replica  the master's stream is applied by `MasterLink`, which feeds the bytes it
///                   applied, unchanged, into the backlog and to this server's own replicas, so
///                   offsets stay the master's and a promoted replica can continue its siblings.
///
/// Lock order: shard locks, then `lock`; never the other way round (`propagate` runs under
/// shard locks and takes `lock`).
final class Replication: ReplicationHooks, PropagationSink, @unchecked Sendable {
    // SAFETY: mutable state is under `lock`, or atomic; `link` is touched under `lock` too.

    enum Role { case master, replica }

    let config: Config
    let runtime: ServerRuntime
    let log: Logger
    unowned let server: SwiftletServer

    let lock = NIOLock()
    /// The backlog's memory, for `used_memory` (the gauge's thread).
    var backlogMemory: Int { lock.withLock { backlog?.capacity ?? 0 } }
    private(set) var role: Role = .master
    /// master_replid, master_replid2 and second_repl_offset (PSYNC2: the id this server's
    /// history had before, and up to which offset it is valid).
    private(set) var replid = Replication.newReplicationID()
    private(set) var replid2 = Replication.noReplicationID
    private(set) var secondReplidOffset: Int64 = -1
    /// master_repl_offset: the offset of the last byte of the stream (sent or applied).
    private(set) var offsetNow: Int64 = 0
    /// nil until the first replica comes (master), or the first sync (replica).
    private(set) var backlog: ReplicationBacklog?
    /// Propagated bytes not yet in the backlog (master), and the database they last selected.
    private var stream = ByteBuffer()
    private var streamDB = -1
    private let streamPending = ManagedAtomic<Bool>(false)
    /// This server's replicas, by client id.
    var peers: [Int: ReplicaPeer] = [:]
    private var lastPeerLeftAt = monotonicMillis()
    private var waiters: [(waiter: BlockedWaiter, count: Int, offset: Int64)] = []
    /// The link to this server's master (role replica).
    private(set) var link: MasterLink?

    // Full sync passes (FullSync.swift), under `lock`.
    var passRunning = false
    /// Monotonic ms when the next pass starts (0: none due).
    var passDueAt: Int64 = 0
    let passWriter = NIOThreadPool(numberOfThreads: 1)

    // INFO stats.
    let syncFull = ManagedAtomic<Int>(0)
    let syncPartialOK = ManagedAtomic<Int>(0)
    let syncPartialErr = ManagedAtomic<Int>(0)
    let snapshotPasses = ManagedAtomic<Int>(0)

    init(config: Config, runtime: ServerRuntime, log: Logger, server: SwiftletServer) {
        self.config = config
        self.runtime = runtime
        self.log = log
        self.server = server
        passWriter.start()
    }

    /// True while `start` applies `replicaof` from the configuration.
    private var startingUp = false

    /// master_replid2 when there is no previous history (Redis's all-zero id).
    static let noReplicationID = String(repeating: "0", count: 40)

    /// A history that starts here, under `id`: nothing before it continues (replid2 cleared).
    private func startHistoryLocked(_ id: String = Replication.newReplicationID()) {
        replid = id
        replid2 = Replication.noReplicationID
        secondReplidOffset = -1
    }

    /// The history goes on under `id`; the old id stays valid up to this offset (PSYNC2), so
    /// whoever followed it can continue.
    private func renameHistoryLocked(to id: String) {
        replid2 = replid
        secondReplidOffset = offsetNow + 1
        replid = id
    }

    static func newReplicationID() -> String {
        (0..<40).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
    }

    /// Starts the periodic work and, with `replicaof` configured, the link to the master.
    func start(on loop: EventLoop) {
        if let master = config.replicaOf {
            startingUp = true
            becomeReplica(of: master.host, port: master.port)
            startingUp = false
        }
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in cron() }
    }

    func stop() {
        lock.withLock { link }?.stop()
        try? passWriter.syncShutdownGracefully()
    }

    // MARK: The stream (master)

    func propagate(_ commands: [PropagatedCommand]) -> UInt64 {
        lock.lock()
        for command in commands {
            selectLocked(command.db)
            AOFRecords.append(command.args, to: &stream)
        }
        lock.unlock()
        streamPending.store(true, ordering: .relaxed)
        return 0
    }

    func propagate(db: Int, arguments: Arguments) -> UInt64 {
        lock.lock()
        selectLocked(db)
        AOFRecords.append(arguments, to: &stream)
        lock.unlock()
        streamPending.store(true, ordering: .relaxed)
        return 0
    }

    /// The next command carries a SELECT (a full sync starts: the replica's database is unknown).
    func forceSelectLocked() { streamDB = -1 }

    private func selectLocked(_ db: Int) {
        guard db != streamDB else { return }
        AOFRecords.appendSelect(db, to: &stream)
        streamDB = db
    }

    /// Something propagated is not yet on its way to the replicas (read once per loop round).
    var hasPendingStream: Bool { streamPending.load(ordering: .relaxed) }

    /// Moves what was propagated into the backlog and to the replicas: at the end of each
    /// event-loop round (`ReplyFlusher`) and from the cron (expiry, timers).
    func flushStream() {
        guard hasPendingStream else { return }
        lock.withLock { flushStreamLocked() }
    }

    func flushStreamLocked() {
        streamPending.store(false, ordering: .relaxed)
        guard stream.readableBytes > 0 else { return }
        let bytes = stream
        stream = ByteBuffer()
        stream.reserveCapacity(4096)
        feedLocked(bytes)
    }

    /// A command that only the replicas get (PING, REPLCONF GETACK): no database.
    func appendToStreamLocked(_ words: [String]) {
        guard backlog != nil, role == .master else { return }
        AOFRecords.append(words.map { ByteBuffer(string: $0) }, to: &stream)
        streamPending.store(true, ordering: .relaxed)
    }

    /// Bytes of the stream, in order: into the backlog, to online replicas, and into the
    /// buffers of replicas still receiving their snapshot.
    func feedLocked(_ bytes: ByteBuffer) {
        offsetNow += Int64(bytes.readableBytes)
        backlog?.append(bytes)
        for peer in peers.values {
            switch peer.phase {
            case .online:
                peer.send(bytes)
            case .receivingSnapshot, .waitingForAck:
                var copy = bytes
                peer.buffered.writeBuffer(&copy)
                let limit = config.outputLimit(.replica).hard
                if limit > 0 && peer.buffered.readableBytes > limit {
                    log.warning("Client \(peer.describe) scheduled to be closed ASAP for overcoming of output buffer limits.")
                    peer.close()
                }
            case .waitingForPass:
                break   // its snapshot, not yet taken, will hold these changes
            }
        }
    }

    /// The backlog and the sink appear with the first replica (every shard lock and `lock`
    /// held): a new history starts then, with a new id, as in Redis.
    private func createBacklogLocked() {
        guard backlog == nil else { return }
        if role == .master { startHistoryLocked() }
        backlog = ReplicationBacklog(capacity: config[.replBacklogSize], endOffset: offsetNow)
        attachSinkLocked()
    }

    /// The sink is attached while this server is a master with a backlog (caller holds every
    /// shard lock).
    private func attachSinkLocked() {
        server.propagation.replication = role == .master && backlog != nil ? self : nil
        server.propagation.refresh()
    }

    // MARK: Replicas (master side)

    /// A connection whose PSYNC or SYNC was accepted, on its event loop, after everything it
    /// was answered before was written: partial resync from the backlog when its history and
    /// offset allow, else a full sync.
    func attach(_ client: ClientState, channel: Channel) {
        guard let request = client.syncRequest else { return }
        client.syncRequest = nil
        client.peer = .replica
        let peer = ReplicaPeer(client: client, channel: channel)
        let keyspace = runtime.keyspace
        keyspace.lock(Keyspace.allShardsMask)
        lock.lock()
        createBacklogLocked()
        flushStreamLocked()
        peers[client.id] = peer
        let partial = tryPartialLocked(peer, request)
        var startNow = false
        if !partial {
            syncFull.wrappingIncrement(ordering: .relaxed)
            let diskless = config[.replDisklessSync] && client.replicaCapabilities.contains("eof") && !request.legacy
            peer.phase = .waitingForPass(diskless: diskless)
            if !passRunning && passDueAt == 0 {
                let delay = diskless ? Int64(config[.replDisklessSyncDelay]) * 1000 : 0
                passDueAt = monotonicMillis() + delay
                startNow = delay == 0
            }
            if !diskless && config[.replDisklessSync] {
                log.notice("Replica \(peer.describe) can't handle the EOF marker (no 'capa eof'): falling back to disk-based replication.")
            }
        }
        lock.unlock()
        keyspace.unlock(Keyspace.allShardsMask)
        if startNow { startPassIfDue() }
    }

    /// Redis's masterTryPartialResynchronization.
    private func tryPartialLocked(_ peer: ReplicaPeer, _ request: SyncRequest) -> Bool {
        let asked = request.replid
        if request.legacy || asked == "?" {
            log.notice("Full resync requested by replica \(peer.describe)")
            return false
        }
        guard asked == replid || (asked == replid2 && request.offset <= secondReplidOffset) else {
            if asked != replid2 {
                log.notice("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '\(asked)', my replication IDs are '\(replid)' and '\(replid2)')")
            } else {
                log.notice("Partial resynchronization not accepted: Requested offset for second ID was \(request.offset), but I can reply up to \(secondReplidOffset)")
            }
            syncPartialErr.wrappingIncrement(ordering: .relaxed)
            return false
        }
        guard let backlog, let missing = backlog.bytes(from: request.offset) else {
            log.notice("Unable to partial resync with replica \(peer.describe) for lack of backlog (Replica request was: \(request.offset)).")
            syncPartialErr.wrappingIncrement(ordering: .relaxed)
            return false
        }
        let psync2 = peer.client.replicaCapabilities.contains("psync2")
        peer.send(ByteBuffer(string: psync2 ? "+CONTINUE \(replid)\r\n" : "+CONTINUE\r\n"))
        if missing.readableBytes > 0 { peer.send(missing) }
        peer.phase = .online
        peer.ackAt = monotonicMillis()
        syncPartialOK.wrappingIncrement(ordering: .relaxed)
        log.notice("Partial resynchronization request from \(peer.describe) accepted. Sending \(missing.readableBytes) bytes of backlog starting from offset \(request.offset).")
        return true
    }

    /// The replica's connection closed.
    func replicaDisconnected(_ client: ClientState) {
        lock.withLock {
            guard let peer = peers.removeValue(forKey: client.id) else { return }
            peer.closed.store(true, ordering: .relaxed)
            if peers.isEmpty { lastPeerLeftAt = monotonicMillis() }
            log.notice("Connection with replica \(peer.describe) lost.")
        }
    }

    /// Closes every replica's connection (a new history: they reconnect and ask again).
    private func disconnectPeersLocked() {
        for peer in peers.values { peer.close() }
    }

    // MARK: ReplicationHooks

    var isReplica: Bool { lock.withLock { role == .replica } }
    /// The master this server replicates (CONFIG GET replicaof), nil when it is a master.
    var masterAddress: (host: String, port: Int)? { lock.withLock { link.map { ($0.host, $0.port) } } }
    var offset: Int64 { lock.withLock { offsetNow } }

    var refusesSync: String? {
        lock.withLock {
            guard role == .replica, link?.isUp != true else { return nil }
            return "NOMASTERLINK Can't SYNC while not connected with my master"
        }
    }

    func replconf(_ client: ClientState, _ options: [(String, String)]) -> ReplconfOutcome {
        for (name, value) in options {
            switch name {
            case "listening-port":
                guard let port = Int(value) else { return .error("ERR value is not an integer or out of range") }
                client.replicaListeningPort = port
            case "ip-address":
                break
            case "capa":
                client.replicaCapabilities.insert(value.lowercased())
            case "ack":
                guard client.peer == .replica, let acked = Int64(value) else { return .silent }
                acknowledged(client, offset: acked)
                return .silent
            case "getack":
                guard client.peer == .master, let link = lock.withLock({ link }) else { return .silent }
                return .reply(["REPLCONF", "ACK", String(link.appliedOffset)])
            case "rdb-only", "rdb-filter-only":
                return .error("ERR REPLCONF \(name) is not supported by Swiftlet")
            default:
                return .error("ERR Unrecognized REPLCONF option: \(name)")
            }
        }
        return .ok
    }

    private func acknowledged(_ client: ClientState, offset acked: Int64) {
        lock.withLock {
            guard let peer = peers[client.id] else { return }
            if acked > peer.ackOffset { peer.ackOffset = acked }
            peer.ackAt = monotonicMillis()
            if case .waitingForAck = peer.phase {
                // The replica loaded its snapshot: now the stream since then follows.
                if peer.buffered.readableBytes > 0 { peer.send(peer.buffered) }
                peer.buffered = ByteBuffer()
                peer.phase = .online
                log.notice("Synchronization with replica \(peer.describe) succeeded")
            }
            releaseWaitersLocked()
        }
    }

    func acknowledgedReplicas(offset: Int64) -> Int {
        lock.withLock { acknowledgedLocked(offset) }
    }

    private func acknowledgedLocked(_ offset: Int64) -> Int {
        peers.values.reduce(0) { $0 + ($1.phase == .online && $1.ackOffset >= offset ? 1 : 0) }
    }

    func waitForReplicas(_ waiter: BlockedWaiter, count: Int, offset: Int64) {
        lock.withLock {
            waiters.append((waiter, count, offset))
            appendToStreamLocked(["REPLCONF", "GETACK", "*"])
        }
    }

    private func releaseWaitersLocked() {
        guard !waiters.isEmpty else { return }
        waiters.removeAll { entry in
            if entry.waiter.claimed.load(ordering: .relaxed) { return true }   // timed out
            let acked = acknowledgedLocked(entry.offset)
            guard acked >= entry.count, entry.waiter.claim() else { return false }
            var out = ReplyWriter(buffer: ByteBuffer())
            out.integer(acked)
            entry.waiter.client.connection?.unblock(with: out.buffer, durability: 0)
            return true
        }
    }

    func replicaOf(_ master: (host: String, port: Int)?, requestedBy client: ClientState) -> Result<String, ReplicationError> {
        let who = "id=\(client.id) addr=\(client.remoteAddress)"
        guard let master else {
            if lock.withLock({ role == .replica }) {
                becomeMaster()
                log.notice("MASTER MODE enabled (user request from '\(who)')")
            }
            return .success("OK")
        }
        if let link = lock.withLock({ link }), link.host == master.host, link.port == master.port {
            log.notice("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
            return .success("OK Already connected to specified master")
        }
        becomeReplica(of: master.host, port: master.port)
        log.notice("REPLICAOF \(master.host):\(master.port) enabled (user request from '\(who)')")
        return .success("OK")
    }

    /// Role replica: the stream from `host:port` is applied from now on; this server's
    /// replicas are disconnected (they will continue from it), as Redis does.
    func becomeReplica(of host: String, port: Int) {
        let keyspace = runtime.keyspace
        keyspace.lock(Keyspace.allShardsMask)
        let old: MasterLink? = lock.withLock {
            let old = link
            flushStreamLocked()
            if role == .master && !startingUp { hasHistory = true }
            role = .replica
            disconnectPeersLocked()
            attachSinkLocked()
            link = MasterLink(replication: self, host: host, port: port, offset: offsetNow)
            return old
        }
        refreshRefusals()
        keyspace.unlock(Keyspace.allShardsMask)
        old?.stop()
        log.notice("Connecting to MASTER \(host):\(port)")
        lock.withLock { link }?.start()
    }

    /// REPLICAOF NO ONE: the history so far stays valid under the old id up to this offset
    /// (replid2), so the former siblings can continue from here.
    func becomeMaster() {
        let keyspace = runtime.keyspace
        keyspace.lock(Keyspace.allShardsMask)
        let old: MasterLink? = lock.withLock {
            let old = link
            link = nil
            role = .master
            hasHistory = true
            renameHistoryLocked(to: Replication.newReplicationID())
            streamDB = -1
            disconnectPeersLocked()
            attachSinkLocked()
            log.notice("Setting secondary replication ID to \(replid2), valid up to offset: \(secondReplidOffset). New replication ID is \(replid)")
            return old
        }
        refreshRefusals()
        keyspace.unlock(Keyspace.allShardsMask)
        old?.stop()
    }

    // MARK: Called by the master link (replica side)

    /// The id and offset to ask the master for (PSYNC replid offset+1); nil: a full sync (a
    /// server started as a replica has no history until its first sync; a master that becomes
    /// a replica offers its own, as Redis's "cached master using myself").
    var continuation: (replid: String, offset: Int64)? {
        lock.withLock { hasHistory ? (replid, offsetNow + 1) : nil }
    }
    private var hasHistory = false

    /// A full sync's snapshot is loaded: the master's history, from its offset.
    func fullSyncLoaded(replid newID: String, offset: Int64) {
        lock.withLock {
            startHistoryLocked(newID)
            hasHistory = true
            offsetNow = offset
            backlog = ReplicationBacklog(capacity: config[.replBacklogSize], endOffset: offset)
            disconnectPeersLocked()
        }
    }

    /// +CONTINUE with a different id: the master's history changed name (it was promoted, or
    /// is a sibling that was); ours did too, and ours stays valid under the old id.
    func continued(newReplid: String) {
        lock.withLock {
            guard !newReplid.isEmpty, newReplid != replid else { return }
            renameHistoryLocked(to: newReplid)
            log.notice("Master replication ID changed to \(newReplid)")
            disconnectPeersLocked()
        }
    }

    /// Bytes of the master's stream that were applied: ours from now on, unchanged.
    func appliedFromMaster(_ bytes: ByteBuffer) {
        lock.withLock {
            if backlog == nil { backlog = ReplicationBacklog(capacity: config[.replBacklogSize], endOffset: offsetNow) }
            feedLocked(bytes)
        }
    }

    /// The link went up or down: the refusals that depend on it.
    func linkChanged() { refreshRefusals() }

    // MARK: Refusals, cron

    /// Recomputes `runtime.replicationRefusals` from the role, the link and the replicas.
    func refreshRefusals() {
        var bits: UInt8 = 0
        lock.withLock {
            if role == .replica {
                bits |= ReplicationRefusal.keepsExpiredKeys
                if config[.replicaReadOnly] { bits |= ReplicationRefusal.readOnlyReplica }
                if !config[.replicaServeStaleData] && link?.isUp != true { bits |= ReplicationRefusal.staleData }
            } else {
                let wanted = config[.minReplicasToWrite]
                if wanted > 0 && goodReplicasLocked() < wanted { bits |= ReplicationRefusal.tooFewReplicas }
            }
        }
        runtime.replicationRefusals.store(bits, ordering: .relaxed)
        let replica = bits & ReplicationRefusal.keepsExpiredKeys != 0
        RedisStyleLogHandler.roleMark.store(UInt8(ascii: replica ? "S" : "M"), ordering: .relaxed)
    }

    /// Online replicas whose last acknowledgement is at most `min-replicas-max-lag` old.
    private func goodReplicasLocked() -> Int {
        let maxLag = Int64(config[.minReplicasMaxLag]) * 1000
        let now = monotonicMillis()
        return peers.values.reduce(0) { $0 + ($1.phase == .online && now - $1.ackAt <= maxLag ? 1 : 0) }
    }

    private var cronTicks = 0

    /// Every 100 ms: the stream (what timers propagated), due snapshot passes; every second:
    /// pings and keep-alives, timeouts, acknowledgements, refusals, the backlog's lifetime.
    private func cron() {
        flushStream()
        startPassIfDue()
        cronTicks += 1
        guard cronTicks % 10 == 0 else { return }
        let now = monotonicMillis()
        let timeout = Int64(config[.replTimeout]) * 1000
        lock.withLock {
            for peer in peers.values {
                switch peer.phase {
                case .waitingForPass:
                    peer.send(ByteBuffer(string: "\n"))   // keeps the replica's repl-timeout away, as Redis
                case .online, .waitingForAck:
                    // Bytes handed to its socket and not yet taken: a replica that stopped reading.
                    let limit = config.outputLimit(.replica).hard
                    if limit > 0 && peer.outstanding.load(ordering: .relaxed) > limit {
                        log.warning("Client \(peer.describe) scheduled to be closed ASAP for overcoming of output buffer limits.")
                        peer.close()
                    } else if now - peer.ackAt > timeout {
                        log.warning("Disconnecting timedout replica (streaming sync): \(peer.describe)")
                        peer.close()
                    }
                case .receivingSnapshot:
                    break
                }
            }
            if role == .master, backlog != nil, cronTicks % (10 * config[.replPingReplicaPeriod]) == 0 {
                appendToStreamLocked(["PING"])
            }
            let ttl = Int64(config[.replBacklogTTL]) * 1000
            if role == .master, backlog != nil, peers.isEmpty, ttl > 0, now - lastPeerLeftAt > ttl {
                freeBacklogIfIdle(now: now)
            }
            releaseWaitersLocked()
        }
        flushStream()
        lock.withLock { link }?.cron()
        refreshRefusals()
    }

    /// repl-backlog-ttl passed without replicas: the backlog goes and so does its history.
    /// Called under `lock`; the sink is detached from a task that takes the shard locks first.
    private func freeBacklogIfIdle(now: Int64) {
        let seconds = (now - lastPeerLeftAt) / 1000
        server.group.next().execute { [self] in
            let keyspace = runtime.keyspace
            keyspace.lock(Keyspace.allShardsMask)
            lock.withLock {
                guard role == .master, peers.isEmpty, backlog != nil else { return }
                flushStreamLocked()
                backlog = nil
                startHistoryLocked()
                attachSinkLocked()
                log.notice("Replication backlog freed after \(seconds) seconds without connected replicas.")
            }
            keyspace.unlock(Keyspace.allShardsMask)
        }
    }

    /// CONFIG SET repl-backlog-size.
    func applyBacklogSize() {
        lock.withLock { backlog?.resize(config[.replBacklogSize]) }
    }

    // MARK: INFO, ROLE

    func infoFields() -> [(String, String)] {
        lock.withLock {
            var fields: [(String, String)] = [("role", role == .master ? "master" : "slave")]
            if role == .replica, let link {
                fields += link.infoFields()
                fields += [
                    ("slave_priority", String(config[.replicaPriority])),
                    ("slave_read_only", config[.replicaReadOnly] ? "1" : "0"),
                    ("replica_announced", "1"),
                ]
            }
            let listed = peers.values.sorted { $0.client.id < $1.client.id }
            fields.append(("connected_slaves", String(listed.count)))
            let now = monotonicMillis()
            for (i, peer) in listed.enumerated() {
                fields.append(("slave\(i)", "ip=\(peer.ip),port=\(peer.client.replicaListeningPort),state=\(peer.phase.infoName),offset=\(peer.ackOffset),lag=\((now - peer.ackAt) / 1000)"))
            }
            if role == .master && config[.minReplicasToWrite] > 0 {
                fields.append(("min_slaves_good_slaves", String(goodReplicasLocked())))
            }
            fields += [
                ("master_failover_state", "no-failover"),
                ("master_replid", replid),
                ("master_replid2", replid2),
                ("master_repl_offset", String(offsetNow)),
                ("second_repl_offset", String(secondReplidOffset)),
                ("repl_backlog_active", backlog != nil ? "1" : "0"),
                ("repl_backlog_size", String(backlog?.capacity ?? config[.replBacklogSize])),
                ("repl_backlog_first_byte_offset", String(backlog?.firstByteOffset ?? 0)),
                ("repl_backlog_histlen", String(backlog?.count ?? 0)),
            ]
            return fields
        }
    }

    func role(_ out: inout ReplyWriter) {
        lock.lock()
        defer { lock.unlock() }
        if role == .replica, let link {
            out.array(5)
            out.bulk("slave")
            out.bulk(link.host)
            out.integer(link.port)
            out.bulk(link.roleState)
            out.integer(link.isUp ? Int(offsetNow) : -1)
            return
        }
        let listed = peers.values.filter { $0.phase == .online }.sorted { $0.client.id < $1.client.id }
        out.array(3)
        out.bulk("master")
        out.integer(Int(offsetNow))
        out.array(listed.count)
        for peer in listed {
            out.array(3)
            out.bulk(peer.ip)
            out.bulk(String(peer.client.replicaListeningPort))
            out.bulk(String(peer.ackOffset))
        }
    }
}

/// One replica of this server, as the master side sees it.
final class ReplicaPeer: @unchecked Sendable {
    // SAFETY: `phase`, `buffered`, `ackOffset` and `ackAt` are under `Replication.lock`.

    enum Phase: Equatable {
        /// A full sync is due: the next snapshot pass includes it.
        case waitingForPass(diskless: Bool)
        /// Its snapshot is on the way; the stream since the snapshot waits in `buffered`.
        case receivingSnapshot
        /// Snapshot sent without a length (diskless): the stream follows once it acknowledges
        /// (a replica reading up to the EOF mark must not find stream bytes behind it).
        case waitingForAck
        case online

        var infoName: String {
            switch self {
            case .waitingForPass: return "wait_bgsave"
            case .receivingSnapshot, .waitingForAck: return "send_bulk"
            case .online: return "online"
            }
        }
    }

    let client: ClientState
    let channel: Channel
    var phase: Phase = .waitingForPass(diskless: true)
    var buffered = ByteBuffer()
    var ackOffset: Int64 = 0
    var ackAt = monotonicMillis()
    let closed = ManagedAtomic<Bool>(false)
    /// Bytes handed to the channel and not yet written to the socket (snapshot pacing).
    let outstanding = ManagedAtomic<Int>(0)

    init(client: ClientState, channel: Channel) {
        self.client = client
        self.channel = channel
    }

    var ip: String {
        let address = client.remoteAddress
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }

    var describe: String { "\(ip):\(client.replicaListeningPort)" }

    /// Queues `bytes` on the replica's socket. Always through the loop's task queue, even from
    /// the loop itself: that queue is first in, first out, so bytes leave in the order they
    /// were sent from every thread (a direct write from the loop would overtake queued ones).
    func send(_ bytes: ByteBuffer) {
        let n = bytes.readableBytes
        outstanding.wrappingIncrement(by: n, ordering: .relaxed)
        let channel = self.channel, outstanding = self.outstanding
        channel.eventLoop.execute {
            channel.writeAndFlush(bytes).whenComplete { _ in outstanding.wrappingDecrement(by: n, ordering: .relaxed) }
        }
    }

    func close() {
        closed.store(true, ordering: .relaxed)
        channel.close(promise: nil)
    }
}
