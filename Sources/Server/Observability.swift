import Commands
import Configuration

extension Config {
    /// Copies the slow log's, the latency monitor's and latency tracking's directives into the
    /// runtime's `CommandStatistics`, where the command path reads them as atomics (at start-up
    /// and after CONFIG SET of any of them).
    func apply(to statistics: CommandStatistics) {
        let slower = self[.slowlogLogSlowerThan]
        statistics.slowlogThreshold.store(slower < 0 ? .max : UInt64(slower) * 1000, ordering: .relaxed)
        statistics.slowLog.setMaxLength(self[.slowlogMaxLen])
        statistics.latencyThreshold.store(self[.latencyMonitorThreshold], ordering: .relaxed)
        statistics.tracksLatency.store(self[.latencyTracking], ordering: .relaxed)
    }

    /// `notify-keyspace-events` into the runtime's bits (at start-up and after CONFIG SET).
    func applyKeyspaceEvents(to runtime: ServerRuntime) {
        runtime.keyspaceEvents.store(KeyspaceEventClass(letters: self[.notifyKeyspaceEvents]).rawValue, ordering: .relaxed)
    }

    static let statisticsDirectives: Set<String> = ["slowlog-log-slower-than", "slowlog-max-len",
                                                    "latency-monitor-threshold", "latency-tracking"]

    /// `latency-tracking-info-percentiles` as numbers.
    var latencyPercentiles: [Double] {
        self[.latencyTrackingInfoPercentiles].split(separator: " ").compactMap { Double($0) }
    }
}

/// INFO's commandstats, errorstats and latencystats sections, in Redis 7.0's format.
enum CommandStatsReport {
    static func commandstats(_ statistics: CommandStatistics) -> [(String, String)] {
        let totals = statistics.totals()
        var rows: [(String, String)] = []
        for (i, t) in totals.enumerated() where t.calls > 0 || t.rejected > 0 || t.failed > 0 {
            let usec = t.nanos / 1000
            let perCall = t.calls > 0 ? Double(usec) / Double(t.calls) : 0
            rows.append(("cmdstat_\(statistics.commands[i].fullName)",
                         "calls=\(t.calls),usec=\(usec),usec_per_call=\(fixed(perCall, 2)),rejected_calls=\(t.rejected),failed_calls=\(t.failed)"))
        }
        return rows
    }

    static func errorstats(_ statistics: CommandStatistics) -> [(String, String)] {
        statistics.errorTotals().map { ("errorstat_\($0.code)", "count=\($0.count)") }
    }

    static func latencystats(_ statistics: CommandStatistics, percentiles: [Double]) -> [(String, String)] {
        let totals = statistics.totals(withHistograms: true)
        var rows: [(String, String)] = []
        for (i, t) in totals.enumerated() {
            let total = t.histogramTotal
            guard total > 0 else { continue }
            let values = percentiles.map { p in
                "p\(percentileName(p))=\(fixed(Double(LatencyBuckets.value(atPercentile: p, in: t.histogram, total: total)) / 1000, 3))"
            }
            rows.append(("latency_percentiles_usec_\(statistics.commands[i].fullName)", values.joined(separator: ",")))
        }
        return rows
    }

    /// `50`, `99.9`: Redis prints the percentile with `%f` and trims the trailing zeros.
    static func percentileName(_ p: Double) -> String {
        var s = fixed(p, 6)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// `value` with exactly `digits` decimals (printf's `%.Nf`, rounding half away from zero).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((abs(value) * scale).rounded())
        let whole = scaled / Int(scale)
        var frac = String(scaled % Int(scale))
        while frac.count < digits { frac = "0" + frac }
        return (value < 0 ? "-" : "") + (digits > 0 ? "\(whole).\(frac)" : "\(whole)")
    }
}
