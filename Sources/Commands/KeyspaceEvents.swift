import Atomics
import NIOCore

/// `notify-keyspace-events` classes (Redis's notify.c): which events are published, and on
/// which channel kinds (K: `__keyspace@<db>__:<key>` with the event as message; E:
/// `__keyevent@<db>__:<event>` with the key as message).
public struct KeyspaceEventClass: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let keyspace = Self(rawValue: 1 << 0)   // K
    public static let keyevent = Self(rawValue: 1 << 1)   // E
    public static let generic = Self(rawValue: 1 << 2)    // g: DEL, EXPIRE, RENAME, ...
    public static let string = Self(rawValue: 1 << 3)     // $
    public static let list = Self(rawValue: 1 << 4)       // l
    public static let set = Self(rawValue: 1 << 5)        // s
    public static let hash = Self(rawValue: 1 << 6)       // h
    public static let zset = Self(rawValue: 1 << 7)       // z
    public static let expired = Self(rawValue: 1 << 8)    // x
    public static let evicted = Self(rawValue: 1 << 9)    // e
    public static let stream = Self(rawValue: 1 << 10)    // t
    public static let keyMiss = Self(rawValue: 1 << 11)   // m
    public static let module = Self(rawValue: 1 << 12)    // d
    public static let newKey = Self(rawValue: 1 << 13)    // n

    /// The directive's letters (already validated by the configuration): `A` is `g$lshzxetd`.
    public init(letters: String) {
        var c: Self = []
        for letter in letters {
            switch letter {
            case "A": c.formUnion([.generic, .string, .list, .set, .hash, .zset, .expired, .evicted, .stream, .module])
            case "K": c.insert(.keyspace)
            case "E": c.insert(.keyevent)
            case "g": c.insert(.generic)
            case "$": c.insert(.string)
            case "l": c.insert(.list)
            case "s": c.insert(.set)
            case "h": c.insert(.hash)
            case "z": c.insert(.zset)
            case "x": c.insert(.expired)
            case "e": c.insert(.evicted)
            case "t": c.insert(.stream)
            case "m": c.insert(.keyMiss)
            case "d": c.insert(.module)
            case "n": c.insert(.newKey)
            default: break
            }
        }
        // Without K or E nothing is published, whatever the classes.
        self = c.isDisjoint(with: [.keyspace, .keyevent]) ? [] : c
    }
}

extension ServerRuntime {
    /// Publishes `event` on `key` of database `db` when its class is enabled (Redis's
    /// `notifyKeyspaceEvent`). Callers check `keyspaceEvents` first (`CommandContext.notify`):
    /// with notifications off, the command path pays one relaxed load.
    public func publishKeyspaceEvent(_ eventClass: KeyspaceEventClass, _ event: String, key: ByteBuffer, db: Int) {
        let flags = KeyspaceEventClass(rawValue: keyspaceEvents.load(ordering: .relaxed))
        guard flags.contains(eventClass) else { return }
        if flags.contains(.keyspace) {
            var channel = ByteBuffer(string: "__keyspace@\(db)__:")
            channel.writeImmutableBuffer(key)
            _ = pubsub.publish(channel: channel, message: ByteBuffer(string: event))
        }
        if flags.contains(.keyevent) {
            _ = pubsub.publish(channel: ByteBuffer(string: "__keyevent@\(db)__:\(event)"), message: key)
        }
    }
}

extension CommandContext {
    /// Publishes a keyspace event for `key` in the command's database, if its class is enabled.
    @inline(__always)
    public mutating func notify(_ eventClass: KeyspaceEventClass, _ event: StaticString, _ key: ByteBuffer) {
        if _slowPath(server.keyspaceEvents.load(ordering: .relaxed) & eventClass.rawValue != 0) {
            publish(eventClass, event, key)
        }
    }

    /// Out of line: inlined, the publication's set-up cost every read that missed ~19
    /// instructions with notifications off.
    @inline(never)
    mutating func publish(_ eventClass: KeyspaceEventClass, _ event: StaticString, _ key: ByteBuffer) {
        server.publishKeyspaceEvent(eventClass, event.description, key: key, db: db)
    }

    /// True when `new` events are wanted: the write paths then check whether a key is new.
    @inline(__always)
    var notifiesNewKeys: Bool {
        server.keyspaceEvents.load(ordering: .relaxed) & KeyspaceEventClass.newKey.rawValue != 0
    }
}

extension CommandContext {
    /// `event`, then `del` when the change left the key gone (a collection emptied by a pop or
    /// a removal is deleted, and Redis reports both, in this order).
    @inline(__always)
    public mutating func notifyRemoval(_ eventClass: KeyspaceEventClass, _ event: StaticString, _ key: ByteBuffer) {
        guard server.keyspaceEvents.load(ordering: .relaxed) != 0 else { return }
        notify(eventClass, event, key)
        if !exists(key) { notify(.generic, "del", key) }
    }
}
