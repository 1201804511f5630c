import Atomics
import NIOConcurrencyHelpers
import NIOCore
import Keyspace
import RESP

/// MONITOR: every command the server runs, as one status line per command to each monitoring
/// client, in Redis's format:
///
///     +1796647282.786798 [0 127.0.0.1:41642] "SET" "b" "x\ty"
///
/// Fed from the command path after a command ran (`CommandPath.call`), not for admin commands
/// (CONFIG, DEBUG, ... as Redis hides them), not for commands refused before they ran, and
/// once for a blocking command (when it is called, not again when it is served). Nobody
/// monitoring costs the command path one relaxed load of `count`.
public final class MonitorFeed: @unchecked Sendable {
    private let lock = NIOLock()
    private var monitors: [ObjectIdentifier: ClientState] = [:]   // guarded by lock
    /// How many clients monitor (read on every command).
    public let count = UnsafeAtomic<Int>.create(0)

    public init() {}

    deinit { count.destroy() }

    public func add(_ client: ClientState) {
        lock.withLockVoid {
            monitors[ObjectIdentifier(client)] = client
            count.store(monitors.count, ordering: .relaxed)
        }
        client.monitoring = true
    }

    public func remove(_ client: ClientState) {
        guard client.monitoring else { return }
        client.monitoring = false
        lock.withLockVoid {
            monitors.removeValue(forKey: ObjectIdentifier(client))
            count.store(monitors.count, ordering: .relaxed)
        }
    }

    /// Sends the command in `args`, run by `client` in database `db`, to every monitor.
    public func feed(_ command: Command, _ args: Arguments, db: Int, client: ClientState) {
        let receivers = lock.withLock { Array(monitors.values) }
        guard !receivers.isEmpty else { return }
        let line = Self.line(command, args, db: db, client: client, micros: currentTimeMicros())
        for m in receivers { m.connection?.send(line) }
    }

    static func line(_ command: Command, _ args: Arguments, db: Int, client: ClientState, micros: Int64) -> ByteBuffer {
        var out = ByteBuffer()
        let usec = String(micros % 1_000_000)
        out.writeString("+\(micros / 1_000_000).\(String(repeating: "0", count: 6 - usec.count))\(usec) [\(db) \(client.remoteAddress)]")
        for i in 0..<args.count {
            out.writeString(" \"")
            if SlowLog.redacts(command, args, i) {
                out.writeString("(redacted)")
            } else {
                args.withUnsafeBytes(i) { Self.writeQuoted($0, to: &out) }
            }
            out.writeInteger(UInt8(ascii: "\""))
        }
        out.writeString("\r\n")
        return out
    }

    /// Redis's `sdscatrepr` without the quotes: escapes for `\` `"` and control characters,
    /// `\xHH` for other unprintable bytes.
    static func writeQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout ByteBuffer) {
        let hex = Array("0123456789abcdef".utf8)
        for b in bytes {
            switch b {
            case UInt8(ascii: "\\"): out.writeString("\\\\")
            case UInt8(ascii: "\""): out.writeString("\\\"")
            case 10: out.writeString("\\n")
            case 13: out.writeString("\\r")
            case 9: out.writeString("\\t")
            case 7: out.writeString("\\a")
            case 8: out.writeString("\\b")
            case 32...126: out.writeInteger(b)
            default:
                out.writeString("\\x")
                out.writeInteger(hex[Int(b >> 4)])
                out.writeInteger(hex[Int(b & 15)])
            }
        }
    }
}
