import Atomics
import NIOConcurrencyHelpers
import NIOCore
import Keyspace
import RESP

/// What the networking layer offers to the rest of the server about one connection. Every method
/// may be called from any thread; the implementation hops to the connection's event loop.
public protocol ClientConnection: AnyObject, Sendable {
    /// Sends a pub/sub message; encoded by the connection in its own protocol version.
    func deliver(_ message: PushMessage)
    /// A blocked command was served (or timed out): `reply` is its encoded reply (encoded for the
    /// client's protocol by the server that served it), to be sent once the durability ticket of
    /// what it changed is released (0: at once). Processing of queued input resumes.
    func unblock(with reply: ByteBuffer, durability: UInt64)
    /// Closes the connection after flushing what is already queued (CLIENT KILL).
    func kill()
    /// Appends protocol bytes to the connection's output (MONITOR's lines).
    func send(_ bytes: ByteBuffer)
    /// CLIENT UNPAUSE: run the command postponed by the pause now.
    func resumePostponed()
}

/// A command MULTI queued: resolved (subcommand included) and validated when it was queued.
public struct QueuedCommand {
    public let command: Command
    /// Owned copies: the receive buffer they came from is reused.
    public let args: Arguments
}

/// See `ClientState.peer`.
public enum ReplicationPeer: Sendable { case none, replica, master }

/// PSYNC <replid> <offset> (offset -1 and replid "?" ask for a full sync); SYNC is `legacy`.
public struct SyncRequest: Sendable {
    public let replid: String
    public let offset: Int64
    public let legacy: Bool
    public init(replid: String, offset: Int64, legacy: Bool) {
        self.replid = replid
        self.offset = offset
        self.legacy = legacy
    }
}

/// CLIENT REPLY mode.
public enum ReplyMode: Sendable { case on, off, skip }

/// The state of one client connection that commands read and change.
///
/// SAFETY: `@unchecked Sendable` because the mutable fields are touched only on the connection's
/// own event loop (commands of a client always run there), except `shared`, which other threads
/// (CLIENT LIST, INFO) read under its lock.
public final class ClientState: @unchecked Sendable {
    public let id: Int
    public let createdAt: Int64   // Unix ms
    /// Set when the connection goes away, before its blocked wait (if any) is cancelled: a
    /// server about to serve that wait sees it and leaves the data where it is.
    public let closed = ManagedAtomic<Bool>(false)
    /// The connection serving this client, for other clients' commands to reach it (PUBLISH
    /// delivery, CLIENT KILL and UNBLOCK, serving a blocked pop). Set when the connection starts,
    /// cleared by it when it closes (`disconnect()`); read and written under a lock because those
    /// callers run on other event loops. A strong reference on purpose: a `weak` one gives the
    /// connection object a side table, and every retain and release of an object with a side
    /// table takes the runtime's slow path (NIO retains the handler several times per read:
    /// ~4 % of the server's CPU at pipeline depth 1).
    public var connection: (any ClientConnection)? {
        get { connectionBox.withLockedValue { $0 } }
        set { connectionBox.withLockedValue { $0 = newValue } }
    }
    private let connectionBox = NIOLockedValueBox<(any ClientConnection)?>(nil)

    /// Drops the reference to the connection (which holds this state): called when it closes.
    public func disconnect() { connection = nil }

    public var db = 0
    public var proto: ProtocolVersion = .resp2
    public var authenticated = true
    /// The ACL user the connection runs as (AUTH changes it), and a copy of that user's rules as
    /// of `aclGeneration` (`ServerRuntime.refusedByACL` refreshes it when the users change).
    public private(set) var userName = "default"
    var aclUser: ACLUser? = nil
    var aclGeneration = 0
    /// The user may run every command on every key and channel: no per-command check.
    var aclUnrestricted = false
    /// The master link and the AOF loader: Redis runs them without a user, so no ACL applies.
    public var aclBypass = false
    public var replyMode: ReplyMode = .on

    /// Commands queued by MULTI, resolved, with owned copies of their arguments; nil when not in
    /// a transaction.
    public var multiQueue: [QueuedCommand]? = nil
    /// A queued command was rejected (unknown, wrong arity): EXEC answers EXECABORT.
    public var multiFailed = false
    /// WATCH session and the keys it watches.
    public var watchToken: WatchToken? = nil
    public var watchedKeys: [WatchedKey] = []
    /// Keys that were already logically expired when watched (Redis does not count their later
    /// deletion as a change).
    public var watchedExpiredAtWatch: Set<WatchedKey> = []

    public var channels: Set<ByteBuffer> = []
    public var patterns: Set<ByteBuffer> = []
    public var shardChannels: Set<ByteBuffer> = []
    /// Anything subscribed: in RESP2 such a client may only run (un)subscribe commands, PING, QUIT, RESET.
    public var subscriptionCount: Int { channels.count + patterns.count + shardChannels.count }
    /// CLIENT NO-EVICT: exempt from client eviction (flag `e`).
    public var noEvict = false
    /// In MONITOR mode (`MonitorFeed`).
    public var monitoring = false

    /// What this connection is to replication: an ordinary client, a replica of this server
    /// (after its PSYNC), or the link that applies this server's master's stream.
    public var peer: ReplicationPeer = .none
    /// REPLCONF listening-port and capa, sent by a replica before its PSYNC.
    public var replicaListeningPort = 0
    public var replicaCapabilities: Set<String> = []
    /// A PSYNC or SYNC was accepted: the connection hands itself to the replication master
    /// once the replies before it have been written.
    public var syncRequest: SyncRequest? = nil

    /// Fields other threads read (CLIENT LIST / INFO); updated once per read batch.
    public struct Shared: Sendable {
        public var name: String = ""
        public var user = "default"
        public var db = 0
        public var lastCommand = "NULL"
        public var flags = "N"
        public var resp = 2
        public var libName = ""
        public var libVersion = ""
        public var subscriptions = 0
        public var patterns = 0
        public var inMulti = -1
        public var queryBuffer = 0
        public var outputBuffer = 0
        /// The wait the client is blocked in, for CLIENT UNBLOCK from another connection.
        public var blockedWaiter: BlockedWaiter? = nil
    }
    public let shared: NIOLockedValueBox<Shared>
    /// Unix ms of the client's last request (CLIENT LIST `idle=`): stored on every read batch,
    /// so outside the lock, which is only taken when a field of `shared` changes.
    public let lastInteraction: ManagedAtomic<Int64>
    /// Bumped when a command publishes its own client's state mid-batch (CLIENT LIST/INFO), so
    /// the connection's end-of-batch publication knows `shared` no longer holds what it wrote.
    public var sharedRewrites = 0
    public let remoteAddress: String
    public let localAddress: String
    public let fd: Int32

    public init(id: Int, remoteAddress: String, localAddress: String, fd: Int32, now: Int64) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
        self.fd = fd
        self.createdAt = now
        self.shared = NIOLockedValueBox(Shared())
        self.lastInteraction = ManagedAtomic(now)
    }

    public var inMulti: Bool { multiQueue != nil }

    /// AUTH succeeded (or RESET went back to `default`): the rules are read before the next command.
    public func becomeUser(_ name: String, authenticated: Bool = true) {
        userName = name
        self.authenticated = authenticated
        aclGeneration = 0
        shared.withLockedValue { $0.user = name }
    }

    /// CLIENT LIST `flags=`: S replica, M master, P subscriber, x in MULTI, b blocked, e no-evict,
    /// O monitor, N none.
    public func flagString(blocked: Bool) -> String {
        var f = ""
        if peer == .replica { f += "S" }
        if peer == .master { f += "M" }
        if subscriptionCount > 0 { f += "P" }
        if inMulti { f += "x" }
        if blocked { f += "b" }
        if noEvict { f += "e" }
        if monitoring { f += "O" }
        return f.isEmpty ? "N" : f
    }

    /// The CLIENT LIST / CLIENT INFO line for this client.
    public func infoLine(now: Int64) -> String {
        let s = shared.withLockedValue { $0 }
        let age = (now - createdAt) / 1000
        let idle = (now - lastInteraction.load(ordering: .relaxed)) / 1000
        return "id=\(id) addr=\(remoteAddress) laddr=\(localAddress) fd=\(fd) name=\(s.name) age=\(age) idle=\(idle) "
            + "flags=\(s.flags) db=\(s.db) sub=\(s.subscriptions) psub=\(s.patterns) ssub=0 multi=\(s.inMulti) "
            + "qbuf=\(s.queryBuffer) qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 "
            + "omem=\(s.outputBuffer) tot-mem=\(s.queryBuffer + s.outputBuffer + 1024) events=r "
            + "cmd=\(s.lastCommand) user=\(s.user) redir=-1 resp=\(s.resp) lib-name=\(s.libName) lib-ver=\(s.libVersion)"
    }
}

/// Every connected client, for CLIENT LIST/KILL and INFO clients.
public final class ClientRegistry: Sendable {
    private let clients = NIOLockedValueBox<[Int: ClientState]>([:])
    private let nextID = NIOLockedValueBox<Int>(0)

    public init() {}

    public func allocateID() -> Int {
        nextID.withLockedValue { $0 += 1; return $0 }
    }

    public func add(_ client: ClientState) { clients.withLockedValue { $0[client.id] = client } }
    public func remove(_ client: ClientState) { _ = clients.withLockedValue { $0.removeValue(forKey: client.id) } }
    public var count: Int { clients.withLockedValue { $0.count } }
    public var all: [ClientState] { clients.withLockedValue { Array($0.values) }.sorted { $0.id < $1.id } }
    public func client(id: Int) -> ClientState? { clients.withLockedValue { $0[id] } }
}
