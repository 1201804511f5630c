import NIOCore
import Keyspace
import RESP

/// What the server measures of its memory (MEMORY STATS, MEMORY DOCTOR; INFO memory uses the
/// same figures). Bytes; see Keyspace/Footprint.swift for how the keyspace is counted.
public struct MemoryReport: Sendable {
    public var used = 0
    public var peak = 0
    /// Heap in use at start-up.
    public var startup = 0
    public var backlog = 0
    public var rss = 0
    /// Per database with keys: the slot tables' and the expiry index's bytes, and the key count.
    public var databases: [(db: Int, tables: Int, expires: Int, keys: Int)] = []

    public init() {}

    public var keys: Int { databases.reduce(0) { $0 + $1.keys } }
    /// What is not the data itself: start-up heap, backlog, the tables that index the keys.
    public var overhead: Int { startup + backlog + databases.reduce(0) { $0 + $1.tables + $1.expires } }
    public var dataset: Int { max(0, used - overhead) }
}

/// MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE.
extension CommandTable {
    static let memoryCommands: [Command] = [
        Command("memory", arity: -2, flags: [], group: "server", summary: "A container for memory diagnostics commands.",
                subcommands: memorySubcommands),
    ]

    static let memorySubcommands: [Command] = [
        Command("usage", arity: -3, flags: [.readonly], keys: .range(first: 2, last: 2, step: 1), group: "server",
                summary: "Estimates the memory usage of a key.") { ctx in
            var samples = Footprint.sampledElements
            var i = 3
            while i < ctx.args.count {
                guard ctx.args[i].equalsIgnoringCase("SAMPLES"), i + 1 < ctx.args.count else { return ctx.replySyntaxError() }
                guard let n = ctx.integerArgument(i + 1) else { return }
                guard n >= 0 else { return ctx.replySyntaxError() }
                samples = n
                i += 2
            }
            let key = ctx.args[2]
            guard let entry = ctx.entry(key) else { return ctx.out.null() }
            // The key, the value, and the key's share of its table.
            let usage = Footprint.key(length: key.readableBytes) + Footprint.value(entry.value, samples: samples)
                + Footprint.tableShare
            ctx.out.integer(usage)
        },
        Command("stats", arity: 2, flags: [.noKeyspace], group: "server", summary: "Returns details about memory usage.") { ctx in
            let m = ctx.server.hooks.memoryReport()
            let keys = m.keys
            let pairs: [(String, MemoryStatValue)] = [
                ("peak.allocated", .int(m.peak)),
                ("total.allocated", .int(m.used)),
                ("startup.allocated", .int(m.startup)),
                ("replication.backlog", .int(m.backlog)),
                ("clients.slaves", .int(0)),
                ("clients.normal", .int(0)),
                ("cluster.links", .int(0)),
                ("aof.buffer", .int(0)),
                ("lua.caches", .int(0)),
                ("functions.caches", .int(0)),
            ] + m.databases.map { d in
                ("db.\(d.db)", .pairs([("overhead.hashtable.main", d.tables), ("overhead.hashtable.expires", d.expires)]))
            } + [
                ("overhead.total", .int(m.overhead)),
                ("keys.count", .int(keys)),
                ("keys.bytes-per-key", .int(keys > 0 ? (m.used - m.startup) / keys : 0)),
                ("dataset.bytes", .int(m.dataset)),
                ("dataset.percentage", .double(m.used > m.startup ? Double(m.dataset) * 100 / Double(m.used - m.startup) : 0)),
                ("peak.percentage", .double(m.peak > 0 ? Double(m.used) * 100 / Double(m.peak) : 0)),
                ("rss-overhead.ratio", .double(m.used > 0 ? Double(m.rss) / Double(m.used) : 0)),
                ("rss-overhead.bytes", .int(m.rss - m.used)),
                ("fragmentation", .double(m.used > 0 ? Double(m.rss) / Double(m.used) : 0)),
                ("fragmentation.bytes", .int(m.rss - m.used)),
            ]
            ctx.out.map(pairs.count)
            for (name, value) in pairs {
                ctx.out.bulk(name)
                switch value {
                case .int(let n): ctx.out.integer(n)
                case .double(let d): ctx.out.double(d)
                case .pairs(let inner):
                    ctx.out.map(inner.count)
                    for (k, v) in inner { ctx.out.bulk(k); ctx.out.integer(v) }
                }
            }
        },
        Command("doctor", arity: 2, flags: [.noKeyspace], group: "server", summary: "Outputs a memory problems report.") { ctx in
            ctx.out.verbatim(memoryDoctor(ctx.server.hooks.memoryReport()))
        },
        Command("malloc-stats", arity: 2, flags: [.noKeyspace], group: "server",
                summary: "Returns the allocator statistics.") { ctx in
            // glibc's summary (mallinfo2). It walks every free chunk with each arena locked, so
            // on a large fragmented heap it can stall allocation everywhere for a long moment:
            // an operator's diagnostic, never used by the server itself.
            ctx.out.verbatim(ctx.server.hooks.allocatorStats() ?? "Stats not supported for the current allocator")
        },
        Command("purge", arity: 2, flags: [.noKeyspace], group: "server",
                summary: "Asks the allocator to release memory.") { ctx in
            ctx.server.hooks.releaseFreeMemory()
            ctx.out.ok()
        },
        Command("help", arity: 2, flags: [.noKeyspace], group: "server", summary: "Returns helpful text.") { ctx in
            ctx.replyHelp(["MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                           "DOCTOR", "    Return memory problems reports.",
                           "MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
                           "PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
                           "STATS", "    Return information about the memory usage of the server.",
                           "USAGE <key> [SAMPLES <count>]",
                           "    Return memory in bytes used by <key> and its value. Nested values are",
                           "    sampled up to <count> times (default: 5, 0 means sample all).",
                           "HELP", "    Prints this help."])
        },
    ]

    /// A short report in Redis's voice: empty instance, or what looks wrong.
    static func memoryDoctor(_ m: MemoryReport) -> String {
        if m.used < 5 * 1024 * 1024 {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
        }
        var issues: [String] = []
        if m.peak > m.used * 3 / 2 {
            issues.append(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.")
        }
        if m.used > 0, Double(m.rss) / Double(m.used) > 1.4 {
            issues.append(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc.")
        }
        if issues.isEmpty {
            return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
        }
        return "Sam, I detected a few issues in this Redis instance memory implants:\n\n" + issues.joined(separator: "\n\n")
            + "\n\nI'm here to keep you safe, Sam. I want to help you."
    }
}

enum MemoryStatValue {
    case int(Int)
    case double(Double)
    case pairs([(String, Int)])
}
