import Atomics
import NIOCore
import Configuration
import Keyspace
import Persistence
#if canImport(Glibc)
import Glibc
#endif

/// Full synchronisation, master side: one snapshot pass serves every replica waiting for one.
///
/// A pass takes the keyspace's point-in-time snapshot (no fork: the copy-on-write snapshot
/// BGSAVE uses) with every shard lock held, at the same instant as it fixes the offset it
/// tells the replicas (`+FULLRESYNC <replid> <offset>`); from then on the stream goes into each
/// replica's buffer. A background thread encodes the snapshot once and hands every chunk to
/// every replica of the pass: without `repl-diskless-sync` (or for a replica without
/// `capa eof`) into a temporary file first, then as `$<length>` and the file; diskless as
/// `$EOF:<mark>`, the RDB, and the mark. Replicas that arrive within
/// `repl-diskless-sync-delay` of the first one share the pass.
extension Replication {
    /// Starts the pass when it is due and none is running.
    func startPassIfDue() {
        let due: Bool = lock.withLock {
            guard !passRunning, passDueAt != 0 else { return false }
            if monotonicMillis() >= passDueAt { return true }
            // Enough replicas waiting ends the delay early (repl-diskless-sync-max-replicas).
            let most = config[.replDisklessSyncMaxReplicas]
            return most > 0 && waitingPeersLocked(diskless: true).count >= most
        }
        if due { startPass() }
    }

    private func waitingPeersLocked(diskless: Bool) -> [ReplicaPeer] {
        peers.values.filter { $0.phase == .waitingForPass(diskless: diskless) }.sorted { $0.client.id < $1.client.id }
    }

    private func startPass() {
        let keyspace = runtime.keyspace
        keyspace.lock(Keyspace.allShardsMask)
        lock.lock()
        guard !passRunning else {
            lock.unlock()
            keyspace.unlock(Keyspace.allShardsMask)
            return
        }
        // Diskless replicas first; the disk-based ones get the next pass.
        var diskless = true
        var members = waitingPeersLocked(diskless: true)
        if members.isEmpty {
            diskless = false
            members = waitingPeersLocked(diskless: false)
        }
        passDueAt = 0
        guard !members.isEmpty else {
            lock.unlock()
            keyspace.unlock(Keyspace.allShardsMask)
            return
        }
        flushStreamLocked()
        forceSelectLocked()
        let id = replid, offset = offsetNow
        for peer in members {
            peer.send(ByteBuffer(string: "+FULLRESYNC \(id) \(offset)\r\n"))
            peer.phase = .receivingSnapshot
            peer.buffered = ByteBuffer()
        }
        let snapshot = keyspace.snapshotHoldingLocks(now: currentTimeMillis())
        passRunning = true
        lock.unlock()
        keyspace.unlock(Keyspace.allShardsMask)
        snapshotPasses.wrappingIncrement(ordering: .relaxed)
        log.notice("Starting BGSAVE for SYNC with target: \(diskless ? "replicas sockets" : "disk") (no fork: snapshot of \(snapshot.keyCount) keys for \(members.count) replica\(members.count == 1 ? "" : "s"))")
        let box = SnapshotBox(snapshot)
        passWriter.submit { [self, members, diskless] _ in
            let outcome = Result { try writePass(box, to: members, diskless: diskless, replid: id, offset: offset) }
            box.snapshot = nil
            finishPass(members, diskless: diskless, outcome: outcome)
        }
    }

    /// Encodes the snapshot once, chunk by chunk to every member.
    private func writePass(_ box: SnapshotBox, to members: [ReplicaPeer], diskless: Bool, replid id: String, offset: Int64) throws {
        let options = RDBWriter.Options(compression: config[.rdbCompression], checksum: config[.rdbChecksum],
                                        keyDelayMicros: config[.rdbKeySaveDelay])
        let aux: [(String, String)] = [
            ("redis-ver", SwiftletVersion.redisCompat),
            ("redis-bits", String(MemoryLayout<Int>.size * 8)),
            ("ctime", String(currentTimeMillis() / 1000)),
            ("repl-stream-db", "0"),
            ("repl-id", id),
            ("repl-offset", String(offset)),
            ("aof-base", "0"),
            ("swiftlet-ver", SwiftletVersion.server),
        ]
        let live = { members.filter { !$0.closed.load(ordering: .relaxed) } }
        let cancelled = { live().isEmpty }
        if diskless {
            let mark = Replication.newReplicationID()   // 40 random hex digits, as Redis's
            try sendPaced(ByteBuffer(string: "$EOF:\(mark)\r\n"), live())
            let writer = RDBWriter(options: options) { [self] chunk in
                try sendPaced(ByteBuffer(bytes: chunk), live())
            }
            try writer.write(box.snapshot!, aux: aux, isCancelled: cancelled)
            try sendPaced(ByteBuffer(string: mark), live())
            return
        }
        // Disk-based: the length goes first, so the file is complete before anything is sent.
        let temp = "temp-repl-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).rdb"
        let fd = open(temp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PersistenceError("Can't open \(temp) for the replicas' snapshot: \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(temp)
        }
        let writer = RDBWriter(options: options) { chunk in try SnapshotFile.writeAll(fd, chunk, path: temp) }
        try writer.write(box.snapshot!, aux: aux, isCancelled: cancelled)
        let size = Int(lseek(fd, 0, SEEK_END))
        lseek(fd, 0, SEEK_SET)
        try sendPaced(ByteBuffer(string: "$\(size)\r\n"), live())
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            try chunk.withUnsafeBytes { try sendPaced(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<n])), live()) }
        }
    }

    /// Sends to every member, then waits while any of them has more than 8 MiB not yet taken by
    /// its socket (the slowest replica paces the pass; one that goes away stops counting).
    private func sendPaced(_ bytes: ByteBuffer, _ members: [ReplicaPeer]) throws {
        guard !members.isEmpty else { throw PersistenceError("every replica of the pass went away") }
        for peer in members { peer.send(bytes) }
        while members.contains(where: { !$0.closed.load(ordering: .relaxed) && $0.outstanding.load(ordering: .relaxed) > 8 << 20 }) {
            usleep(200)
        }
    }

    private func finishPass(_ members: [ReplicaPeer], diskless: Bool, outcome: Result<Void, Error>) {
        lock.withLock {
            passRunning = false
            for peer in members where !peer.closed.load(ordering: .relaxed) {
                switch outcome {
                case .success:
                    if diskless {
                        peer.phase = .waitingForAck
                        peer.ackAt = monotonicMillis()   // repl-timeout counts from here
                    } else {
                        if peer.buffered.readableBytes > 0 { peer.send(peer.buffered) }
                        peer.buffered = ByteBuffer()
                        peer.phase = .online
                        peer.ackAt = monotonicMillis()
                        log.notice("Synchronization with replica \(peer.describe) succeeded")
                    }
                case .failure(let error):
                    log.warning("Full sync of replica \(peer.describe) failed: \(error)")
                    peer.close()
                }
            }
            if case .success = outcome {
                log.notice("Background RDB transfer terminated with success")
            }
            // Replicas that came during this pass: the next one, after their own delay.
            if peers.values.contains(where: { if case .waitingForPass = $0.phase { return true } else { return false } }), passDueAt == 0 {
                passDueAt = monotonicMillis()
            }
        }
    }
}
