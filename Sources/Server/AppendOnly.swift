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

/// The append-only file: every change leaves the command path as a deterministic command
/// (`PropagationSink`), is appended to the current incr file of a Redis 7.0 multi-part AOF
/// directory, and is made durable according to `appendfsync`.
///
/// Who does what:
///
///     command (event loop, shard locks held)   propagate: encode into `buffer`, take a ticket
///     end of the loop's round (ReplyFlusher)   writeBuffered: one write(2) of everything queued
///     the sync thread                          fdatasync, covering every ticket written so far
///                                              (group commit), then releases held replies
///
/// A ticket numbers one command's effects (one write). A connection whose reply depends on
/// ticket t sends it only when `mayReply(t)`:
///
///     no, everysec   once t is written (as Redis: replies leave after the write(2) of the
///                    round; a process crash loses nothing acknowledged, a power loss up to
///                    everysec's second or the kernel's writeback delay)
///     always         once t is synced
///     bounded N      once t <= synced + N: at most N acknowledged writes are ever un-synced
///
/// Held replies do not stop the event loops: the connection keeps its replies (in order) and
/// the sync thread hands it back to its loop when the ticket is released.
final class AppendOnlyFile: PropagationSink, @unchecked Sendable {
    // SAFETY: mutable state is under `lock` (the encode buffer), `writeLock` (the file and the
    // bytes on their way into it), `holders` (its box), `files` (its box), or atomic.

    enum Policy: Equatable {
        case no, everysec, always
        case bounded(Int)

        /// Replies may run this many writes ahead of the sync (nil: they never wait for it).
        var window: UInt64? {
            switch self {
            case .no, .everysec: return nil
            case .always: return 0
            case .bounded(let n): return UInt64(n)
            }
        }
    }

    private let config: Config
    private let runtime: ServerRuntime
    private let log: Logger

    // Encoding (any thread, under `lock`).
    private let lock = NIOLock()
    private var buffer = ByteBuffer()
    private var lastDB = -1
    private var appended: UInt64 = 0
    /// `appended`, readable without the lock (the end-of-round check).
    private let appendedTicket = ManagedAtomic<UInt64>(0)

    // The file (under `writeLock`).
    private let writeLock = NIOLock()
    private var spare = ByteBuffer()
    private var fd: Int32 = -1
    /// Held by the sync thread during fdatasync, and by whoever switches `fd`.
    private let syncLock = NIOLock()

    /// Tickets whose bytes are in the file (write(2) returned) and on stable storage.
    private let written = ManagedAtomic<UInt64>(0)
    private let synced = ManagedAtomic<UInt64>(0)
    /// Highest ticket whose reply was allowed out: acknowledged writes beyond `synced` are the
    /// ones a power loss would take (INFO aof_unsynced_writes).
    private let acknowledged = ManagedAtomic<UInt64>(0)
    private let unsyncedMax = ManagedAtomic<Int>(0)
    private let enabled = ManagedAtomic<Bool>(false)
    private let policyCode = ManagedAtomic<Int>(1)   // see `policy`
    private let window = ManagedAtomic<Int>(-1)      // -1: replies never wait for the sync
    /// `no-appendfsync-on-rewrite`, readable on the reply path without the config's lock.
    private let suspendable = ManagedAtomic<Bool>(false)

    // Counters for INFO.
    let currentSize = ManagedAtomic<Int>(0)
    let baseSize = ManagedAtomic<Int>(0)
    let delayedFsyncs = ManagedAtomic<Int>(0)
    let fsyncs = ManagedAtomic<Int>(0)
    private let lastWriteOK = ManagedAtomic<Bool>(true)
    /// Monotonic ms when the sync in flight started (0: none).
    private let syncStartedAt = ManagedAtomic<Int64>(0)
    private var postponedSince: Int64 = 0   // under writeLock: everysec's write postponed since

    // The sync thread.
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let wake = ConditionLock(value: 0)
    private let stopping = ManagedAtomic<Bool>(false)
    private var lastSyncAt: Int64 = 0

    struct Holder {
        let ticket: UInt64
        let connection: Connection
        let loop: EventLoop
    }
    private let holders = NIOLockedValueBox<[Holder]>([])
    /// `holders.count`, and when the last one was added, for the group commit's gathering
    /// (`gatherStragglers`), which also publishes how many it waits for (0: not gathering).
    private let heldCount = ManagedAtomic<Int>(0)
    private let lastHoldMicros = ManagedAtomic<Int64>(0)
    private let gatherTarget = ManagedAtomic<Int>(0)

    /// The directory and the files the manifest lists; `rewrite` state.
    struct Files {
        var directory = ""
        var manifest = AOFManifest()
        var rewriting = false
        var rewriteStartedAt: Int64 = 0
        var lastRewriteSeconds = -1
        var lastRewriteOK = true
        var rewrites = 0
        var consecutiveFailures = 0
    }
    private let files = NIOLockedValueBox(Files())
    /// True while a BGSAVE writes (set by the server): with `no-appendfsync-on-rewrite yes` no
    /// fsync runs then, nor during a rewrite, as in Redis.
    var backgroundSaveInProgress: @Sendable () -> Bool = { false }
    /// Writes the new base of a rewrite (one at a time).
    private let rewriter = NIOThreadPool(numberOfThreads: 1)

    /// Where `enable` and `turnOff` attach and detach this file.
    private let targets: PropagationTargets

    init(config: Config, runtime: ServerRuntime, targets: PropagationTargets, log: Logger) {
        self.config = config
        self.runtime = runtime
        self.targets = targets
        self.log = log
        buffer.reserveCapacity(64 * 1024)
        spare.reserveCapacity(64 * 1024)
        applyPolicy()
        thread.start()
        rewriter.start()
        thread.submit { [self] _ in syncLoop() }
    }

    var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    var policy: Policy {
        switch policyCode.load(ordering: .relaxed) {
        case 0: return .no
        case 1: return .everysec
        case 2: return .always
        default: return .bounded(window.load(ordering: .relaxed))
        }
    }

    /// `no-appendfsync-on-rewrite yes` and a rewrite or BGSAVE running: no fsync now, and replies
    /// do not wait for one (every policy acts as `no` meanwhile, as Redis's does: the user traded
    /// durability during the rewrite for latency).
    var fsyncSuspended: Bool {
        suspendable.load(ordering: .relaxed) && (rewriteInProgress || backgroundSaveInProgress())
    }

    /// Reads `appendfsync`, `appendfsync-max-unsynced` and `no-appendfsync-on-rewrite` (start-up
    /// and CONFIG SET).
    func applyPolicy() {
        suspendable.store(config[.noAppendfsyncOnRewrite], ordering: .relaxed)
        let code: Int, w: Int
        switch config[.appendFsync] {
        case "no": (code, w) = (0, -1)
        case "always": (code, w) = (2, 0)
        case "bounded": (code, w) = (3, config[.appendFsyncMaxUnsynced])
        default: (code, w) = (1, -1)
        }
        window.store(w, ordering: .relaxed)
        policyCode.store(code, ordering: .relaxed)
        // Replies held under the old policy may be allowed under the new one.
        releaseHolders()
        wake.lock()
        wake.unlock(withValue: 1)
    }

    // MARK: Propagation (command threads, shard locks held)

    func propagate(_ commands: [PropagatedCommand]) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        for command in commands {
            if command.db != lastDB {
                AOFRecords.appendSelect(command.db, to: &buffer)
                lastDB = command.db
            }
            AOFRecords.append(command.args, to: &buffer)
        }
        appended &+= 1
        appendedTicket.store(appended, ordering: .relaxed)
        return appended
    }

    func propagate(db: Int, arguments: Arguments) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        if db != lastDB {
            AOFRecords.appendSelect(db, to: &buffer)
            lastDB = db
        }
        AOFRecords.append(arguments, to: &buffer)
        appended &+= 1
        appendedTicket.store(appended, ordering: .relaxed)
        return appended
    }

    // MARK: Writing (event loops)

    /// True when some propagated bytes have not been handed to the file yet.
    var hasUnwritten: Bool {
        appendedTicket.load(ordering: .relaxed) != written.load(ordering: .relaxed)
    }

    /// Writes everything propagated so far to the file: once per event-loop round (before the
    /// round's replies leave), and whenever a reply needs its write. Under everysec a sync that
    /// is still running postpones the write for up to 2 s, as Redis does (a write(2) would wait
    /// for it); after that the write happens anyway and counts in `aof_delayed_fsync`.
    ///
    /// `wakeSync: false` leaves waking the sync thread to the caller (`roundEnded`): the
    /// flusher writes first and holds its connections' replies after, and a sync thread woken
    /// in between (on one core it preempts the loop) would find none of them held yet.
    func writeBuffered(wakeSync: Bool = true) {
        writeLock.lock()
        defer { writeLock.unlock() }
        guard fd >= 0 else { return }
        if policy == .everysec, syncStartedAt.load(ordering: .relaxed) != 0 {
            let now = monotonicMillis()
            if postponedSince == 0 { postponedSince = now }
            if now - postponedSince < 2000 { return }
            delayedFsyncs.wrappingIncrement(ordering: .relaxed)
            log.notice("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.")
        }
        postponedSince = 0
        let upTo: UInt64 = lock.withLock {
            swap(&buffer, &spare)
            return appended
        }
        if spare.readableBytes > 0 {
            do {
                try spare.withUnsafeReadableBytes { try SnapshotFile.writeAll(fd, $0, path: "the append only file") }
                currentSize.wrappingIncrement(by: spare.readableBytes, ordering: .relaxed)
                spare.clear()
                lastWriteOK.store(true, ordering: .relaxed)
            } catch {
                writeFailed(error, upTo: upTo)
                return
            }
        }
        written.store(upTo, ordering: .releasing)
        if wakeSync { wakeSyncThreadIfNeeded() }
    }

    /// The end of an event loop's flush round: its writes are in the file and the replies that
    /// wait for them are held, so the sync thread may start.
    func roundEnded() { wakeSyncThreadIfNeeded() }

    private func wakeSyncThreadIfNeeded() {
        guard policy.window != nil, written.load(ordering: .relaxed) > synced.load(ordering: .relaxed) else { return }
        // While the sync thread gathers a batch, only the round that completes it wakes it (it
        // wakes by itself when time is up): a wake per round cost two context switches each.
        let target = gatherTarget.load(ordering: .relaxed)
        if target > 0 && heldCount.load(ordering: .relaxed) < target { return }
        wake.lock()
        wake.unlock(withValue: 1)
    }

    /// A failed write keeps its bytes (they go first next time) and, under `always`, ends the
    /// server as Redis does: acknowledged writes could no longer be promised durable.
    private func writeFailed(_ error: Error, upTo: UInt64) {
        lastWriteOK.store(false, ordering: .relaxed)
        // Put the unwritten bytes back in front of whatever was propagated meanwhile.
        lock.withLock {
            spare.writeBuffer(&buffer)
            swap(&buffer, &spare)
            spare.clear()
        }
        if policy == .always {
            log.critical("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting... (\(error))")
            exit(1)
        }
        log.warning("Error writing to the AOF file: \(error)")
    }

    // MARK: Replies

    /// May the reply that depends on `ticket` leave now? Writes what it needs first under the
    /// policies that only wait for the write.
    func mayReply(_ ticket: UInt64) -> Bool {
        guard isEnabled else { return true }
        let w = window.load(ordering: .relaxed)
        if w < 0 || fsyncSuspended {
            if written.load(ordering: .acquiring) < ticket { writeBuffered() }
            noteAcknowledged(ticket)
            return true
        }
        guard ticket <= synced.load(ordering: .acquiring) &+ UInt64(w) else { return false }
        noteAcknowledged(ticket)
        return true
    }

    private func noteAcknowledged(_ ticket: UInt64) {
        var current = acknowledged.load(ordering: .relaxed)
        while current < ticket {
            let (exchanged, original) = acknowledged.compareExchange(expected: current, desired: ticket, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        let unsynced = Int(clamping: Int64(bitPattern: acknowledged.load(ordering: .relaxed) &- synced.load(ordering: .relaxed)))
        if unsynced > unsyncedMax.load(ordering: .relaxed) { unsyncedMax.store(unsynced, ordering: .relaxed) }
    }

    /// Acknowledged writes not yet on stable storage, now and at worst since start.
    var unsyncedWrites: (now: Int, max: Int) {
        let now = Int64(bitPattern: acknowledged.load(ordering: .relaxed) &- synced.load(ordering: .relaxed))
        return (max(0, Int(now)), unsyncedMax.load(ordering: .relaxed))
    }

    /// Keeps `connection`'s replies until `ticket` may be answered; then calls its
    /// `durabilityReached()` on its event loop. Makes sure the bytes are written and a sync runs.
    func hold(_ connection: Connection, ticket: UInt64, on loop: EventLoop) {
        if written.load(ordering: .acquiring) < ticket { writeBuffered() }
        let releaseNow: Bool = holders.withLockedValue { list in
            // Checked under the holders' lock: the sync thread releases under it too, so a sync
            // that completes right now is seen by one side or the other.
            if mayReply(ticket) { return true }
            list.append(Holder(ticket: ticket, connection: connection, loop: loop))
            heldCount.store(list.count, ordering: .relaxed)
            lastHoldMicros.store(monotonicMicros(), ordering: .relaxed)
            return false
        }
        if releaseNow { loop.execute { connection.durabilityReached() } }
    }

    /// Hands every connection whose ticket may now be answered back to its loop; returns how many.
    @discardableResult
    private func releaseHolders() -> Int {
        var ready: [Holder] = []
        holders.withLockedValue { list in
            guard !list.isEmpty else { return }
            var keep: [Holder] = []
            for h in list {
                if mayReply(h.ticket) { ready.append(h) } else { keep.append(h) }
            }
            list = keep
            heldCount.store(list.count, ordering: .relaxed)
        }
        guard !ready.isEmpty else { return 0 }
        // One task per event loop, not per connection.
        var byLoop: [ObjectIdentifier: (EventLoop, [Connection])] = [:]
        for h in ready { byLoop[ObjectIdentifier(h.loop), default: (h.loop, [])].1.append(h.connection) }
        for (_, (loop, connections)) in byLoop {
            loop.execute { for c in connections { c.durabilityReached() } }
        }
        return ready.count
    }

    // MARK: The sync thread

    private func syncLoop() {
        while !stopping.load(ordering: .relaxed) {
            // Woken by a write under always/bounded; otherwise once a second (everysec).
            if wake.lock(whenValue: 1, timeoutSeconds: 1.0) {
                wake.unlock(withValue: 0)
            }
            guard isEnabled else { continue }
            if fsyncSuspended {
                // Replies held from before the suspension began may leave now.
                releaseHolders()
                continue
            }
            let target = written.load(ordering: .acquiring)
            guard target > synced.load(ordering: .relaxed) else { continue }
            switch policy {
            case .no:
                continue
            case .everysec:
                guard monotonicMillis() - lastSyncAt >= 1000 else { continue }
            case .always:
                gatherStragglers(extendWhileComing: true)
            case .bounded:
                // Clients come back without being held while the window has room, so the
                // wait is not extended by their arrival: one sync time at most.
                gatherStragglers(extendWhileComing: false)
            }
            syncNow(upTo: written.load(ordering: .acquiring))
        }
    }

    // Group commit's batch (sync thread only): how many connections the last sync released and
    // how long it took.
    private var lastReleased = 0
    private var lastSyncMicros: Int64 = 0

    /// Before a sync, waits briefly for the clients the last sync released to send their next
    /// writes, so that one fdatasync covers them all. Without it the first of them to come back
    /// starts a sync on its own and the rest wait a whole sync behind it: the clients split
    /// into groups that take turns, each paying an fdatasync (~50 µs of CPU here), which is
    /// what limits throughput when the server is CPU-bound.
    ///
    /// The wait ends as soon as as many connections are held as were released; or when no new
    /// one has been held for as long as the last sync took (at least 50 µs, at most 1 ms:
    /// the clients that are coming back have come back; the others are reading, or gone); and
    /// after 2 ms in any case. A single client (lastReleased 1) never waits. Under `bounded`
    /// (`extendWhileComing: false`) the wait is one sync time at most: there the clients that
    /// come back are not all held, and waiting for them longer cost a third of the throughput.
    private func gatherStragglers(extendWhileComing: Bool) {
        guard lastReleased > 1 else { return }
        let idleLimit = max(50, min(lastSyncMicros, 1000))
        let start = monotonicMicros()
        gatherTarget.store(lastReleased, ordering: .relaxed)
        defer { gatherTarget.store(0, ordering: .relaxed) }
        while heldCount.load(ordering: .relaxed) < lastReleased {
            let now = monotonicMicros()
            let idleSince = extendWhileComing ? max(start, lastHoldMicros.load(ordering: .relaxed)) : start
            let left = min(idleLimit - (now - idleSince), 2000 - (now - start))
            if left <= 0 { return }
            // Woken by the round that completes the batch, or when time is up.
            if wake.lock(whenValue: 1, timeoutSeconds: Double(left) / 1_000_000) {
                wake.unlock(withValue: 0)
            }
        }
    }

    /// fdatasync of the current file; everything written up to `target` is then durable.
    private func syncNow(upTo target: UInt64) {
        syncLock.lock()
        let start = monotonicMillis()
        let startMicros = monotonicMicros()
        syncStartedAt.store(start, ordering: .relaxed)
        let ok = fd < 0 || fdatasync(fd) == 0
        let reason = ok ? "" : String(cString: strerror(errno))
        syncStartedAt.store(0, ordering: .relaxed)
        syncLock.unlock()
        lastSyncAt = start
        lastSyncMicros = monotonicMicros() - startMicros
        // Redis's latency event for the sync a write waits for; other policies sync off the
        // write path, reported as Swiftlet's `aof-fsync`.
        runtime.statistics.noteLatency(policy == .always ? "aof-fsync-always" : "aof-fsync", millis: Int(lastSyncMicros / 1000))
        guard ok else {
            if policy == .always {
                log.critical("Can't persist AOF for fsync error when the AOF fsync policy is 'always': \(reason). Exiting...")
                exit(1)
            }
            log.warning("Error syncing the AOF file: \(reason)")
            lastWriteOK.store(false, ordering: .relaxed)
            return
        }
        fsyncs.wrappingIncrement(ordering: .relaxed)
        if target > synced.load(ordering: .relaxed) { synced.store(target, ordering: .releasing) }
        lastReleased = releaseHolders()
    }

    // MARK: Files

    var directoryPath: String { files.withLockedValue { $0.directory } }
    var prefix: String { config[.appendFilename] }
    private func path(_ name: String) -> String { directoryPath + "/" + name }

    /// Starts appending at start-up, after `AOFLoader` loaded (or found no) files.
    /// `manifest` is what was loaded; nil: no AOF existed, so an empty base and incr file are
    /// made, as Redis 7.0 does ("Creating AOF base file ... on server start").
    func startAtBoot(directory: String, loaded manifest: AOFManifest?) throws {
        files.withLockedValue { $0.directory = directory }
        if let manifest, let last = manifest.incrs.last {
            files.withLockedValue { $0.manifest = manifest }
            try appendTo(path(last.name))
            baseSize.store(manifest.base.map { fileSize(path($0.name)) } ?? 0, ordering: .relaxed)
            currentSize.store(manifest.files.filter { $0.type != .history }.reduce(0) { $0 + fileSize(path($1.name)) }, ordering: .relaxed)
        } else {
            try createDirectory()
            var next = manifest ?? AOFManifest()
            let seq = (next.files.map(\.seq).max() ?? 0) + 1
            if next.base == nil {
                let base = AOFManifest.baseName(prefix, seq: seq, rdb: true)
                try writeBase(runtime.keyspace.snapshot(now: currentTimeMillis()), to: path(base))
                log.notice("Creating AOF base file \(base) on server start")
                next.files.append(.init(name: base, seq: seq, type: .base))
            }
            let incr = AOFManifest.incrName(prefix, seq: seq)
            try appendTo(path(incr))
            log.notice("Creating AOF incr file \(incr) on server start")
            next.files.append(.init(name: incr, seq: seq, type: .incr))
            try persist(next)
            files.withLockedValue { $0.manifest = next }
            baseSize.store(next.base.map { fileSize(path($0.name)) } ?? 0, ordering: .relaxed)
            currentSize.store(baseSize.load(ordering: .relaxed), ordering: .relaxed)
        }
        enable()
    }

    private func enable() {
        enabled.store(true, ordering: .relaxed)
        targets.appendOnly = self
        targets.refresh()
    }

    /// CONFIG SET appendonly yes while running: a rewrite from the live data makes the base;
    /// appending starts at the same instant (every shard lock held), so base plus incr is
    /// exactly the data.
    func turnOn(directory: String) -> String? {
        guard !isEnabled else { return nil }
        files.withLockedValue { $0.directory = directory }
        do { try createDirectory() } catch { return "ERR \(error)" }
        let existing = try? readManifest()
        files.withLockedValue { $0.manifest = existing ?? AOFManifest() }
        let keyspace = runtime.keyspace
        keyspace.lock(Keyspace.allShardsMask)
        defer { keyspace.unlock(Keyspace.allShardsMask) }
        return beginRewrite(keyspace.snapshotHoldingLocks(now: currentTimeMillis()), turningOn: true)
    }

    /// CONFIG SET appendonly no: stop appending; what was written is synced and the files stay.
    func turnOff() {
        guard isEnabled else { return }
        let keyspace = runtime.keyspace
        keyspace.lock(Keyspace.allShardsMask)
        targets.appendOnly = nil
        targets.refresh()
        enabled.store(false, ordering: .relaxed)
        keyspace.unlock(Keyspace.allShardsMask)
        closeFile()
        releaseHolders()
        log.notice("Background append only file rewriting stopped (appendonly no)")
    }

    /// Writes and syncs what is pending and closes the file (shutdown, appendonly no).
    func closeFile() { replaceFile(with: -1) }

    func stop() {
        if isEnabled { log.notice("Calling fsync() on the AOF file.") }
        closeFile()
        stopping.store(true, ordering: .relaxed)
        wake.lock()
        wake.unlock(withValue: 1)
        try? thread.syncShutdownGracefully()
        try? rewriter.syncShutdownGracefully()
    }

    // MARK: Rewrite

    var rewriteInProgress: Bool { files.withLockedValue { $0.rewriting } }
    var rewriteState: Files { files.withLockedValue { $0 } }

    /// BGREWRITEAOF (and CONFIG SET appendonly yes), with every shard lock held by the caller:
    /// from this instant new writes go to a new incr file, and a manifest listing the old base,
    /// the old incr files and the new one is in place, so a crash during the rewrite loses
    /// nothing. The rewriter thread writes `snapshot` as the new base; then the manifest
    /// switches to new base plus new incr, and the old files are deleted.
    func beginRewrite(_ snapshot: KeyspaceSnapshot, turningOn: Bool = false) -> String? {
        let started: Bool = files.withLockedValue {
            guard !$0.rewriting else { return false }
            $0.rewriting = true
            $0.rewriteStartedAt = monotonicMillis()
            return true
        }
        guard started else { return "ERR Background append only file rewriting already in progress" }
        var manifest = files.withLockedValue { $0.manifest }
        let seq = (manifest.files.map(\.seq).max() ?? 0) + 1
        // With the AOF off (BGREWRITEAOF anyway) there is no incr file: the base is everything.
        if isEnabled || turningOn {
            let incr = AOFManifest.incrName(prefix, seq: seq)
            do {
                try createDirectory()
                try appendTo(path(incr))
                manifest.files.append(.init(name: incr, seq: seq, type: .incr))
                if !turningOn { try persist(manifest) }
                files.withLockedValue { $0.manifest = manifest }
            } catch {
                files.withLockedValue { $0.rewriting = false }
                log.warning("Can't start the AOF rewrite: \(error)")
                return "ERR \(error)"
            }
            if turningOn { enable() }
        } else {
            do { try createDirectory() } catch {
                files.withLockedValue { $0.rewriting = false }
                return "ERR \(error)"
            }
        }
        log.notice("Background append only file rewriting started (no fork: snapshot of \(snapshot.keyCount) keys)")
        let box = SnapshotBox(snapshot)
        rewriter.submit { [self] _ in
            let base = AOFManifest.baseName(prefix, seq: seq, rdb: true)
            let outcome = Result { try writeBase(box.snapshot!, to: path(base)) }
            box.snapshot = nil
            finishRewrite(outcome, base: base, seq: seq)
        }
        return nil
    }

    /// Where a rewrite with the AOF off writes (BGREWRITEAOF before any `appendonly yes`).
    func prepareDirectory(_ directory: String) {
        files.withLockedValue { $0.directory = directory }
        if let existing = try? readManifest() { files.withLockedValue { $0.manifest = existing } }
    }

    private func finishRewrite(_ outcome: Result<Void, Error>, base: String, seq: Int) {
        let seconds = Int((monotonicMillis() - files.withLockedValue { $0.rewriteStartedAt }) / 1000)
        switch outcome {
        case .success:
            var manifest = files.withLockedValue { $0.manifest }
            let obsolete = manifest.files.filter { $0.seq < seq || $0.type == .history }
            manifest.files = manifest.files.filter { $0.seq >= seq && $0.type != .history }
            manifest.files.insert(.init(name: base, seq: seq, type: .base), at: 0)
            do {
                try persist(manifest)
            } catch {
                rewriteFailed("can't write the manifest: \(error)", seconds: seconds)
                return
            }
            files.withLockedValue {
                $0.manifest = manifest
                $0.rewriting = false
                $0.lastRewriteOK = true
                $0.lastRewriteSeconds = seconds
                $0.rewrites += 1
                $0.consecutiveFailures = 0
            }
            for f in obsolete { unlink(path(f.name)) }
            baseSize.store(fileSize(path(base)), ordering: .relaxed)
            currentSize.store(manifest.files.reduce(0) { $0 + fileSize(path($1.name)) }, ordering: .relaxed)
            log.notice("Background AOF rewrite finished successfully")
        case .failure(let error):
            rewriteFailed("\(error)", seconds: seconds)
        }
    }

    private func rewriteFailed(_ reason: String, seconds: Int) {
        files.withLockedValue {
            $0.rewriting = false
            $0.lastRewriteOK = false
            $0.lastRewriteSeconds = seconds
            $0.consecutiveFailures += 1
        }
        log.warning("Background AOF rewrite failed: \(reason)")
    }

    /// The base: an RDB with the `aof-base` aux field set (`aof-use-rdb-preamble yes`).
    private func writeBase(_ snapshot: KeyspaceSnapshot, to path: String) throws {
        let options = RDBWriter.Options(compression: config[.rdbCompression], checksum: config[.rdbChecksum], keyDelayMicros: 0)
        let aux: [(String, String)] = [
            ("redis-ver", SwiftletVersion.redisCompat),
            ("redis-bits", String(MemoryLayout<Int>.size * 8)),
            ("ctime", String(currentTimeMillis() / 1000)),
            ("aof-base", "1"),
            ("swiftlet-ver", SwiftletVersion.server),
        ]
        _ = try SnapshotFile.save(snapshot, to: path, options: options, aux: aux)
    }

    /// Points appending at `filePath` (created if missing): at start-up, and at a rewrite's
    /// start, where what is pending still goes to the old file.
    private func appendTo(_ filePath: String) throws {
        let newFD = open(filePath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard newFD >= 0 else {
            throw PersistenceError("Can't open the append-only file \(filePath): \(String(cString: strerror(errno)))")
        }
        replaceFile(with: newFD)
    }

    /// Makes `newFD` (-1: none) the file appended to. What is pending is written to the old
    /// file, which is synced and closed first: a reply waiting for it must not be released by a
    /// sync of the new one. The new file starts with SELECT.
    private func replaceFile(with newFD: Int32) {
        writeBuffered()
        writeLock.lock()
        syncLock.lock()
        if fd >= 0 {
            fdatasync(fd)
            close(fd)
        }
        fd = newFD
        lock.withLock { lastDB = -1 }
        if written.load(ordering: .relaxed) > synced.load(ordering: .relaxed) {
            synced.store(written.load(ordering: .relaxed), ordering: .releasing)
        }
        syncLock.unlock()
        writeLock.unlock()
        releaseHolders()
    }

    private func createDirectory() throws {
        let dir = directoryPath
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw PersistenceError("Can't open or create append-only dir \(dir): \(String(cString: strerror(errno)))")
        }
    }

    func readManifest() throws -> AOFManifest? {
        let manifestPath = path(AOFManifest.manifestName(prefix))
        guard let text = try? readTextFile(manifestPath) else { return nil }
        return try AOFManifest(parsing: text)
    }

    private func persist(_ manifest: AOFManifest) throws {
        try SnapshotFile.writeAtomically(Array(manifest.render().utf8), to: path(AOFManifest.manifestName(prefix)))
    }

    private func fileSize(_ filePath: String) -> Int {
        var info = stat()
        return stat(filePath, &info) == 0 ? Int(info.st_size) : 0
    }

    /// INFO persistence's `aof_*` fields, Redis 7.0's names and order, then Swiftlet's own.
    func infoFields() -> [(String, String)] {
        let f = rewriteState
        var fields: [(String, String)] = [
            ("aof_enabled", isEnabled ? "1" : "0"),
            ("aof_rewrite_in_progress", f.rewriting ? "1" : "0"),
            ("aof_rewrite_scheduled", "0"),
            ("aof_last_rewrite_time_sec", String(f.lastRewriteSeconds)),
            ("aof_current_rewrite_time_sec", f.rewriting ? String((monotonicMillis() - f.rewriteStartedAt) / 1000) : "-1"),
            ("aof_last_bgrewrite_status", f.lastRewriteOK ? "ok" : "err"),
            ("aof_rewrites", String(f.rewrites)),
            ("aof_rewrites_consecutive_failures", String(f.consecutiveFailures)),
            ("aof_last_write_status", lastWriteOK.load(ordering: .relaxed) ? "ok" : "err"),
            ("aof_last_cow_size", "0"),
        ]
        if isEnabled {
            let pendingBytes = lock.withLock { buffer.readableBytes }
            let unsynced = unsyncedWrites
            fields += [
                ("aof_current_size", String(currentSize.load(ordering: .relaxed))),
                ("aof_base_size", String(baseSize.load(ordering: .relaxed))),
                ("aof_pending_rewrite", "0"),
                ("aof_buffer_length", String(pendingBytes)),
                ("aof_pending_bio_fsync", syncStartedAt.load(ordering: .relaxed) != 0 ? "1" : "0"),
                ("aof_delayed_fsync", String(delayedFsyncs.load(ordering: .relaxed))),
                ("aof_unsynced_writes", String(unsynced.now)),
                ("aof_unsynced_writes_max", String(unsynced.max)),
                ("aof_fsyncs", String(fsyncs.load(ordering: .relaxed))),
                ("aof_writes", String(written.load(ordering: .relaxed))),
            ]
        }
        return fields
    }
}
