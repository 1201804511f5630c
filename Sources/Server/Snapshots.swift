import Atomics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Commands
import Configuration
import CSwiftletSupport
import Keyspace
import Persistence
#if canImport(Glibc)
import Glibc
#endif

/// SAVE, BGSAVE, the `save` rules, DEBUG RELOAD and loading at start-up: when snapshots are
/// taken and where they go. The file format is the Persistence module's job; this is policy.
///
/// BGSAVE without fork: the command captures a `KeyspaceSnapshot` while it holds every shard
/// lock (microseconds), and one background thread writes it while the event loops keep serving.
/// Copy-on-write keeps the snapshot's view frozen (Docs/persistence.md).
final class Snapshots: @unchecked Sendable {
    // SAFETY: mutable state lives in `state` (a lock) and atomics; the rest is set in init.
    private let config: Config
    private let runtime: ServerRuntime
    private let log: Logger
    /// The thread that writes background saves; one at a time, as in Redis.
    private let writer = NIOThreadPool(numberOfThreads: 1)

    struct State {
        var inProgress = false
        var startedAt: Int64 = 0          // monotonic ms of the running BGSAVE
        var lastBackgroundOK = true
        var lastBackgroundSeconds = -1
        var lastAttempt: Int64 = 0         // unix ms of the last BGSAVE attempt (for retries)
        /// Heap freed when the last background snapshot was released: the old versions of data
        /// that writers replaced while it ran (our equivalent of Redis's copy-on-write size).
        var lastSnapshotOnlyBytes = 0
        var saves = 0
        var lastLoadLoaded = 0
        var lastLoadExpired = 0
    }
    private let state = NIOLockedValueBox(State())
    private let cancelRequested = ManagedAtomic<Bool>(false)
    let lastSaveTime = ManagedAtomic<Int>(Int(currentTimeMillis() / 1000))

    /// Retry delay after a failed BGSAVE triggered by the save rules (Redis's 5 s).
    private static let retryDelayMillis: Int64 = 5000

    init(config: Config, runtime: ServerRuntime, log: Logger) {
        self.config = config
        self.runtime = runtime
        self.log = log
        writer.start()
    }

    var path: String { config[.dbFilename] }
    var inProgress: Bool { state.withLockedValue { $0.inProgress } }
    var hasSaveRules: Bool { !config.saveRules.isEmpty }

    private var options: RDBWriter.Options {
        RDBWriter.Options(compression: config[.rdbCompression], checksum: config[.rdbChecksum],
                          keyDelayMicros: config[.rdbKeySaveDelay])
    }

    private var aux: [(String, String)] {
        [
            ("redis-ver", SwiftletVersion.redisCompat),
            ("redis-bits", String(MemoryLayout<Int>.size * 8)),
            ("ctime", String(currentTimeMillis() / 1000)),
            ("used-mem", String(runtime.memory.used.load(ordering: .relaxed))),
            ("aof-base", "0"),
            ("swiftlet-ver", SwiftletVersion.server),
        ]
    }

    // MARK: Saving

    /// SAVE (and FLUSHALL's save, SHUTDOWN SAVE): writes in the calling thread. `changes` is
    /// the change counter when the snapshot was taken; that many are no longer "unsaved".
    func save(_ snapshot: KeyspaceSnapshot, changes: Int) -> String? {
        if inProgress { return "ERR Background save already in progress" }
        let start = monotonicMillis()
        do {
            let result = try SnapshotFile.save(snapshot, to: path, options: options, aux: aux)
            saved(changes: changes)
            state.withLockedValue { $0.lastBackgroundOK = true }
            log.notice("DB saved on disk (\(result.keys) keys, \(result.bytes) bytes in \(monotonicMillis() - start) ms)")
            return nil
        } catch {
            log.warning("\(error)")
            return "ERR \(error)"
        }
    }

    /// BGSAVE: hands the snapshot to the writer thread. Returns an error reply, or nil once
    /// the save has started.
    func startBackground(_ snapshot: KeyspaceSnapshot, changes: Int) -> String? {
        let started: Bool = state.withLockedValue {
            guard !$0.inProgress else { return false }
            $0.inProgress = true
            $0.startedAt = monotonicMillis()
            $0.lastAttempt = currentTimeMillis()
            return true
        }
        guard started else { return "ERR Background save already in progress" }
        cancelRequested.store(false, ordering: .relaxed)
        log.notice("Background saving started (no fork: snapshot of \(snapshot.keyCount) keys)")
        let path = self.path, options = self.options, aux = self.aux
        // Boxed so the writer can drop the last reference itself and measure what that frees
        // (a closure's captured value lives as long as the closure).
        let box = SnapshotBox(snapshot)
        writer.submit { [self] _ in
            let outcome = Result {
                try SnapshotFile.save(box.snapshot!, to: path, options: options, aux: aux) { self.cancelRequested.load(ordering: .relaxed) }
            }
            // What the snapshot alone kept alive: heap before and after letting it go.
            let held = Int(swiftlet_heap_in_use())
            box.snapshot = nil
            let snapshotOnly = max(0, held - Int(swiftlet_heap_in_use()))
            finishBackground(outcome, changes: changes, snapshotOnlyBytes: snapshotOnly)
        }
        return nil
    }

    private func finishBackground(_ outcome: Result<SnapshotFile.SaveResult, Error>, changes: Int, snapshotOnlyBytes: Int) {
        let ok: Bool
        switch outcome {
        case .success(let result):
            saved(changes: changes)
            log.notice("Background saving terminated with success (\(result.keys) keys, \(result.bytes) bytes; \(snapshotOnlyBytes) bytes held only by the snapshot)")
            ok = true
        case .failure(let error as RDBWriter.Cancelled):
            _ = error
            log.warning("Background saving cancelled (FLUSHALL)")
            ok = true
        case .failure(let error):
            log.warning("Background saving error: \(error)")
            ok = false
        }
        state.withLockedValue {
            $0.inProgress = false
            $0.lastBackgroundOK = ok
            $0.lastBackgroundSeconds = Int((monotonicMillis() - $0.startedAt) / 1000)
            $0.lastSnapshotOnlyBytes = snapshotOnlyBytes
        }
        refreshWriteRefusal()
    }

    private func saved(changes: Int) {
        runtime.stats.changesSinceSave.wrappingDecrement(by: changes, ordering: .relaxed)
        lastSaveTime.store(Int(currentTimeMillis() / 1000), ordering: .relaxed)
        state.withLockedValue { $0.saves += 1 }
    }

    /// Stops a running BGSAVE (FLUSHALL does, as Redis kills its child); waits for it to end.
    func cancelBackground() {
        guard inProgress else { return }
        cancelRequested.store(true, ordering: .relaxed)
        while inProgress { usleep(1000) }
    }

    /// Redis's `stop-writes-on-bgsave-error`: with save rules configured, a failed BGSAVE makes
    /// the server refuse writes until a save succeeds.
    func refreshWriteRefusal() {
        let refuse = config[.stopWritesOnBgsaveError] && hasSaveRules
            && !state.withLockedValue { $0.lastBackgroundOK }
        runtime.diskErrorRefusesWrites.store(refuse, ordering: .relaxed)
    }

    /// The `save <seconds> <changes>` rules, checked ten times a second as in Redis's serverCron.
    func startSaveRules(on loop: EventLoop) {
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in
            refreshWriteRefusal()
            let changes = runtime.stats.changesSinceSave.load(ordering: .relaxed)
            guard changes > 0 else { return }
            let now = currentTimeMillis()
            let (busy, lastOK, lastAttempt) = state.withLockedValue { ($0.inProgress, $0.lastBackgroundOK, $0.lastAttempt) }
            guard !busy, lastOK || now - lastAttempt > Snapshots.retryDelayMillis else { return }
            let sinceSave = Int(now / 1000) - lastSaveTime.load(ordering: .relaxed)
            guard let rule = config.saveRules.first(where: { changes >= $0.changes && sinceSave >= $0.seconds }) else { return }
            log.notice("\(rule.changes) changes in \(rule.seconds) seconds. Saving...")
            let snapshot = runtime.keyspace.snapshot(now: now)
            _ = startBackground(snapshot, changes: changes)
        }
    }

    // MARK: Loading

    /// Loads `dir/dbfilename` into the (empty) keyspace at start-up; throws a message naming the
    /// file and byte offset when it is damaged.
    func loadAtStartup() throws {
        let start = monotonicMillis()
        let keyspace = runtime.keyspace
        guard let summary = try SnapshotFile.load(path, databases: keyspace.databaseCount, now: currentTimeMillis(),
                                                  clock: runtime.initialAccess, insert: keyspace.insertLoaded) else { return }
        if let version = summary.aux["redis-ver"] { log.notice("Loading RDB produced by version \(version)") }
        finishLoad(summary, millis: monotonicMillis() - start)
    }

    private func finishLoad(_ summary: RDBLoadSummary, millis: Int64) {
        state.withLockedValue {
            $0.lastLoadLoaded = summary.keysLoaded
            $0.lastLoadExpired = summary.keysExpired
        }
        log.notice("Done loading RDB, keys loaded: \(summary.keysLoaded), keys expired: \(summary.keysExpired).")
        log.notice("DB loaded from disk: \(String(format3: Double(millis) / 1000)) seconds")
    }

    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE], with every shard lock held by the caller: save
    /// (unless NOSAVE), then load the file into a scratch keyspace and, only if that succeeded,
    /// replace (or, with NOFLUSH, add to) the live data. A bad file changes nothing.
    func reload(save: Bool, flush: Bool, merge: Bool, changes: Int) -> String? {
        let keyspace = runtime.keyspace
        if save {
            if let error = self.save(keyspace.snapshotHoldingLocks(now: currentTimeMillis()), changes: changes) { return error }
        }
        let start = monotonicMillis()
        let scratch = Keyspace(databases: keyspace.databaseCount)
        // Shard handles point into the keyspace's memory: keep it alive while they are used.
        defer { withExtendedLifetime(scratch) {} }
        let summary: RDBLoadSummary
        do {
            guard let loaded = try SnapshotFile.load(path, databases: keyspace.databaseCount, now: currentTimeMillis(),
                                                     clock: runtime.initialAccess, insert: scratch.insertLoaded) else {
                return "ERR Error trying to load the RDB dump: \(path) does not exist"
            }
            summary = loaded
        } catch {
            log.warning("\(error)")
            return "ERR Error trying to load the RDB dump, check server logs."
        }
        if flush {
            keyspace.replaceContents(with: scratch)
            finishLoad(summary, millis: monotonicMillis() - start)
            return nil
        }
        for (live, loaded) in zip(keyspace.shards, scratch.shards) {
            for db in 0..<keyspace.databaseCount {
                for table in loaded.dbs[db].tables {
                    for (stored, entry) in table {
                        let key = stored.byteBuffer
                        live.touchWatched(db: db, key: key)
                        if merge { live.dbs[db].remove(key) }
                        if !live.dbs[db].insertNew(key, entry) {
                            return "ERR Error trying to load the RDB dump: duplicate key '\(key.string)' (use DEBUG RELOAD MERGE)"
                        }
                    }
                }
            }
        }
        finishLoad(summary, millis: monotonicMillis() - start)
        return nil
    }

    // MARK: INFO

    func infoFields() -> [(String, String)] {
        let s = state.withLockedValue { $0 }
        let now = monotonicMillis()
        return [
            ("loading", "0"),
            ("async_loading", "0"),
            ("rdb_changes_since_last_save", String(runtime.stats.changesSinceSave.load(ordering: .relaxed))),
            ("rdb_bgsave_in_progress", s.inProgress ? "1" : "0"),
            ("rdb_last_save_time", String(lastSaveTime.load(ordering: .relaxed))),
            ("rdb_last_bgsave_status", s.lastBackgroundOK ? "ok" : "err"),
            ("rdb_last_bgsave_time_sec", String(s.lastBackgroundSeconds)),
            ("rdb_current_bgsave_time_sec", s.inProgress ? String((now - s.startedAt) / 1000) : "-1"),
            ("rdb_saves", String(s.saves)),
            ("rdb_last_cow_size", String(s.lastSnapshotOnlyBytes)),
            ("rdb_last_load_keys_expired", String(s.lastLoadExpired)),
            ("rdb_last_load_keys_loaded", String(s.lastLoadLoaded)),
        ]
    }
}

/// Owns the snapshot a background save is writing; emptied by the writer thread only.
final class SnapshotBox: @unchecked Sendable {
    var snapshot: KeyspaceSnapshot?
    init(_ snapshot: KeyspaceSnapshot) { self.snapshot = snapshot }
}

extension String {
    init(format3 value: Double) {
        let thousandths = Int((value * 1000).rounded())
        let frac = String(thousandths % 1000)
        self = "\(thousandths / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
