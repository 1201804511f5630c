import Basics
import NIOConcurrencyHelpers
import NIOCore
import Keyspace
import RESP

/// Channel, pattern and shard-channel subscriptions of every client. Its own lock, never held
/// while a shard lock is taken or a message is delivered: PUBLISH collects the receivers,
/// unlocks, then delivers.
public final class PubSubHub: Sendable {
    /// The three separate namespaces Redis 7.0 has.
    public enum Namespace: Sendable { case channel, pattern, shardChannel }

    private struct State {
        var channels: [ByteBuffer: [Int: ClientState]] = [:]
        var patterns: [ByteBuffer: [Int: ClientState]] = [:]
        var shardChannels: [ByteBuffer: [Int: ClientState]] = [:]

        subscript(ns: Namespace) -> [ByteBuffer: [Int: ClientState]] {
            get {
                switch ns {
                case .channel: return channels
                case .pattern: return patterns
                case .shardChannel: return shardChannels
                }
            }
            set {
                switch ns {
                case .channel: channels = newValue
                case .pattern: patterns = newValue
                case .shardChannel: shardChannels = newValue
                }
            }
        }
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Returns true when newly subscribed.
    public func subscribe(_ client: ClientState, to name: ByteBuffer, in ns: Namespace) -> Bool {
        state.withLockedValue { s in
            var subs = s[ns][name] ?? [:]
            let added = subs.updateValue(client, forKey: client.id) == nil
            s[ns][added ? name.owned() : name] = subs
            return added
        }
    }

    /// Returns true when the client was subscribed.
    public func unsubscribe(_ client: ClientState, from name: ByteBuffer, in ns: Namespace) -> Bool {
        state.withLockedValue { s in
            guard var subs = s[ns][name], subs.removeValue(forKey: client.id) != nil else { return false }
            s[ns][name] = subs.isEmpty ? nil : subs
            return true
        }
    }

    /// Delivers to every subscriber of the channel and of every matching pattern; returns how many
    /// received it.
    public func publish(channel: ByteBuffer, message: ByteBuffer) -> Int {
        let (direct, matched) = state.withLockedValue { s -> ([ClientState], [(ByteBuffer, ClientState)]) in
            let direct = s.channels[channel].map { Array($0.values) } ?? []
            var matched: [(ByteBuffer, ClientState)] = []
            if !s.patterns.isEmpty {
                let channelBytes = channel.bytes
                for (pattern, subs) in s.patterns where pattern.bytes.globMatches(channelBytes) {
                    for c in subs.values { matched.append((pattern, c)) }
                }
            }
            return (direct, matched)
        }
        guard !direct.isEmpty || !matched.isEmpty else { return 0 }
        let channel = channel.owned()
        let message = message.owned()
        for c in direct {
            c.connection?.deliver(PushMessage(kind: .message, pattern: nil, channel: channel, payload: message))
        }
        for (pattern, c) in matched {
            c.connection?.deliver(PushMessage(kind: .pmessage, pattern: pattern, channel: channel, payload: message))
        }
        return direct.count + matched.count
    }

    /// SPUBLISH: shard channels have no patterns.
    public func publishShard(channel: ByteBuffer, message: ByteBuffer) -> Int {
        let receivers = state.withLockedValue { s in s.shardChannels[channel].map { Array($0.values) } ?? [] }
        guard !receivers.isEmpty else { return 0 }
        let message = PushMessage(kind: .smessage, pattern: nil, channel: channel.owned(), payload: message.owned())
        for c in receivers { c.connection?.deliver(message) }
        return receivers.count
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS [pattern]
    public func active(_ ns: Namespace, matching pattern: ByteBuffer?) -> [ByteBuffer] {
        state.withLockedValue { s in
            let p = pattern?.bytes
            return s[ns].keys.filter { p == nil || p!.globMatches($0.bytes) }
        }
    }

    public func subscriberCount(_ name: ByteBuffer, in ns: Namespace) -> Int {
        state.withLockedValue { $0[ns][name]?.count ?? 0 }
    }

    public var patternCount: Int { state.withLockedValue { $0.patterns.count } }
    public var channelCount: Int { state.withLockedValue { $0.channels.count } }

    /// Every subscription of the clients `ids` (ACL SETUSER checks them against new channel
    /// rules); a scan of all subscriptions, for rare administrative use only.
    public func subscriptions(of ids: Set<Int>) -> [Int: [(Namespace, ByteBuffer)]] {
        state.withLockedValue { s in
            var out: [Int: [(Namespace, ByteBuffer)]] = [:]
            for ns in [Namespace.channel, .pattern, .shardChannel] {
                for (name, subscribers) in s[ns] {
                    for id in subscribers.keys where ids.contains(id) { out[id, default: []].append((ns, name)) }
                }
            }
            return out
        }
    }

    /// Drops every subscription of a client (disconnect, RESET).
    public func removeAll(of client: ClientState) {
        state.withLockedValue { s in
            for (ns, names) in [(Namespace.channel, client.channels), (.pattern, client.patterns), (.shardChannel, client.shardChannels)] {
                for name in names {
                    s[ns][name]?.removeValue(forKey: client.id)
                    if s[ns][name]?.isEmpty == true { s[ns][name] = nil }
                }
            }
        }
    }
}
