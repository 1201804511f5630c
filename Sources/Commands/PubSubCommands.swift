import NIOCore
import Keyspace
import RESP

/// Publish/subscribe: Redis's pubsub.c. Subscriptions live in `PubSubHub`; confirmations are
/// push messages in RESP3 and arrays in RESP2.
extension CommandTable {
    static let pubsubCommands: [Command] = [
        Command("subscribe", arity: -2, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Listens for messages published to channels.") { subscribe(&$0, .channel, "subscribe") },
        Command("unsubscribe", arity: -1, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Stops listening to messages posted to channels.") { unsubscribe(&$0, .channel, "unsubscribe") },
        Command("psubscribe", arity: -2, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Listens for messages published to channels that match one or more patterns.") { subscribe(&$0, .pattern, "psubscribe") },
        Command("punsubscribe", arity: -1, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Stops listening to messages published to channels that match one or more patterns.") { unsubscribe(&$0, .pattern, "punsubscribe") },
        Command("publish", arity: 3, flags: [.pubsub, .noKeyspace, .fast, .loading, .stale], group: "pubsub",
                summary: "Posts a message to a channel.", handler: publish),
        Command("ssubscribe", arity: -2, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Listens for messages published to shard channels.") { subscribe(&$0, .shardChannel, "ssubscribe") },
        Command("sunsubscribe", arity: -1, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Stops listening to messages posted to shard channels.") { unsubscribe(&$0, .shardChannel, "sunsubscribe") },
        Command("spublish", arity: 3, flags: [.pubsub, .noKeyspace, .fast, .loading, .stale], group: "pubsub",
                summary: "Post a message to a shard channel.", handler: spublish),
        Command("pubsub", arity: -2, flags: [.noKeyspace], group: "pubsub", summary: "A container for Pub/Sub commands.",
                subcommands: [
                    Command("channels", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns the active channels.") { ctx in
                        let channels = ctx.server.pubsub.active(.channel, matching: ctx.args.count > 2 ? ctx.args[2] : nil)
                        ctx.out.array(channels.count)
                        for c in channels { ctx.out.bulk(c) }
                    },
                    Command("numsub", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns a count of subscribers to channels.") { ctx in
                        ctx.out.array((ctx.args.count - 2) * 2)
                        for c in ctx.args.dropFirst(2) {
                            ctx.out.bulk(c)
                            ctx.out.integer(ctx.server.pubsub.subscriberCount(c, in: .channel))
                        }
                    },
                    Command("numpat", arity: 2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns a count of unique pattern subscriptions.") { ctx in
                        ctx.out.integer(ctx.server.pubsub.patternCount)
                    },
                    Command("shardchannels", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns the active shard channels.") { ctx in
                        let channels = ctx.server.pubsub.active(.shardChannel, matching: ctx.args.count > 2 ? ctx.args[2] : nil)
                        ctx.out.array(channels.count)
                        for c in channels { ctx.out.bulk(c) }
                    },
                    Command("shardnumsub", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns the count of subscribers of shard channels.") { ctx in
                        ctx.out.array((ctx.args.count - 2) * 2)
                        for c in ctx.args.dropFirst(2) {
                            ctx.out.bulk(c)
                            ctx.out.integer(ctx.server.pubsub.subscriberCount(c, in: .shardChannel))
                        }
                    },
                ]),
    ]

    private static func confirm(_ ctx: inout CommandContext, _ kind: String, _ name: ByteBuffer?, count: Int) {
        ctx.out.push(3)
        ctx.out.bulk(kind)
        if let name { ctx.out.bulk(name) } else { ctx.out.null() }
        ctx.out.integer(count)
    }

    /// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name, with the running count.
    private static func subscribe(_ ctx: inout CommandContext, _ ns: PubSubHub.Namespace, _ kind: String) {
        let client = ctx.client
        for name in ctx.args.dropFirst() {
            if ctx.server.pubsub.subscribe(client, to: name, in: ns) {
                switch ns {
                case .channel: client.channels.insert(name.owned())
                case .pattern: client.patterns.insert(name.owned())
                case .shardChannel: client.shardChannels.insert(name.owned())
                }
            }
            confirm(&ctx, kind, name, count: count(client, ns))
        }
    }

    /// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE; without names, from everything in the namespace.
    private static func unsubscribe(_ ctx: inout CommandContext, _ ns: PubSubHub.Namespace, _ kind: String) {
        let client = ctx.client
        var names = Array(ctx.args.dropFirst())
        if names.isEmpty {
            switch ns {
            case .channel: names = Array(client.channels)
            case .pattern: names = Array(client.patterns)
            case .shardChannel: names = Array(client.shardChannels)
            }
            if names.isEmpty { return confirm(&ctx, kind, nil, count: count(client, ns)) }
        }
        for name in names {
            if ctx.server.pubsub.unsubscribe(client, from: name, in: ns) {
                switch ns {
                case .channel: client.channels.remove(name)
                case .pattern: client.patterns.remove(name)
                case .shardChannel: client.shardChannels.remove(name)
                }
            }
            confirm(&ctx, kind, name, count: count(client, ns))
        }
    }

    /// Redis counts channels and patterns together, shard channels on their own.
    private static func count(_ client: ClientState, _ ns: PubSubHub.Namespace) -> Int {
        ns == .shardChannel ? client.shardChannels.count : client.channels.count + client.patterns.count
    }

    static func publish(_ ctx: inout CommandContext) {
        let receivers = ctx.server.pubsub.publish(channel: ctx.args[1], message: ctx.args[2])
        ctx.server.stats.pubsubMessages.wrappingIncrement(ordering: .relaxed)
        ctx.out.integer(receivers)
    }

    static func spublish(_ ctx: inout CommandContext) {
        ctx.out.integer(ctx.server.pubsub.publishShard(channel: ctx.args[1], message: ctx.args[2]))
    }
}
