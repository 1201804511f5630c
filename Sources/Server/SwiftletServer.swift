import Atomics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Commands
import CSwiftletSupport
import Configuration
import Keyspace
import Persistence
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// The server process: configuration, the event loops, the listening sockets, the periodic
/// jobs (active expiry), and the answers to what commands ask of the server (`ServerHooks`).
public final class SwiftletServer: ServerHooks, @unchecked Sendable {
    public let config: Config
    public let runtime: ServerRuntime
    let log: Logger
    let group: MultiThreadedEventLoopGroup
    private var channels: [Channel] = []
    private let connectedClients = ManagedAtomic<Int>(0)
    /// One reply flusher per event loop (see `ReplyFlusher`).
    private let flushers: [ObjectIdentifier: ReplyFlusher]
    private let expiry: ActiveExpiry
    private let shutdownPromise: EventLoopPromise<Void>
    let snapshots: Snapshots
    /// The append-only file (off unless `appendonly yes`).
    let appendOnly: AppendOnlyFile
    /// Where changes go: the append-only file and the replication stream.
    let propagation: PropagationTargets
    /// Set once, at the end of `init` (it needs the server).
    private var replicationState: Replication!
    var replicator: Replication { replicationState }
    public var replication: any ReplicationHooks { replicationState }
    /// `used_memory`, kept fresh for `maxmemory` (MemoryGauge.swift). Set once, in `init`.
    private(set) var memoryGauge: MemoryGauge!
    /// The HTTP endpoint's listening channel (`http-port`), if any.
    private(set) var httpChannel: Channel?
    /// INFO's instantaneous_* figures (sampled every 100 ms).
    let instantaneous: InstantaneousMetrics
    /// Random 40-hex-digit identity of this run (INFO run_id).
    let runID = Replication.newReplicationID()

    public init(config: Config) {
        self.config = config
        let level = Logger.Level(redisLevel: config[.logLevel])
        let logfile = config[.logFile]
        var logger = Logger(label: "swiftlet") { _ in RedisStyleLogHandler(level: level, file: logfile) }
        logger.logLevel = level
        log = logger
        KeySlot.configure(shards: config[.keyspaceShards])
        runtime = ServerRuntime(keyspace: Keyspace(databases: config[.databases]), table: .standard)
        group = MultiThreadedEventLoopGroup(numberOfThreads: config[.ioThreads])
        var flushers: [ObjectIdentifier: ReplyFlusher] = [:]
        for loop in group.makeIterator() { flushers[ObjectIdentifier(loop)] = ReplyFlusher(eventLoop: loop) }
        self.flushers = flushers
        expiry = ActiveExpiry(runtime: runtime)
        shutdownPromise = group.next().makePromise()
        snapshots = Snapshots(config: config, runtime: runtime, log: log)
        propagation = PropagationTargets(runtime: runtime)
        instantaneous = InstantaneousMetrics(stats: runtime.stats)
        appendOnly = AppendOnlyFile(config: config, runtime: runtime, targets: propagation, log: log)
        for flusher in flushers.values { flusher.appendOnly = appendOnly }
        appendOnly.backgroundSaveInProgress = { [snapshots] in snapshots.inProgress }
        runtime.hooks = self
        let replication = Replication(config: config, runtime: runtime, log: log, server: self)
        replicationState = replication
        for flusher in flushers.values { flusher.replication = replication }
        config.apply(to: runtime.memory)
        config.apply(to: runtime.statistics)
        config.applyKeyspaceEvents(to: runtime)
        memoryGauge = MemoryGauge(runtime: runtime, backlogBytes: { [replication] in replication.backlogMemory })
    }

    /// Binds every `bind` address and starts serving. Throws with a message naming the address
    /// when a mandatory one cannot be bound.
    public func start() throws {
        // Nothing silently ignored: each directive the user set that Swiftlet does not act on
        // is named once (Docs/configuration.md lists them all).
        for (name, reason) in config.ineffectiveDirectivesSet {
            log.warning("WARNING: '\(name)' is accepted but has no effect in Swiftlet: \(reason) (see Docs/configuration.md)")
        }
        let dir = config[.dir]
        if !dir.isEmpty {
            guard chdir(dir) == 0 else {
                throw ServerError("Can't chdir to '\(dir)': \(String(cString: strerror(errno)))")
            }
        }
        try loadUsers()
        // Like Redis: the dataset is loaded before the first client can connect, and a damaged
        // file stops the start (naming the file and offset) rather than starting empty. With
        // `appendonly yes` the append-only file wins over the RDB, even when it does not exist
        // yet (then the server starts empty and creates it, as Redis 7.0 does).
        if config[.appendOnly] {
            try loadAppendOnlyFile()
        } else {
            try snapshots.loadAtStartup()
        }
        let acceptOrder = AcceptOrder(clients: runtime.clients)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(acceptOrder)
                }
            }
            .serverChannelOption(.backlog, value: Int32(config[.tcpBacklog]))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // No accepting until `start` has installed the seccomp filter (then autoRead on).
            .serverChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: config[.tcpKeepalive] > 0 ? 1 : 0)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // A client that half-closes after sending still gets its replies: Connection answers
            // what it read, then closes (see `Connection.userInboundEventTriggered`).
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = acceptOrder.takeID(of: channel)
                    self.runtime.stats.connectionsReceived.wrappingIncrement(ordering: .relaxed)
                    let n = self.connectedClients.wrappingIncrementThenLoad(ordering: .relaxed)
                    if n > self.config[.maxClients] {
                        self.connectedClients.wrappingDecrement(ordering: .relaxed)
                        self.runtime.stats.rejectedConnections.wrappingIncrement(ordering: .relaxed)
                        var b = channel.allocator.buffer(capacity: 48)
                        b.writeString("-ERR max number of clients reached\r\n")
                        channel.writeAndFlush(b).whenComplete { _ in channel.close(promise: nil) }
                        return
                    }
                    let flusher = self.flushers[ObjectIdentifier(channel.eventLoop)]!
                    try channel.pipeline.syncOperations.addHandler(
                        Connection(id: id, runtime: self.runtime, server: self, channel: channel, flusher: flusher))
                }
            }
        let port = config[.port]
        // Said once the listeners accept, after the seccomp filter: runners wait for this line.
        var readyLines: [String] = []
        for spec in config[.bind].split(separator: " ").map(String.init) {
            let optional = spec.hasPrefix("-")
            var host = optional ? String(spec.dropFirst()) : spec
            if host == "*" { host = "0.0.0.0" }
            if host == "::*" { host = "::" }
            do {
                let channel = try bootstrap.bind(host: host, port: port).wait()
                channels.append(channel)
                readyLines.append("\(ServerLog.ready) tcp on \(host):\(channel.localAddress?.port ?? port)")
            } catch {
                if optional { continue }
                throw ServerError("Could not create server TCP listening socket \(host):\(port): \(error)")
            }
        }
        guard !channels.isEmpty else { throw ServerError("No address could be bound (bind \(config[.bind]))") }
        if config[.httpPort] > 0 {
            let host = config[.httpBind]
            do {
                let channel = try HTTPEndpoint(server: self).start(group: group, host: host, port: config[.httpPort])
                httpChannel = channel
                log.notice("HTTP endpoint (/health, /metrics) on \(host):\(channel.localAddress?.port ?? config[.httpPort])")
            } catch {
                throw ServerError("Could not create the HTTP listening socket \(host):\(config[.httpPort]) (http-port, http-bind): \(error)")
            }
        }
        // Start-up has opened all it needs (listeners, data files, the log): confine the process
        // before the first client is accepted, then accept.
        try SystemCallFilter.install(config: config, log: log)
        for channel in channels + [httpChannel].compactMap({ $0 }) {
            try channel.setOption(.autoRead, value: true).wait()
        }
        for line in readyLines { log.notice("\(line)") }
        expiry.start(on: group.next(), hz: config[.hz], enabled: runtime.activeExpireEnabled)
        snapshots.startSaveRules(on: group.next())
        replicator.start(on: group.next())
        startAutoRewrite(on: group.next())
        memoryGauge.measure()
        memoryGauge.start(on: group.next())
        instantaneous.start(on: group.next())
    }

    /// The AOF directory: `appenddirname` in the working directory (`dir`), as an absolute path
    /// so that a later CONFIG SET dir does not split one AOF across two directories.
    private var appendOnlyDirectory: String { currentDirectory() + "/" + config[.appendDirname] }

    private func loadAppendOnlyFile() throws {
        let start = monotonicMillis()
        let loader = AOFLoader(directory: appendOnlyDirectory, prefix: config[.appendFilename], runtime: runtime,
                               loadTruncated: config[.aofLoadTruncated], log: log)
        let summary = try loader.load()
        if let summary {
            log.notice("DB loaded from append only file: \(String(format3: Double(monotonicMillis() - start) / 1000)) seconds (\(summary.keysFromBase) keys from the base, \(summary.commands) commands replayed)")
        }
        // Loading is not a change to save, and its commands are not the clients'.
        runtime.stats.changesSinceSave.store(0, ordering: .relaxed)
        runtime.stats.commandsProcessed.store(0, ordering: .relaxed)
        try appendOnly.startAtBoot(directory: appendOnlyDirectory, loaded: summary?.manifest)
    }

    /// `auto-aof-rewrite-percentage` and `auto-aof-rewrite-min-size`: a rewrite once the AOF
    /// has grown that much over its size after the last rewrite (Redis's serverCron check).
    private func startAutoRewrite(on loop: EventLoop) {
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in
            guard appendOnly.isEnabled, !appendOnly.rewriteInProgress else { return }
            let percentage = config[.autoAOFRewritePercentage]
            let current = appendOnly.currentSize.load(ordering: .relaxed)
            let base = max(appendOnly.baseSize.load(ordering: .relaxed), 1)
            guard percentage > 0, current > config[.autoAOFRewriteMinSize], (current - base) * 100 / base >= percentage else { return }
            log.notice("Starting automatic rewriting of AOF on \((current - base) * 100 / base)% growth")
            let keyspace = runtime.keyspace
            keyspace.lock(Keyspace.allShardsMask)
            defer { keyspace.unlock(Keyspace.allShardsMask) }
            _ = appendOnly.beginRewrite(keyspace.snapshotHoldingLocks(now: currentTimeMillis()))
        }
    }

    /// The port actually bound (useful with `port 0`).
    public var boundPort: Int? { channels.first?.localAddress?.port }

    /// Blocks until SHUTDOWN (or a signal) stops the server.
    public func wait() throws {
        try shutdownPromise.futureResult.wait()
        for c in channels { try? c.close().wait() }
        try? httpChannel?.close().wait()
        replicator.stop()
        try? group.syncShutdownGracefully()
        appendOnly.stop()
    }

    func connectionClosed() {
        connectedClients.wrappingDecrement(ordering: .relaxed)
    }

    public func requestShutdown(reason: String) {
        log.warning("\(reason)")
        log.notice("Swiftlet is now ready to exit, bye bye...")
        shutdownPromise.succeed(())
    }

    // MARK: ServerHooks

    /// As in Redis, `dir` reads back as the absolute working directory.
    /// `replicaof` reads back as what REPLICAOF made of it.
    public func configGet(_ patterns: [String]) -> [(String, String)] {
        config.get(patterns).map { pair in
            switch pair.0 {
            case "dir": return (pair.0, currentDirectory())
            case "replicaof", "slaveof": return (pair.0, replicator.masterAddress.map { "\($0.host) \($0.port)" } ?? "")
            default: return pair
            }
        }
    }

    /// `dir` takes effect by changing the working directory, where snapshots are written; a
    /// directory that cannot be entered fails the whole CONFIG SET.
    public func configSet(_ pairs: [(String, String)]) -> String? {
        let wasOn = config[.appendOnly]
        if let error = config.set(pairs) { return error }
        // Old names (`slave-read-only`) act as the directive they stand for.
        let pairs = pairs.map { (Config.canonicalName($0.0), $0.1) }
        if pairs.contains(where: { ["appendfsync", "appendfsync-max-unsynced", "no-appendfsync-on-rewrite"].contains($0.0) }) {
            appendOnly.applyPolicy()
        }
        let names = Set(pairs.map(\.0))
        if names.contains("repl-backlog-size") { replicator.applyBacklogSize() }
        if !names.isDisjoint(with: Config.memoryLimitDirectives) {
            config.apply(to: runtime.memory)
            let limit = config[.maxMemory]
            if names.contains("maxmemory"), limit > 0, memoryGauge.measure() > limit {
                log.warning("WARNING: the new maxmemory value set via CONFIG SET (\(limit)) is smaller than the current memory usage (\(runtime.memory.used.load(ordering: .relaxed))). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.")
            }
        }
        if !names.isDisjoint(with: Config.statisticsDirectives) { config.apply(to: runtime.statistics) }
        if names.contains("notify-keyspace-events") { config.applyKeyspaceEvents(to: runtime) }
        applyACLConfig(names)
        if !names.isDisjoint(with: ["replica-read-only", "replica-serve-stale-data", "min-replicas-to-write", "min-replicas-max-lag"]) {
            replicator.refreshRefusals()
        }
        let on = config[.appendOnly]
        if on && !wasOn {
            // Redis starts a rewrite to make the base from the live data; so do we.
            if let error = appendOnly.turnOn(directory: appendOnlyDirectory) {
                _ = config.set([("appendonly", "no")])
                return error
            }
        } else if !on && wasOn {
            appendOnly.turnOff()
        }
        return nil
    }

    public func memoryReport() -> MemoryReport {
        var report = MemoryReport()
        let (bytes, tables, keys) = memoryGauge.dataset()
        report.used = memoryGauge.publish(dataset: bytes)
        report.peak = runtime.stats.memoryPeak.load(ordering: .relaxed)
        report.startup = memoryGauge.startup
        report.backlog = memoryGauge.replicationBacklog
        report.rss = MemoryStats.residentSetSize
        report.databases = (0..<keys.count).filter { keys[$0] > 0 }.map { db in
            (db: db, tables: tables[db].main, expires: tables[db].expires, keys: keys[db])
        }
        return report
    }

    public func releaseFreeMemory() {
        swiftlet_release_free_memory()
    }

    public func allocatorStats() -> String? {
        var text = [CChar](repeating: 0, count: 512)
        let n = swiftlet_malloc_stats(&text, text.count)
        return n > 0 ? String(cString: text) : nil
    }

    public func rewriteAppendOnlyFile(_ snapshot: KeyspaceSnapshot) -> String? {
        if !appendOnly.isEnabled && appendOnly.directoryPath.isEmpty {
            // With the AOF off a rewrite still makes a base in the AOF directory, as in Redis.
            appendOnly.prepareDirectory(appendOnlyDirectory)
        }
        return appendOnly.beginRewrite(snapshot)
    }

    private func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return config[.dir] }
        return String(cString: buffer)
    }

    /// CONFIG REWRITE: the file keeps its comments and order (Config.rewrite, Redis's algorithm);
    /// written to a temporary file, synced, then renamed over the old one.
    public func configRewrite() -> String? {
        guard let path = config.configFile else { return "ERR The server is running without a config file" }
        func failure() -> String { "ERR Rewriting config file: \(String(cString: strerror(errno)))" }
        var old = ""
        if let f = fopen(path, "r") {
            var chunk = [UInt8](repeating: 0, count: 65536)
            var bytes: [UInt8] = []
            while case let n = fread(&chunk, 1, chunk.count, f), n > 0 { bytes += chunk[0..<n] }
            fclose(f)
            old = String(decoding: bytes, as: UTF8.self)
        } else if errno != ENOENT {
            return failure()
        }
        let replicaOf = replicator.masterAddress.map { "\($0.host) \($0.port)" } ?? ""
        let text = config.rewrite(old, overrides: ["dir": currentDirectory(), "replicaof": replicaOf])
        guard let f = fopen(path + ".tmp", "w") else { return failure() }
        fputs(text, f)
        fflush(f)
        fsync(fileno(f))
        fclose(f)
        guard rename(path + ".tmp", path) == 0 else { return failure() }
        return nil
    }

    public func resetStats() {
        runtime.stats.reset()
        runtime.memory.evictedKeys.store(0, ordering: .relaxed)
        runtime.memory.evictionMicros.store(0, ordering: .relaxed)
        runtime.statistics.reset()
        for shard in runtime.keyspace.shards {
            shard.lock.withLockVoid { shard.stats = ShardStats() }
        }
    }

    /// INFO's default sections as field -> value (the HTTP endpoint reads these).
    func infoFields() -> [String: String] {
        InfoReport(server: self).fields()
    }

    public func info(sections: [String], client: ClientState) -> String {
        InfoReport(server: self).render(sections: sections)
    }

    public func shutdown(save: Bool?) -> String? {
        if let error = saveBeforeExit(save: save) { return error }
        requestShutdown(reason: "User requested shutdown...")
        return nil
    }

    /// What SHUTDOWN and SIGTERM do first: stop a background save, then save when asked to, or,
    /// unless NOSAVE, when save rules are configured. A failed save cancels the shutdown.
    public func saveBeforeExit(save: Bool?) -> String? {
        snapshots.cancelBackground()
        guard save ?? snapshots.hasSaveRules else { return nil }
        log.notice("Saving the final RDB snapshot before exiting.")
        let changes = runtime.stats.changesSinceSave.load(ordering: .relaxed)
        if snapshots.save(runtime.keyspace.snapshot(now: currentTimeMillis()), changes: changes) != nil {
            log.warning("Error trying to save the DB, can't exit.")
            return "ERR Errors trying to SHUTDOWN. Check logs."
        }
        return nil
    }

    public func save(_ snapshot: KeyspaceSnapshot, changes: Int) -> String? {
        snapshots.save(snapshot, changes: changes)
    }

    public func backgroundSave(_ snapshot: KeyspaceSnapshot, changes: Int) -> String? {
        snapshots.startBackground(snapshot, changes: changes)
    }

    public func flushedAll(_ empty: KeyspaceSnapshot) {
        snapshots.cancelBackground()
        if snapshots.hasSaveRules {
            _ = snapshots.save(empty, changes: runtime.stats.changesSinceSave.load(ordering: .relaxed))
        }
    }

    public func reload(save: Bool, flush: Bool, merge: Bool, changes: Int) -> String? {
        snapshots.reload(save: save, flush: flush, merge: merge, changes: changes)
    }

    public var lastSave: Int { snapshots.lastSaveTime.load(ordering: .relaxed) }
    var connectedClientCount: Int { connectedClients.load(ordering: .relaxed) }
}

public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// Sits in the listening socket's pipeline, where accepted connections arrive in the order the
/// kernel handed them over, and numbers them there: client ids then grow in connection order (as
/// in Redis) although the connections are set up on several event loops concurrently.
final class AcceptOrder: ChannelInboundHandler, Sendable {
    typealias InboundIn = Channel
    private let clients: ClientRegistry
    private let assigned = NIOLockedValueBox<[ObjectIdentifier: Int]>([:])

    init(clients: ClientRegistry) {
        self.clients = clients
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        let id = clients.allocateID()
        assigned.withLockedValue { $0[ObjectIdentifier(child)] = id }
        context.fireChannelRead(data)
    }

    /// The id assigned at accept time (removed from the table).
    func takeID(of channel: Channel) -> Int {
        assigned.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) } ?? clients.allocateID()
    }
}
