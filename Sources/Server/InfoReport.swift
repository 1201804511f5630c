import NIOCore
import Commands
import Configuration
import CSwiftletSupport
import Keyspace
#if canImport(Glibc)
import Glibc
#endif

/// The INFO command's text, section by section, with Redis's field names so that monitoring
/// tools and client libraries read it unchanged.
struct InfoReport {
    let server: SwiftletServer

    /// Every section, in Redis 7.0's order.
    static let allSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
                              "commandstats", "errorstats", "latencystats", "cluster", "keyspace"]
    /// What INFO (and INFO default) prints: all but the per-command sections, as in Redis.
    static let defaultSections = allSections.filter { $0 != "commandstats" && $0 != "latencystats" }

    func render(sections requested: [String]) -> String {
        var wanted = Set(requested.map { $0.lowercased() })
        if wanted.isEmpty || wanted.contains("default") { wanted.formUnion(InfoReport.defaultSections) }
        if wanted.contains("all") || wanted.contains("everything") { wanted.formUnion(InfoReport.allSections) }
        var out = ""
        for name in InfoReport.allSections where wanted.contains(name) {
            guard let fields = section(name) else { continue }
            if !out.isEmpty { out += "\r\n" }
            out += "# \(name == "cpu" ? "CPU" : name.prefix(1).uppercased() + name.dropFirst())\r\n"
            for (k, v) in fields { out += "\(k):\(v)\r\n" }
        }
        return out
    }

    /// Every field of the sections INFO prints by default, by name (the HTTP endpoint's source).
    func fields() -> [String: String] {
        var out: [String: String] = [:]
        for name in InfoReport.defaultSections {
            for (k, v) in section(name) ?? [] { out[k] = v }
        }
        return out
    }

    private func section(_ name: String) -> [(String, String)]? {
        let runtime = server.runtime
        let config = server.config
        let now = currentTimeMillis()
        switch name {
        case "server":
            var uts = utsname()
            uname(&uts)
            let os = withUnsafeBytes(of: &uts.sysname) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            let release = withUnsafeBytes(of: &uts.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            let machine = withUnsafeBytes(of: &uts.machine) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            let uptime = (now - runtime.startTime) / 1000
            return [
                ("redis_version", SwiftletVersion.redisCompat),
                ("swiftlet_version", SwiftletVersion.server),
                ("redis_mode", "standalone"),
                ("os", "\(os) \(release) \(machine)"),
                ("arch_bits", String(MemoryLayout<Int>.size * 8)),
                ("multiplexing_api", "epoll"),
                ("io_threads", String(config[.ioThreads])),
                ("process_id", String(getpid())),
                ("run_id", runID),
                ("tcp_port", String(server.boundPort ?? config[.port])),
                ("server_time_usec", String(currentTimeMicros())),
                ("uptime_in_seconds", String(uptime)),
                ("uptime_in_days", String(uptime / 86400)),
                ("hz", String(config[.hz])),
                ("configured_hz", String(config[.hz])),
                ("lru_clock", String(runtime.lruClock & 0xFFFFFF)),
                ("executable", CommandLine.arguments.first ?? ""),
                ("config_file", config.configFile ?? ""),
            ]
        case "clients":
            return [
                ("connected_clients", String(runtime.clients.count)),
                ("cluster_connections", "0"),
                ("maxclients", String(config[.maxClients])),
                ("client_recent_max_input_buffer", "0"),
                ("client_recent_max_output_buffer", "0"),
                ("blocked_clients", String(runtime.blocking.blockedClients)),
                ("tracking_clients", "0"),
                ("clients_in_timeout_table", String(runtime.blocking.blockedClients)),
            ]
        case "memory":
            let m = server.memoryReport()
            let maxmemory = config[.maxMemory]
            let percent = { (part: Int, whole: Int) in whole > 0 ? String(format2(Double(part) * 100 / Double(whole))) + "%" : "0.00%" }
            return [
                ("used_memory", String(m.used)),
                ("used_memory_human", MemoryStats.human(m.used)),
                ("used_memory_rss", String(m.rss)),
                ("used_memory_rss_human", MemoryStats.human(m.rss)),
                ("used_memory_peak", String(m.peak)),
                ("used_memory_peak_human", MemoryStats.human(m.peak)),
                ("used_memory_peak_perc", percent(m.used, m.peak)),
                ("used_memory_overhead", String(m.overhead)),
                ("used_memory_startup", String(m.startup)),
                ("used_memory_dataset", String(m.dataset)),
                ("used_memory_dataset_perc", percent(m.dataset, m.used - m.startup)),
                ("total_system_memory", String(MemoryStats.totalSystemMemory)),
                ("total_system_memory_human", MemoryStats.human(MemoryStats.totalSystemMemory)),
                ("maxmemory", String(maxmemory)),
                ("maxmemory_human", MemoryStats.human(maxmemory)),
                ("maxmemory_policy", config[.maxMemoryPolicy]),
                ("mem_fragmentation_ratio", m.used > 0 ? String(format2(Double(m.rss) / Double(m.used))) : "0"),
                ("mem_fragmentation_bytes", String(m.rss - m.used)),
                ("mem_not_counted_for_evict", String(runtime.memory.notCounted.load(ordering: .relaxed))),
                ("mem_replication_backlog", String(m.backlog)),
                ("mem_allocator", "glibc"),
                ("lazyfree_pending_objects", "0"),
            ]
        case "persistence":
            return server.snapshots.infoFields() + server.appendOnly.infoFields()
        case "stats":
            var hits = 0, misses = 0, expired = 0
            for shard in runtime.keyspace.shards {
                shard.lock.withLockVoid {
                    hits += shard.stats.keyspaceHits
                    misses += shard.stats.keyspaceMisses
                    expired += shard.stats.expiredKeys
                }
            }
            let s = runtime.stats
            return [
                ("total_connections_received", String(s.connectionsReceived.load(ordering: .relaxed))),
                ("total_commands_processed", String(s.commandsProcessed.load(ordering: .relaxed))),
                ("instantaneous_ops_per_sec", String(server.instantaneous.value(.commands))),
                ("total_net_input_bytes", String(s.netInputBytes.load(ordering: .relaxed))),
                ("total_net_output_bytes", String(s.netOutputBytes.load(ordering: .relaxed))),
                ("instantaneous_input_kbps", kbps(.netInput)),
                ("instantaneous_output_kbps", kbps(.netOutput)),
                ("rejected_connections", String(s.rejectedConnections.load(ordering: .relaxed))),
                ("sync_full", String(server.replicator.syncFull.load(ordering: .relaxed))),
                ("sync_partial_ok", String(server.replicator.syncPartialOK.load(ordering: .relaxed))),
                ("sync_partial_err", String(server.replicator.syncPartialErr.load(ordering: .relaxed))),
                ("expired_keys", String(expired)),
                ("evicted_keys", String(runtime.memory.evictedKeys.load(ordering: .relaxed))),
                ("keyspace_hits", String(hits)),
                ("keyspace_misses", String(misses)),
                ("pubsub_channels", String(runtime.pubsub.channelCount)),
                ("pubsub_patterns", String(runtime.pubsub.patternCount)),
                ("latest_fork_usec", "0"),
                ("total_forks", "0"),
                ("total_error_replies", String(runtime.statistics.totalErrorReplies)),
            ]
        case "replication":
            return server.replicator.infoFields()
        case "cpu":
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            func seconds(_ t: timeval) -> String {
                let micros = Int(t.tv_usec)
                let padded = String(repeating: "0", count: 6 - String(micros).count) + String(micros)
                return "\(t.tv_sec).\(padded)"
            }
            return [
                ("used_cpu_sys", seconds(usage.ru_stime)),
                ("used_cpu_user", seconds(usage.ru_utime)),
                ("used_cpu_sys_children", "0.000000"),
                ("used_cpu_user_children", "0.000000"),
            ]
        case "modules":
            return []
        case "commandstats":
            return CommandStatsReport.commandstats(runtime.statistics)
        case "errorstats":
            return CommandStatsReport.errorstats(runtime.statistics)
        case "latencystats":
            return CommandStatsReport.latencystats(runtime.statistics, percentiles: config.latencyPercentiles)
        case "cluster":
            return [("cluster_enabled", "0")]
        case "keyspace":
            var rows: [(String, String)] = []
            var keys = Array(repeating: 0, count: runtime.keyspace.databaseCount)
            var expires = keys
            for shard in runtime.keyspace.shards {
                shard.lock.withLockVoid {
                    for db in 0..<keys.count {
                        keys[db] += shard.dbs[db].count
                        expires[db] += shard.dbs[db].expiresCount
                    }
                }
            }
            for db in 0..<keys.count where keys[db] > 0 {
                rows.append(("db\(db)", "keys=\(keys[db]),expires=\(expires[db]),avg_ttl=0"))
            }
            return rows
        default:
            return nil
        }
    }

    private var runID: String { server.runID }

    /// An instantaneous byte rate in KiB/s with two decimals, as Redis prints it.
    private func kbps(_ metric: InstantaneousMetrics.Metric) -> String {
        CommandStatsReport.fixed(Double(server.instantaneous.value(metric)) / 1024, 2)
    }

    private func format2(_ v: Double) -> String {
        let scaled = Int((v * 100).rounded())
        let frac = scaled % 100
        return "\(scaled / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}

/// Process memory figures for INFO memory.
enum MemoryStats {
    static var residentSetSize: Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size = 0, resident = 0
        withUnsafeMutablePointer(to: &size) { s in
            withUnsafeMutablePointer(to: &resident) { r in
                _ = withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) }
            }
        }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static var totalSystemMemory: Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }


    static func human(_ bytes: Int) -> String {
        let b = Double(bytes)
        func fmt(_ v: Double, _ unit: String) -> String {
            let scaled = Int((v * 100).rounded())
            let frac = scaled % 100
            return "\(scaled / 100).\(frac < 10 ? "0" : "")\(frac)\(unit)"
        }
        if b < 1024 { return "\(bytes)B" }
        if b < 1024 * 1024 { return fmt(b / 1024, "K") }
        if b < 1024 * 1024 * 1024 { return fmt(b / 1024 / 1024, "M") }
        return fmt(b / 1024 / 1024 / 1024, "G")
    }
}
