import NIOConcurrencyHelpers
import NIOCore
import Keyspace

/// Channel and pattern subscriptions of every client. Its own lock, never held while a shard lock
/// is taken or a message is delivered: PUBLISH collects the receivers, unlocks, then delivers.
public final class PubSubHub: Sendable {
    struct Subscriber: Sendable {
        let client: ClientState
    }
    private struct State {
        var channels: [ByteBuffer: [Int: ClientState]] = [:]
        var patterns: [ByteBuffer: [Int: ClientState]] = [:]
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Returns true when newly subscribed.
    public func subscribe(_ client: ClientState, channel: ByteBuffer) -> Bool {
        state.withLockedValue { s in
            let channel = channel.owned()
            let added = s.channels[channel, default: [:]].updateValue(client, forKey: client.id) == nil
            return added
        }
    }

    public func unsubscribe(_ client: ClientState, channel: ByteBuffer) -> Bool {
        state.withLockedValue { s in
            guard var subs = s.channels[channel], subs.removeValue(forKey: client.id) != nil else { return false }
            s.channels[channel] = subs.isEmpty ? nil : subs
            return true
        }
    }

    public func psubscribe(_ client: ClientState, pattern: ByteBuffer) -> Bool {
        state.withLockedValue { s in
            s.patterns[pattern.owned(), default: [:]].updateValue(client, forKey: client.id) == nil
        }
    }

    public func punsubscribe(_ client: ClientState, pattern: ByteBuffer) -> Bool {
        state.withLockedValue { s in
            guard var subs = s.patterns[pattern], subs.removeValue(forKey: client.id) != nil else { return false }
            s.patterns[pattern] = subs.isEmpty ? nil : subs
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

    /// PUBSUB CHANNELS [pattern]
    public func activeChannels(matching pattern: ByteBuffer?) -> [ByteBuffer] {
        state.withLockedValue { s in
            let p = pattern?.bytes
            return s.channels.keys.filter { p == nil || p!.globMatches($0.bytes) }
        }
    }

    public func subscriberCount(channel: ByteBuffer) -> Int {
        state.withLockedValue { $0.channels[channel]?.count ?? 0 }
    }

    public var patternCount: Int { state.withLockedValue { $0.patterns.count } }
    public var channelCount: Int { state.withLockedValue { $0.channels.count } }

    /// Drops every subscription of a client (disconnect, RESET).
    public func removeAll(of client: ClientState) {
        state.withLockedValue { s in
            for c in client.channels {
                s.channels[c]?.removeValue(forKey: client.id)
                if s.channels[c]?.isEmpty == true { s.channels[c] = nil }
            }
            for p in client.patterns {
                s.patterns[p]?.removeValue(forKey: client.id)
                if s.patterns[p]?.isEmpty == true { s.patterns[p] = nil }
            }
        }
    }
}
