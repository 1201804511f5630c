import NIOCore
import Keyspace
import RESP

/// SLOWLOG and LATENCY: what the command path measured (CommandStatistics.swift), as Redis
/// 7.0 reports it; MONITOR (MonitorFeed.swift).
extension CommandTable {
    static let diagnosticCommands: [Command] = [
        Command("monitor", arity: 1, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "server",
                summary: "Listens for all requests received by the server in real-time.") { ctx in
            // Inside EXEC a client expects one reply per command (Redis's DENY BLOCKING).
            guard !ctx.inTransaction else { return ctx.out.error("ERR MONITOR isn't allowed for DENY BLOCKING client") }
            // A replica, or a client already monitoring, is ignored without a reply, as in Redis.
            guard !ctx.client.monitoring && ctx.client.peer != .replica else { return }
            ctx.server.monitors.add(ctx.client)
            ctx.out.ok()
        },
        Command("slowlog", arity: -2, flags: [.noKeyspace], group: "server", summary: "A container for slow log commands.",
                subcommands: [
                    Command("get", arity: -2, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Returns the slow log's entries.", handler: slowlogGet),
                    Command("len", arity: 2, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Returns the number of entries in the slow log.") { ctx in
                        ctx.out.integer(ctx.server.statistics.slowLog.count)
                    },
                    Command("reset", arity: 2, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Clears all entries from the slow log.") { ctx in
                        ctx.server.statistics.slowLog.reset()
                        ctx.out.ok()
                    },
                    Command("help", arity: 2, flags: [.noKeyspace, .loading, .stale], group: "server",
                            summary: "Show helpful text about the different subcommands.") { ctx in
                        ctx.replyHelp(["SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                       "GET [<count>]",
                                       "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                                       "    Entries are made of:",
                                       "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                                       "    client name",
                                       "LEN", "    Return the length of the slowlog.",
                                       "RESET", "    Reset the slowlog.",
                                       "HELP", "    Prints this help."])
                    },
                ]),
        Command("latency", arity: -2, flags: [.noKeyspace], group: "server", summary: "A container for latency diagnostics commands.",
                subcommands: [
                    Command("latest", arity: 2, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Returns the latest latency samples for all events.") { ctx in
                        let latest = ctx.server.statistics.latencyMonitor.latest()
                        ctx.out.array(latest.count)
                        for e in latest {
                            ctx.out.array(4)
                            ctx.out.bulk(e.event)
                            ctx.out.integer(e.last.time)
                            ctx.out.integer(e.last.millis)
                            ctx.out.integer(e.max)
                        }
                    },
                    Command("history", arity: 3, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Returns timestamp-latency samples for an event.") { ctx in
                        let samples = ctx.server.statistics.latencyMonitor.history(ctx.args[2].string)
                        ctx.out.array(samples.count)
                        for s in samples {
                            ctx.out.array(2)
                            ctx.out.integer(s.time)
                            ctx.out.integer(s.millis)
                        }
                    },
                    Command("reset", arity: -2, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Resets the latency data for one or more events.") { ctx in
                        ctx.out.integer(ctx.server.statistics.latencyMonitor.reset(ctx.args.dropFirst(2).map(\.string)))
                    },
                    Command("doctor", arity: 2, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Returns a human-readable latency analysis report.") { ctx in
                        let statistics = ctx.server.statistics
                        ctx.out.verbatim(statistics.latencyMonitor.doctor(enabled: statistics.latencyThreshold.load(ordering: .relaxed) > 0))
                    },
                    Command("graph", arity: 3, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Returns a latency graph for an event.") { ctx in
                        let event = ctx.args[2].string
                        guard let graph = ctx.server.statistics.latencyMonitor.graph(event, now: Int(ctx.now / 1000)) else {
                            return ctx.out.error("ERR No samples available for event '\(event)'")
                        }
                        ctx.out.verbatim(graph)
                    },
                    Command("histogram", arity: -2, flags: [.noKeyspace, .admin, .loading, .stale], group: "server",
                            summary: "Returns the cumulative distribution of latencies of a subset or all commands.",
                            handler: latencyHistogram),
                    Command("help", arity: 2, flags: [.noKeyspace, .loading, .stale], group: "server",
                            summary: "Returns helpful text about the different subcommands.") { ctx in
                        ctx.replyHelp(["LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                       "DOCTOR", "    Return a human readable latency analysis report.",
                                       "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
                                       "HISTORY <event>", "    Return time-latency samples for the <event> class.",
                                       "LATEST", "    Return the latest latency samples for all events.",
                                       "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
                                       "    (default: reset all data for all event classes)",
                                       "HISTOGRAM [COMMAND ...]",
                                       "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                                       "    If no commands are specified then all histograms are replied.",
                                       "HELP", "    Prints this help."])
                    },
                ]),
    ]

    /// SLOWLOG GET [count]: the newest `count` entries (10 by default, -1 for all).
    static func slowlogGet(_ ctx: inout CommandContext) {
        guard ctx.args.count <= 3 else {
            return ctx.out.error("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
        }
        var limit: Int? = 10
        if ctx.args.count == 3 {
            guard let n = ctx.args[2].intValue, n >= -1 else {
                return ctx.out.error("ERR count should be greater than or equal to -1")
            }
            limit = n == -1 ? nil : n
        }
        SlowLog.write(ctx.server.statistics.slowLog.newest(limit), &ctx.out)
    }

    /// LATENCY HISTOGRAM [command ...]: for each command (a container stands for its
    /// subcommands) that has run, its calls and the cumulative count of calls at or under each
    /// power-of-two microsecond bound, as Redis reports its HdrHistogram.
    static func latencyHistogram(_ ctx: inout CommandContext) {
        let statistics = ctx.server.statistics
        let totals = statistics.totals(withHistograms: true)
        var chosen: [Command] = []
        if ctx.args.count == 2 {
            chosen = statistics.commands
        } else {
            for arg in ctx.args.dropFirst(2) {
                let parts = arg.string.lowercased().split(separator: "|", maxSplits: 1).map(String.init)
                guard let top = ctx.server.table.commands[parts[0]] else { continue }
                if parts.count == 2 {
                    if let sub = top.subcommands[parts[1]] { chosen.append(sub) }
                } else if top.hasSubcommands {
                    chosen.append(contentsOf: top.subcommands.values.sorted { $0.name < $1.name })
                } else {
                    chosen.append(top)
                }
            }
        }
        chosen = chosen.filter { totals[$0.statsIndex].histogramTotal > 0 }
        ctx.out.map(chosen.count)
        for command in chosen {
            let t = totals[command.statsIndex]
            ctx.out.bulk(command.fullName)
            ctx.out.map(2)
            ctx.out.bulk("calls")
            ctx.out.integer(Int(t.histogramTotal))
            ctx.out.bulk("histogram_usec")
            let points = cumulativePoints(t.histogram)
            ctx.out.map(points.count)
            for p in points {
                ctx.out.integer(p.micros)
                ctx.out.integer(p.count)
            }
        }
    }

    /// HdrHistogram's logarithmic iteration from 1024 ns, doubling: at each bound, the calls up to
    /// its bucket's highest value (reported in whole microseconds), kept where the count grew.
    static func cumulativePoints(_ histogram: [UInt64]) -> [(micros: Int, count: Int)] {
        let total = histogram.reduce(0, +)
        var points: [(Int, Int)] = []
        var bound: UInt64 = 1024
        var running: UInt64 = 0
        var next = 0
        var previous: UInt64 = 0
        while running < total {
            let last = LatencyBuckets.index(of: bound)
            while next <= last && next < histogram.count {
                running += histogram[next]
                next += 1
            }
            if running > previous {
                points.append((Int(LatencyBuckets.highestValue(of: last) / 1000), Int(running)))
            }
            previous = running
            if next >= histogram.count { break }
            bound *= 2
        }
        return points
    }
}
