import Basics
import NIOCore
import XCTest
@testable import Commands
@testable import Keyspace
import RESP

/// A reply decoded for assertions.
indirect enum Reply: Equatable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk(String)
    case null
    case array([Reply])
    case nullArray
    case double(String)
    case map([Reply])      // flattened key, value, key, value
    case set([Reply])
    case push([Reply])
    case bool(Bool)
    case verbatim(String)

    var description: String {
        switch self {
        case .simple(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulk(let s): return "\"\(s)\""
        case .null: return "(nil)"
        case .nullArray: return "(nil array)"
        case .array(let a): return "[\(a.map(\.description).joined(separator: ", "))]"
        case .double(let d): return ",\(d)"
        case .map(let a): return "%{\(a.map(\.description).joined(separator: ", "))}"
        case .set(let a): return "~[\(a.map(\.description).joined(separator: ", "))]"
        case .push(let a): return ">[\(a.map(\.description).joined(separator: ", "))]"
        case .bool(let b): return "#\(b)"
        case .verbatim(let s): return "=\(s)"
        }
    }

    /// Elements of an array/set/map/push reply.
    var elements: [Reply] {
        switch self {
        case .array(let a), .set(let a), .map(let a), .push(let a): return a
        default: return []
        }
    }

    var string: String? {
        switch self {
        case .bulk(let s), .simple(let s), .verbatim(let s), .double(let s): return s
        default: return nil
        }
    }
}

/// Decodes one reply from `buffer` (all of it must be there).
func decodeReply(_ buffer: inout ByteBuffer) -> Reply? {
    guard let line = readLine(&buffer), let type = line.first else { return nil }
    let rest = String(line.dropFirst())
    func aggregate(_ n: Int, _ make: ([Reply]) -> Reply) -> Reply? {
        var items: [Reply] = []
        for _ in 0..<n { guard let r = decodeReply(&buffer) else { return nil }; items.append(r) }
        return make(items)
    }
    switch type {
    case "+": return .simple(rest)
    case "-": return .error(rest)
    case ":": return .integer(Int(rest)!)
    case "$", "=":
        let n = Int(rest)!
        if n < 0 { return .null }
        let s = buffer.readString(length: n)!
        buffer.moveReaderIndex(forwardBy: 2)
        return type == "$" ? .bulk(s) : .verbatim(String(s.dropFirst(4)))
    case "*":
        let n = Int(rest)!
        if n < 0 { return .nullArray }
        return aggregate(n, Reply.array)
    case "%": return aggregate(Int(rest)! * 2, Reply.map)
    case "~": return aggregate(Int(rest)!, Reply.set)
    case ">": return aggregate(Int(rest)!, Reply.push)
    case "_": return .null
    case ",": return .double(rest)
    case "#": return .bool(rest == "t")
    default: return nil
    }
}

private func readLine(_ buffer: inout ByteBuffer) -> String? {
    guard let i = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\r")) else { return nil }
    let s = buffer.readString(length: i - buffer.readerIndex)!
    buffer.moveReaderIndex(forwardBy: 2)
    return s
}

/// Minimal hooks: configuration in a dictionary, no persistence.
final class TestHooks: ServerHooks, @unchecked Sendable {
    var config: [String: String] = ["databases": "16", "port": "6379"]
    func configGet(_ patterns: [String]) -> [(String, String)] {
        config.filter { kv in patterns.contains { Array($0.utf8).globMatches(Array(kv.key.utf8)) } }.map { ($0.key, $0.value) }
    }
    func configSet(_ pairs: [(String, String)]) -> String? {
        for (k, v) in pairs { config[k] = v }
        return nil
    }
    func configRewrite() -> String? { "ERR The server is running without a config file" }
    func memoryReport() -> MemoryReport { MemoryReport() }
    func releaseFreeMemory() {}
    func allocatorStats() -> String? { nil }
    func resetStats() {}
    func info(sections: [String], client: ClientState) -> String { "# Server\r\nredis_version:7.0.15\r\n" }
    func shutdown(save: Bool?) -> String? { "ERR shutdown is not possible in tests" }
    var lastSave: Int { 0 }
    // Snapshot commands are tested against the real server (Tests/Integration/test_persistence.py).
    func save(_ snapshot: KeyspaceSnapshot, changes: Int) -> String? { "ERR no persistence in unit tests" }
    func backgroundSave(_ snapshot: KeyspaceSnapshot, changes: Int) -> String? { "ERR no persistence in unit tests" }
    func flushedAll(_ empty: KeyspaceSnapshot) {}
    func reload(save: Bool, flush: Bool, merge: Bool, changes: Int) -> String? { "ERR no persistence in unit tests" }
    func rewriteAppendOnlyFile(_ snapshot: KeyspaceSnapshot) -> String? { "ERR no persistence in unit tests" }
    // Replication itself is tested against the real server and redis-server
    // (Tests/Integration/test_replication.py); here a master without replicas.
    let replication: any ReplicationHooks = NoReplicas()
}

/// A master nobody replicates: what the replication commands' argument checks run against.
final class NoReplicas: ReplicationHooks, @unchecked Sendable {
    var replicaOfCalls: [String] = []
    func replicaOf(_ master: (host: String, port: Int)?, requestedBy client: ClientState) -> Result<String, ReplicationError> {
        replicaOfCalls.append(master.map { "\($0.host):\($0.port)" } ?? "NO ONE")
        return .success("OK")
    }
    func replconf(_ client: ClientState, _ options: [(String, String)]) -> ReplconfOutcome { .ok }
    var refusesSync: String? { nil }
    func role(_ out: inout ReplyWriter) {
        out.array(3); out.bulk("master"); out.integer(0); out.array(0)
    }
    var isReplica: Bool { false }
    var offset: Int64 { 0 }
    func acknowledgedReplicas(offset: Int64) -> Int { 0 }
    func waitForReplicas(_ waiter: BlockedWaiter, count: Int, offset: Int64) {}
}

/// An in-process server without networking: commands go through the real dispatcher, table,
/// locks and keyspace; replies are decoded.
final class TestServer: @unchecked Sendable {
    let runtime: ServerRuntime
    let hooks = TestHooks()

    init() {
        runtime = ServerRuntime(keyspace: Keyspace(databases: 16), table: .standard)
        runtime.hooks = hooks
    }

    func client(proto: ProtocolVersion = .resp2) -> TestClient {
        TestClient(server: self, proto: proto)
    }
}

/// A connected client of a `TestServer`. Messages and unblocked replies delivered to it are
/// collected in `pushed`.
final class TestClient: ClientConnection, @unchecked Sendable {
    let server: TestServer
    let state: ClientState
    var pushed: [Reply] = []
    var blocked = false
    private let lock = NSLock()

    func resumePostponed() {}

    func send(_ bytes: ByteBuffer) {
        var b = bytes
        lock.lock()
        defer { lock.unlock() }
        while b.readableBytes > 0, let reply = decodeReply(&b) { pushed.append(reply) }
    }

    init(server: TestServer, proto: ProtocolVersion) {
        self.server = server
        state = ClientState(id: server.runtime.clients.allocateID(), remoteAddress: "127.0.0.1:1", localAddress: "127.0.0.1:6379", fd: 0, now: currentTimeMillis())
        state.proto = proto
        server.runtime.clients.add(state)
        state.connection = self
    }

    /// Runs a command; returns its reply, or nil when the client blocked.
    @discardableResult
    func callBytes(_ args: [[UInt8]]) -> Reply? {
        var ctx = CommandContext(args: Arguments(args.map { ByteBuffer(bytes: $0) }), out: ReplyWriter(buffer: ByteBuffer(), proto: state.proto),
                                 keyspace: server.runtime.keyspace, client: state, server: server.runtime,
                                 now: currentTimeMillis(), db: state.db)
        ctx.begin(now: currentTimeMillis())
        let outcome = server.runtime.dispatch(&ctx)
        server.runtime.publishCounters(&ctx)
        if case .blocked = outcome { blocked = true }
        var out = ctx.out.buffer
        if out.readableBytes == 0 { return nil }
        let reply = decodeReply(&out)
        XCTAssertEqual(out.readableBytes, 0, "more than one reply to \(args.map { String(decoding: $0, as: UTF8.self) })")
        return reply
    }

    @discardableResult
    func call(_ args: String...) -> Reply? { callBytes(args.map { Array($0.utf8) }) }

    @discardableResult
    func call(_ args: [String]) -> Reply? { callBytes(args.map { Array($0.utf8) }) }

    func deliver(_ message: PushMessage) {
        // Encoded by the server's own writer, then decoded like any reply.
        var writer = ReplyWriter(buffer: ByteBuffer(), proto: state.proto)
        writer.push(message)
        lock.lock()
        if let reply = decodeReply(&writer.buffer) { pushed.append(reply) }
        lock.unlock()
    }

    func unblock(with reply: ByteBuffer, durability: UInt64) {
        var b = reply
        lock.lock()
        if let r = decodeReply(&b) { pushed.append(r) }
        blocked = false
        lock.unlock()
    }

    func kill() {}
}

/// Shorthands for expected replies.
func bulks(_ items: String...) -> Reply { .array(items.map { .bulk($0) }) }
func bulks(_ items: [String]) -> Reply { .array(items.map { .bulk($0) }) }
