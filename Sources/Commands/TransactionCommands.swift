import NIOCore
import Keyspace
import RESP

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH: Redis's multi.c.
///
/// EXEC locks the union of the shards of every queued command (and of the watched keys) at once,
/// so the transaction is atomic and isolated across shards: no other command can observe or
/// interleave with a half-applied transaction.
extension CommandTable {
    static let transactionCommands: [Command] = [
        Command("multi", arity: 1, flags: [.fast, .noKeyspace, .noMulti, .loading, .stale], group: "transactions",
                summary: "Starts a transaction.", handler: multi),
        Command("exec", arity: 1, flags: [.runsQueued, .noMulti, .loading, .stale, .skipSlowlog], group: "transactions",
                summary: "Executes all commands in a transaction.", handler: exec),
        Command("discard", arity: 1, flags: [.fast, .noKeyspace, .noMulti, .loading, .stale], group: "transactions",
                summary: "Discards a transaction.", handler: discard),
        Command("watch", arity: -2, flags: [.fast, .noMulti, .loading, .stale], keys: .range(first: 1, last: -1, step: 1),
                group: "transactions", summary: "Monitors changes to keys to determine the execution of a transaction.", handler: watch),
        Command("unwatch", arity: 1, flags: [.fast, .noKeyspace, .loading, .stale], group: "transactions",
                summary: "Forgets about watched keys of a transaction.", handler: unwatch),
    ]

    static func multi(_ ctx: inout CommandContext) {
        guard !ctx.client.inMulti else { return ctx.out.error("ERR MULTI calls can not be nested") }
        ctx.client.multiQueue = []
        ctx.client.multiFailed = false
        ctx.out.ok()
    }

    static func discard(_ ctx: inout CommandContext) {
        guard ctx.client.inMulti else { return ctx.out.error("ERR DISCARD without MULTI") }
        ctx.client.multiQueue = nil
        ctx.client.multiFailed = false
        unwatchAll(&ctx)
        ctx.out.ok()
    }

    static func watch(_ ctx: inout CommandContext) {
        let client = ctx.client
        guard !client.inMulti else { return ctx.out.error("ERR WATCH inside MULTI is not allowed") }
        let token = client.watchToken ?? WatchToken()
        client.watchToken = token
        for key in ctx.args.dropFirst() {
            let watched = WatchedKey(db: ctx.db, key: key.owned())
            if client.watchedKeys.contains(watched) { continue }
            let shard = ctx.keyspace.shard(for: key)
            shard.addWatcher(token, db: ctx.db, key: key)
            client.watchedKeys.append(watched)
            if let entry = shard.dbs[ctx.db].entry(key), Database.isExpired(entry, now: ctx.now) {
                client.watchedExpiredAtWatch.insert(watched)
            }
        }
        ctx.out.ok()
    }

    static func unwatch(_ ctx: inout CommandContext) {
        unwatchAll(&ctx)
        ctx.out.ok()
    }

    /// Forgets every watched key of the client. Takes the shard locks it needs, except those the
    /// current invocation already holds (UNWATCH queued inside a transaction runs under EXEC's locks).
    static func unwatchAll(_ ctx: inout CommandContext) {
        let client = ctx.client
        guard let token = client.watchToken else { return }
        for w in client.watchedKeys {
            let index = KeySlot.shard(w.key)
            let shard = ctx.keyspace.shards[index]
            if ctx.lockedMask & (1 << UInt64(index)) != 0 {
                shard.removeWatcher(token, db: w.db, key: w.key)
            } else {
                shard.lock.withLockVoid { shard.removeWatcher(token, db: w.db, key: w.key) }
            }
        }
        client.watchToken = nil
        client.watchedKeys = []
        client.watchedExpiredAtWatch = []
    }

    /// Runs with the shards of every queued command and watched key held (the command path
    /// locks them for `.runsQueued`): checks WATCH, then runs each queued command through the
    /// same `call` as any other command.
    static func exec(_ ctx: inout CommandContext) {
        let client = ctx.client
        guard let queue = client.multiQueue else { return ctx.out.error("ERR EXEC without MULTI") }
        client.multiQueue = nil
        if client.multiFailed {
            client.multiFailed = false
            unwatchAll(&ctx)
            return ctx.out.error("EXECABORT Transaction discarded because of previous errors.")
        }
        if watchedKeysChanged(&ctx) {
            unwatchAll(&ctx)
            return ctx.out.nullArray()
        }
        let execArgs = ctx.args
        ctx.out.array(queue.count)
        ctx.inTransaction = true
        for queued in queue {
            ctx.args = queued.args
            if ctx.server.refusedByACL(queued.command, &ctx) { continue }
            ctx.server.call(queued.command, &ctx)
        }
        ctx.inTransaction = false
        ctx.args = execArgs
        ctx.propagateNothing()   // its commands propagated themselves (wrapped in MULTI/EXEC)
        unwatchAll(&ctx)
    }

    /// True when a watched key was modified, or has expired since it was watched (Redis 7.0 treats
    /// a watched key that expires as changed). Runs with the watched keys' shards locked.
    private static func watchedKeysChanged(_ ctx: inout CommandContext) -> Bool {
        let client = ctx.client
        guard let token = client.watchToken else { return false }
        if token.dirty.load(ordering: .acquiring) { return true }
        for w in client.watchedKeys where !client.watchedExpiredAtWatch.contains(w) {
            let shard = ctx.keyspace.shard(for: w.key)
            if let entry = shard.dbs[w.db].entry(w.key), Database.isExpired(entry, now: ctx.now) {
                return true
            }
        }
        return false
    }
}
