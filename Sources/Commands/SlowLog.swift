import DequeModule
import NIOConcurrencyHelpers
import NIOCore
import Keyspace
import RESP

/// The slow log (SLOWLOG GET/LEN/RESET): commands whose execution took at least
/// `slowlog-log-slower-than` microseconds, newest first, at most `slowlog-max-len` of them.
/// Only a slow command takes the lock, so the command path pays one comparison.
public final class SlowLog: @unchecked Sendable {
    public struct Entry: Sendable {
        public let id: Int
        /// Unix seconds when the command finished.
        public let time: Int
        public let micros: Int
        /// As Redis keeps them: at most 32 arguments, each at most 128 bytes (with a note of
        /// what was cut), secrets replaced by "(redacted)".
        public let arguments: [ByteBuffer]
        public let peer: String
        public let clientName: String
    }

    static let maxArguments = 32
    static let maxArgumentBytes = 128

    private let lock = NIOLock()
    private var entries: Deque<Entry> = []     // guarded by lock, newest first
    private var nextID = 0                     // guarded by lock
    private var maxLength = 128                // guarded by lock

    public init() {}

    public var count: Int { lock.withLock { entries.count } }

    /// The newest `limit` entries (all for nil).
    public func newest(_ limit: Int?) -> [Entry] {
        lock.withLock { Array(entries.prefix(limit ?? entries.count)) }
    }

    public func reset() {
        lock.withLockVoid { entries.removeAll() }
    }

    /// `slowlog-max-len`: trims at once, as Redis does on CONFIG SET.
    public func setMaxLength(_ n: Int) {
        lock.withLockVoid {
            maxLength = max(n, 0)
            while entries.count > maxLength { entries.removeLast() }
        }
    }

    /// Logs the command in `args` that took `micros`.
    public func add(_ command: Command, _ args: Arguments, micros: Int, client: ClientState, now: Int64) {
        let arguments = Self.loggedArguments(command, args)
        let name = client.shared.withLockedValue { $0.name }
        lock.withLockVoid {
            guard maxLength > 0 else { return }
            entries.prepend(Entry(id: nextID, time: Int(now / 1000), micros: micros, arguments: arguments,
                                  peer: client.remoteAddress, clientName: name))
            nextID += 1
            while entries.count > maxLength { entries.removeLast() }
        }
    }

    static func loggedArguments(_ command: Command, _ args: Arguments) -> [ByteBuffer] {
        let kept = min(args.count, maxArguments)
        var out: [ByteBuffer] = []
        out.reserveCapacity(kept)
        for i in 0..<kept {
            if i == maxArguments - 1 && args.count > maxArguments {
                out.append(ByteBuffer(string: "... (\(args.count - maxArguments + 1) more arguments)"))
                break
            }
            if redacts(command, args, i) {
                out.append(ByteBuffer(string: "(redacted)"))
                continue
            }
            var arg = args[i]
            if arg.readableBytes > maxArgumentBytes {
                let more = arg.readableBytes - maxArgumentBytes
                var cut = arg.readSlice(length: maxArgumentBytes)!
                cut.writeString("... (\(more) more bytes)")
                arg = cut
            }
            out.append(arg)
        }
        return out
    }

    /// Passwords stay out of the log, as in Redis: AUTH's arguments, HELLO's after AUTH.
    static func redacts(_ command: Command, _ args: Arguments, _ i: Int) -> Bool {
        switch command.name {
        case "auth":
            return i >= 1
        case "hello":
            var j = 2
            while j < args.count {
                if args[j].equalsIgnoringCase("AUTH") { return i == j + 1 || i == j + 2 }
                j += 1
            }
            return false
        default:
            return false
        }
    }

    /// SLOWLOG GET's reply for the entries.
    static func write(_ entries: [Entry], _ out: inout ReplyWriter) {
        out.array(entries.count)
        for e in entries {
            out.array(6)
            out.integer(e.id)
            out.integer(e.time)
            out.integer(e.micros)
            out.array(e.arguments.count)
            for a in e.arguments { out.bulk(a) }
            out.bulk(e.peer)
            out.bulk(e.clientName)
        }
    }
}
