import Commands
import NIOConcurrencyHelpers
import Prometheus

/// The HTTP endpoint's `/metrics`: Prometheus's text format, from the same figures INFO reports
/// (one source of truth), written with swift-prometheus's registry.
///
/// Counters and gauges live in the registry and are brought up to date at each scrape (a
/// counter is set to INFO's total, so CONFIG RESETSTAT shows as a counter reset, which
/// Prometheus's `rate()` expects). The per-command duration histograms are not recorded into
/// swift-prometheus's histograms, which take a lock per observation: the command path already
/// keeps HdrHistogram-style buckets per thread without one (CommandStatistics.swift), and the
/// exporter writes their Prometheus buckets itself, in the same format.
final class MetricsExporter: @unchecked Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// One scrape at a time: counters are reset and refilled, which must not interleave.
    private let lock = NIOLock()

    /// Upper bounds of the duration histograms, in seconds.
    static let durationBuckets: [Double] = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    /// INFO fields exported as gauges or counters: (INFO field, metric name, counter?, help).
    static let infoMetrics: [(field: String, name: String, counter: Bool, help: String)] = [
        ("uptime_in_seconds", "uptime_seconds", false, "Seconds since the server started"),
        ("connected_clients", "connected_clients", false, "Client connections open now"),
        ("blocked_clients", "blocked_clients", false, "Clients waiting in a blocking command"),
        ("maxclients", "max_clients", false, "The maxclients limit"),
        ("total_connections_received", "connections_received_total", true, "Connections accepted since start-up"),
        ("rejected_connections", "rejected_connections_total", true, "Connections refused by maxclients"),
        ("used_memory", "memory_used_bytes", false, "Memory used by the dataset and the server (INFO used_memory)"),
        ("used_memory_rss", "memory_rss_bytes", false, "Resident set size of the process"),
        ("used_memory_peak", "memory_peak_bytes", false, "Highest used_memory seen"),
        ("maxmemory", "memory_max_bytes", false, "The maxmemory limit (0: none)"),
        ("total_commands_processed", "commands_processed_total", true, "Commands run since start-up"),
        ("instantaneous_ops_per_sec", "instantaneous_ops_per_second", false, "Commands per second over the last 1.6 s"),
        ("total_net_input_bytes", "net_input_bytes_total", true, "Bytes read from clients"),
        ("total_net_output_bytes", "net_output_bytes_total", true, "Bytes written to clients"),
        ("expired_keys", "expired_keys_total", true, "Keys deleted because their time to live passed"),
        ("evicted_keys", "evicted_keys_total", true, "Keys evicted by maxmemory-policy"),
        ("keyspace_hits", "keyspace_hits_total", true, "Key lookups that found the key"),
        ("keyspace_misses", "keyspace_misses_total", true, "Key lookups that did not find the key"),
        ("total_error_replies", "error_replies_total", true, "Error replies sent"),
        ("pubsub_channels", "pubsub_channels", false, "Channels with subscribers"),
        ("rdb_changes_since_last_save", "rdb_changes_since_last_save", false, "Changes since the last snapshot"),
        ("rdb_last_save_time", "rdb_last_save_timestamp_seconds", false, "Unix time of the last successful snapshot"),
        ("rdb_bgsave_in_progress", "rdb_bgsave_in_progress", false, "1 while a background save runs"),
        ("aof_enabled", "aof_enabled", false, "1 when the append-only file is on"),
        ("aof_rewrite_in_progress", "aof_rewrite_in_progress", false, "1 while an AOF rewrite runs"),
        ("aof_current_size", "aof_size_bytes", false, "Size of the append-only file"),
        ("aof_fsyncs", "aof_fsyncs_total", true, "fdatasync calls on the append-only file"),
        ("connected_slaves", "connected_replicas", false, "Replicas connected to this server"),
        ("master_repl_offset", "replication_offset_bytes", false, "The replication offset"),
    ]

    /// The text for one scrape; `info` is INFO everything as field -> value.
    func render(info: [String: String], statistics: CommandStatistics, databases: Int) -> [UInt8] {
        lock.withLock {
            for m in Self.infoMetrics {
                guard let raw = info[m.field], let value = Double(raw) else { continue }
                let descriptor = MetricNameDescriptor(namespace: "swiftlet", metricName: m.name, unitName: "", helpText: m.help)
                if m.counter {
                    let counter = registry.makeCounter(descriptor: descriptor)
                    counter.reset()
                    // Integral totals print as integers.
                    if let whole = Int64(raw) { counter.increment(by: whole) } else { counter.increment(by: value) }
                } else {
                    registry.makeGauge(descriptor: descriptor).set(value)
                }
            }
            let role = info["role"] ?? "master"
            registry.makeGauge(descriptor: .init(namespace: "swiftlet", metricName: "master", unitName: "",
                                                 helpText: "1 for a master, 0 for a replica")).set(role == "master" ? 1.0 : 0.0)
            let bgsaveOK: Double = info["rdb_last_bgsave_status"] == "ok" ? 1 : 0
            registry.makeGauge(descriptor: .init(namespace: "swiftlet", metricName: "rdb_last_bgsave_ok", unitName: "",
                                                 helpText: "1 when the last background save succeeded")).set(bgsaveOK)
            for db in 0..<databases {
                // db0:keys=1,expires=0,avg_ttl=0
                guard let row = info["db\(db)"] else { continue }
                let fields = Dictionary(uniqueKeysWithValues: row.split(separator: ",").compactMap { part -> (String, Double)? in
                    let kv = part.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, let v = Double(kv[1]) else { return nil }
                    return (String(kv[0]), v)
                })
                registry.makeGauge(descriptor: .init(namespace: "swiftlet", metricName: "keys", unitName: "", helpText: "Keys per database"),
                                   labels: [("db", String(db))]).set(fields["keys"] ?? 0)
                registry.makeGauge(descriptor: .init(namespace: "swiftlet", metricName: "keys_with_expiry", unitName: "",
                                                     helpText: "Keys with a time to live per database"),
                                   labels: [("db", String(db))]).set(fields["expires"] ?? 0)
            }
            let totals = statistics.totals(withHistograms: true)
            for (i, t) in totals.enumerated() where t.calls > 0 || t.rejected > 0 || t.failed > 0 {
                let labels = [("cmd", statistics.commands[i].fullName)]
                for (name, help, value) in [("command_calls_total", "Calls per command", t.calls),
                                            ("command_rejected_calls_total", "Calls refused before they ran, per command", t.rejected),
                                            ("command_failed_calls_total", "Calls that replied an error, per command", t.failed)] {
                    let counter = registry.makeCounter(descriptor: .init(namespace: "swiftlet", metricName: name, unitName: "", helpText: help),
                                                       labels: labels)
                    counter.reset()
                    counter.increment(by: Int64(value))
                }
            }
            for e in statistics.errorTotals() {
                let counter = registry.makeCounter(descriptor: .init(namespace: "swiftlet", metricName: "errors_total", unitName: "",
                                                                     helpText: "Error replies by error code"),
                                                   labels: [("code", e.code)])
                counter.reset()
                counter.increment(by: Int64(e.count))
            }
            var out: [UInt8] = []
            registry.emit(into: &out)
            Self.writeDurationHistograms(totals, commands: statistics.commands, into: &out)
            return out
        }
    }

    /// `swiftlet_command_duration_seconds`, one histogram per command that ran with
    /// latency-tracking on. A bucket counts the calls whose HdrHistogram bucket lies wholly under
    /// its bound (within 1/128 of the bound). The sum is the calls' total time, scaled to the
    /// tracked calls when latency-tracking was off for some of them.
    static func writeDurationHistograms(_ totals: [CommandTotals], commands: [Command], into out: inout [UInt8]) {
        let name = "swiftlet_command_duration_seconds"
        var wroteHeader = false
        for (i, t) in totals.enumerated() {
            let count = t.histogramTotal
            guard count > 0 else { continue }
            if !wroteHeader {
                out.append(contentsOf: "# HELP \(name) Time to run each command, per command\n# TYPE \(name) histogram\n".utf8)
                wroteHeader = true
            }
            let label = "cmd=\"\(escapeLabel(commands[i].fullName))\""
            var running: UInt64 = 0
            var next = 0
            for bound in durationBuckets {
                let nanos = UInt64(bound * 1e9)
                while next < t.histogram.count && LatencyBuckets.highestValue(of: next) <= nanos {
                    running += t.histogram[next]
                    next += 1
                }
                out.append(contentsOf: "\(name)_bucket{\(label),le=\"\(bound)\"} \(running)\n".utf8)
            }
            out.append(contentsOf: "\(name)_bucket{\(label),le=\"+Inf\"} \(count)\n".utf8)
            let seconds = Double(t.nanos) / 1e9 * (t.calls > 0 ? Double(count) / Double(max(t.calls, count)) : 1)
            out.append(contentsOf: "\(name)_sum{\(label)} \(seconds)\n".utf8)
            out.append(contentsOf: "\(name)_count{\(label)} \(count)\n".utf8)
        }
    }

    /// Label values escape backslash, double quote and newline (the text format's rule).
    static func escapeLabel(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
