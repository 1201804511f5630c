import NIOCore
import Keyspace
import RESP

/// Publish/subscribe: Redis's pubsub.c. Subscriptions live in `PubSubHub`; confirmations are
/// push messages in RESP3 and arrays in RESP2.
extension CommandTable {
    static let pubsubCommands: [Command] = [
        Command("subscribe", arity: -2, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Listens for messages published to channels.", handler: subscribe),
        Command("unsubscribe", arity: -1, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Stops listening to messages posted to channels.", handler: unsubscribe),
        Command("psubscribe", arity: -2, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Listens for messages published to channels that match one or more patterns.", handler: psubscribe),
        Command("punsubscribe", arity: -1, flags: [.pubsub, .noKeyspace, .pubsubContext, .noscript, .loading, .stale],
                group: "pubsub", summary: "Stops listening to messages published to channels that match one or more patterns.", handler: punsubscribe),
        Command("publish", arity: 3, flags: [.pubsub, .noKeyspace, .fast, .loading, .stale], group: "pubsub",
                summary: "Posts a message to a channel.", handler: publish),
        Command("pubsub", arity: -2, flags: [.noKeyspace], group: "pubsub", summary: "A container for Pub/Sub commands.",
                subcommands: [
                    Command("channels", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns the active channels.") { ctx in
                        let channels = ctx.server.pubsub.activeChannels(matching: ctx.args.count > 2 ? ctx.args[2] : nil)
                        ctx.out.array(channels.count)
                        for c in channels { ctx.out.bulk(c) }
                    },
                    Command("numsub", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns a count of subscribers to channels.") { ctx in
                        ctx.out.array((ctx.args.count - 2) * 2)
                        for c in ctx.args.dropFirst(2) {
                            ctx.out.bulk(c)
                            ctx.out.integer(ctx.server.pubsub.subscriberCount(channel: c))
                        }
                    },
                    Command("numpat", arity: 2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns a count of unique pattern subscriptions.") { ctx in
                        ctx.out.integer(ctx.server.pubsub.patternCount)
                    },
                    Command("shardchannels", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns the active shard channels (none: Swiftlet has no cluster mode).") { ctx in
                        ctx.out.array(0)
                    },
                    Command("shardnumsub", arity: -2, flags: [.pubsub, .noKeyspace, .loading, .stale], group: "pubsub",
                            summary: "Returns the count of subscribers of shard channels.") { ctx in
                        ctx.out.array((ctx.args.count - 2) * 2)
                        for c in ctx.args.dropFirst(2) {
                            ctx.out.bulk(c)
                            ctx.out.integer(0)
                        }
                    },
                ]),
    ]

    private static func confirm(_ ctx: inout CommandContext, _ kind: String, _ name: ByteBuffer?) {
        ctx.out.push(3)
        ctx.out.bulk(kind)
        if let name { ctx.out.bulk(name) } else { ctx.out.null() }
        ctx.out.integer(ctx.client.subscriptionCount)
    }

    static func subscribe(_ ctx: inout CommandContext) {
        for channel in ctx.args.dropFirst() {
            if ctx.server.pubsub.subscribe(ctx.client, channel: channel) {
                ctx.client.channels.insert(channel.owned())
            }
            confirm(&ctx, "subscribe", channel)
        }
    }

    static func unsubscribe(_ ctx: inout CommandContext) {
        var channels = Array(ctx.args.dropFirst())
        if channels.isEmpty {
            channels = Array(ctx.client.channels)
            if channels.isEmpty { return confirm(&ctx, "unsubscribe", nil) }
        }
        for channel in channels {
            if ctx.server.pubsub.unsubscribe(ctx.client, channel: channel) {
                ctx.client.channels.remove(channel)
            }
            confirm(&ctx, "unsubscribe", channel)
        }
    }

    static func psubscribe(_ ctx: inout CommandContext) {
        for pattern in ctx.args.dropFirst() {
            if ctx.server.pubsub.psubscribe(ctx.client, pattern: pattern) {
                ctx.client.patterns.insert(pattern.owned())
            }
            confirm(&ctx, "psubscribe", pattern)
        }
    }

    static func punsubscribe(_ ctx: inout CommandContext) {
        var patterns = Array(ctx.args.dropFirst())
        if patterns.isEmpty {
            patterns = Array(ctx.client.patterns)
            if patterns.isEmpty { return confirm(&ctx, "punsubscribe", nil) }
        }
        for pattern in patterns {
            if ctx.server.pubsub.punsubscribe(ctx.client, pattern: pattern) {
                ctx.client.patterns.remove(pattern)
            }
            confirm(&ctx, "punsubscribe", pattern)
        }
    }

    static func publish(_ ctx: inout CommandContext) {
        let receivers = ctx.server.pubsub.publish(channel: ctx.args[1], message: ctx.args[2])
        ctx.server.stats.pubsubMessages.wrappingIncrement(ordering: .relaxed)
        ctx.out.integer(receivers)
    }
}
