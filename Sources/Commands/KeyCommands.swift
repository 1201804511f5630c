import NIOCore
import Keyspace
import RESP

/// Generic key commands: Redis's db.c and expire.c.
extension CommandTable {
    static let keyCommands: [Command] = [
        Command("del", arity: -2, flags: [.write], keys: .range(first: 1, last: -1, step: 1),
                group: "generic", summary: "Deletes one or more keys.", handler: del),
        Command("exists", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: -1, step: 1),
                group: "generic", summary: "Determines whether one or more keys exist.", handler: exists),
    ]

    static func del(_ ctx: inout CommandContext) {
        var n = 0
        for key in ctx.args.dropFirst() where ctx.delete(key) { n += 1 }
        ctx.out.integer(n)
    }

    static func exists(_ ctx: inout CommandContext) {
        var n = 0
        for key in ctx.args.dropFirst() where ctx.exists(key) { n += 1 }
        ctx.out.integer(n)
    }
}
