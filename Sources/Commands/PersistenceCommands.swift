import NIOCore
import Keyspace
import RESP

/// Snapshot commands: SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE and DEBUG RELOAD. They run with every shard lock
/// held (`wholeKeyspace`), take the snapshot there, so that it is exactly the state between two
/// commands, and leave the writing to the server (`ServerHooks`).
extension CommandTable {
    static let persistenceCommands: [Command] = [
        Command("save", arity: 1, flags: [.admin, .noscript, .wholeKeyspace], group: "server",
                summary: "Synchronously saves the database(s) to disk.") { ctx in
            let (snapshot, changes) = takeSnapshot(&ctx)
            if let error = ctx.server.hooks.save(snapshot, changes: changes) { ctx.out.error(error) } else { ctx.out.ok() }
        },
        Command("bgsave", arity: -1, flags: [.admin, .noscript, .wholeKeyspace], group: "server",
                summary: "Asynchronously saves the database(s) to disk.") { ctx in
            // SCHEDULE exists for when a fork-based child is busy; there is no such child here,
            // so a scheduled BGSAVE simply starts.
            guard ctx.args.count == 1 || (ctx.args.count == 2 && ctx.args[1].equalsIgnoringCase("SCHEDULE")) else {
                return ctx.replySyntaxError()
            }
            let (snapshot, changes) = takeSnapshot(&ctx)
            if let error = ctx.server.hooks.backgroundSave(snapshot, changes: changes) {
                ctx.out.error(error)
            } else {
                ctx.out.simple("Background saving started")
            }
        },
        Command("bgrewriteaof", arity: 1, flags: [.admin, .noscript, .wholeKeyspace], group: "server",
                summary: "Asynchronously rewrites the append-only file to disk.") { ctx in
            if let error = ctx.server.hooks.rewriteAppendOnlyFile(ctx.keyspace.snapshotHoldingLocks(now: ctx.now)) {
                ctx.out.error(error)
            } else {
                ctx.out.simple("Background append only file rewriting started")
            }
        },
        Command("lastsave", arity: 1, flags: [.noKeyspace, .fast, .loading, .stale], group: "server",
                summary: "Returns the Unix timestamp of the last successful save to disk.") { ctx in
            ctx.out.integer(ctx.server.hooks.lastSave)
        },
    ]

    static let persistenceDebugSubcommands: [Command] = [
        Command("reload", arity: -2, flags: [.admin, .wholeKeyspace], group: "server",
                summary: "Saves the dataset, empties it and loads it back from the file.") { ctx in
            var save = true, flush = true, merge = false
            for option in ctx.args.dropFirst(2) {
                if option.equalsIgnoringCase("MERGE") { merge = true }
                else if option.equalsIgnoringCase("NOFLUSH") { flush = false }
                else if option.equalsIgnoringCase("NOSAVE") { save = false }
                else { return ctx.out.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.") }
            }
            let changes = changesSoFar(&ctx)
            if let error = ctx.server.hooks.reload(save: save, flush: flush, merge: merge, changes: changes) {
                ctx.out.error(error)
            } else {
                ctx.out.ok()
            }
        },
    ]

    /// The snapshot and the change counter it accounts for.
    static func takeSnapshot(_ ctx: inout CommandContext) -> (KeyspaceSnapshot, Int) {
        let changes = changesSoFar(&ctx)
        return (ctx.keyspace.snapshotHoldingLocks(now: ctx.now), changes)
    }

    /// The server's change counter, this connection's own pending changes published first so
    /// that they count.
    static func changesSoFar(_ ctx: inout CommandContext) -> Int {
        ctx.server.publishCounters(&ctx)
        return ctx.server.stats.changesSinceSave.load(ordering: .relaxed)
    }
}
