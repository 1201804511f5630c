import XCTest
@testable import Commands
import Keyspace

/// Command statistics, SLOWLOG and LATENCY (replies checked against redis-server 7.0.15).
final class DiagnosticsTests: XCTestCase {
    func testBucketsMatchHdrHistogramWithTwoSignificantDigits() {
        // Exact below 256 ns.
        for v: UInt64 in [0, 1, 17, 255] {
            XCTAssertEqual(LatencyBuckets.highestValue(of: LatencyBuckets.index(of: v)), v)
        }
        // Then 128 buckets per power of two: the values Redis prints (1.003, 1.031 µs ...).
        XCTAssertEqual(LatencyBuckets.highestValue(of: LatencyBuckets.index(of: 1000)), 1003)
        XCTAssertEqual(LatencyBuckets.highestValue(of: LatencyBuckets.index(of: 1024)), 1031)
        XCTAssertEqual(LatencyBuckets.highestValue(of: LatencyBuckets.index(of: 32768)), 33023)
        XCTAssertEqual(LatencyBuckets.highestValue(of: LatencyBuckets.index(of: 1_048_576)), 1_056_767)
        // Every value lies in its bucket, and the bucket is narrower than 1/128 of it.
        var v: UInt64 = 1
        while v < 1 << 30 {
            let i = LatencyBuckets.index(of: v)
            let high = LatencyBuckets.highestValue(of: i)
            XCTAssertLessThanOrEqual(v, high)
            XCTAssertLessThan(high - v, max(v / 128, 1) * 2)
            if i > 0 { XCTAssertLessThan(LatencyBuckets.highestValue(of: i - 1), v) }
            v = v * 3 / 2 + 1
        }
        // Longer than the range: the last bucket.
        XCTAssertEqual(LatencyBuckets.index(of: UInt64.max), LatencyBuckets.count - 1)
    }

    func testPercentilesAsHdrHistogramReportsThem() {
        var counts = Array(repeating: UInt64(0), count: LatencyBuckets.count)
        for nanos: UInt64 in [1000, 1000, 1000, 5000] { counts[LatencyBuckets.index(of: nanos)] += 1 }
        XCTAssertEqual(LatencyBuckets.value(atPercentile: 50, in: counts, total: 4), 1003)
        XCTAssertEqual(LatencyBuckets.value(atPercentile: 99, in: counts, total: 4), 5023)
        XCTAssertEqual(LatencyBuckets.value(atPercentile: 0, in: counts, total: 4), 1003)
        XCTAssertEqual(LatencyBuckets.value(atPercentile: 50, in: counts, total: 0), 0)
    }

    func testCommandStatsCountCallsRejectionsFailuresAndErrors() {
        let server = TestServer()
        let c = server.client()
        c.call("SET", "a", "1")
        c.call("GET", "a")
        c.call("LPUSH", "a", "x")          // WRONGTYPE: a failed call
        c.call("GET")                       // arity: a rejected call
        c.call("NOSUCH")                    // unknown: an error, no command
        let stats = server.runtime.statistics
        let totals = stats.totals(withHistograms: true)
        func of(_ name: String) -> CommandTotals { totals[server.runtime.table.commands[name]!.statsIndex] }
        XCTAssertEqual(of("set").calls, 1)
        XCTAssertEqual(of("get").calls, 1)
        XCTAssertEqual(of("get").rejected, 1)
        XCTAssertEqual(of("lpush").failed, 1)
        XCTAssertEqual(of("get").histogramTotal, 1)
        XCTAssertEqual(stats.errorTotals().map(\.code), ["WRONGTYPE", "ERR"])
        XCTAssertEqual(stats.errorTotals().map(\.count), [1, 2])
        XCTAssertEqual(stats.totalErrorReplies, 3)
        // CONFIG RESETSTAT: everything reads zero afterwards, and counts again from there.
        stats.reset()
        XCTAssertEqual(stats.totals().reduce(0) { $0 + $1.calls + $1.rejected + $1.failed }, 0)
        XCTAssertEqual(stats.totals(withHistograms: true)[server.runtime.table.commands["get"]!.statsIndex].histogramTotal, 0)
        XCTAssertEqual(stats.totalErrorReplies, 0)
        c.call("GET", "a")
        XCTAssertEqual(stats.totals()[server.runtime.table.commands["get"]!.statsIndex].calls, 1)
    }

    func testCountsFromAnotherThreadAddUp() {
        let server = TestServer()
        let get = server.runtime.table.commands["get"]!
        let stats = server.runtime.statistics
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<1000 { stats.recordCall(get, nanos: 500, failed: false) }
        }
        XCTAssertEqual(stats.totals()[get.statsIndex].calls, 4000)
        XCTAssertEqual(stats.totals()[get.statsIndex].nanos, 2_000_000)
    }

    func testSlowlogAsRedis() {
        let server = TestServer()
        let c = server.client()
        server.runtime.statistics.slowlogThreshold.store(0, ordering: .relaxed)
        c.call("SLOWLOG", "RESET")
        c.call("MULTI")
        c.call("SET", "a", "1")
        c.call("EXEC")                      // skip_slowlog: only the SET inside is logged
        c.call("AUTH", "secret")
        c.call("SET", "b", String(repeating: "x", count: 200))
        c.call(["SET"] + Array(repeating: "k", count: 40))
        let entries = server.runtime.statistics.slowLog.newest(nil)
        let logged = entries.map { $0.arguments.map { String(buffer: $0) } }
        XCTAssertEqual(logged[0].count, 32)
        XCTAssertEqual(logged[0].last, "... (10 more arguments)")
        XCTAssertEqual(logged[1][2], String(repeating: "x", count: 128) + "... (72 more bytes)")
        XCTAssertEqual(logged[2], ["AUTH", "(redacted)"])
        XCTAssertEqual(logged[3], ["SET", "a", "1"])
        XCTAssertEqual(logged[4], ["MULTI"])
        XCTAssertEqual(entries.map(\.id), entries.map(\.id).sorted(by: >))
        XCTAssertEqual(c.call("SLOWLOG", "GET", "x"), .error("ERR count should be greater than or equal to -1"))
        XCTAssertEqual(c.call("SLOWLOG", "GET", "-2"), .error("ERR count should be greater than or equal to -1"))
        XCTAssertEqual(c.call("SLOWLOG", "GET", "1", "2"),
                       .error("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP."))
        XCTAssertEqual(c.call("SLOWLOG", "GET", "1")?.elements.count, 1)
        guard case .integer(let n)? = c.call("SLOWLOG", "LEN") else { return XCTFail("LEN") }
        XCTAssertGreaterThan(n, 5)
        // slowlog-max-len trims at once; 0 keeps nothing.
        server.runtime.statistics.slowLog.setMaxLength(2)
        XCTAssertEqual(server.runtime.statistics.slowLog.count, 2)
        server.runtime.statistics.slowLog.setMaxLength(0)
        c.call("GET", "a")
        XCTAssertEqual(c.call("SLOWLOG", "LEN"), .integer(0))
        // Off (-1): nothing is logged.
        server.runtime.statistics.slowLog.setMaxLength(10)
        server.runtime.statistics.slowlogThreshold.store(.max, ordering: .relaxed)
        c.call("GET", "a")
        XCTAssertEqual(c.call("SLOWLOG", "LEN"), .integer(0))
    }

    func testLatencyMonitorKeepsOneSamplePerSecond() {
        let monitor = LatencyMonitor()
        monitor.add("command", millis: 20, time: 100)
        monitor.add("command", millis: 50, time: 100)     // same second: the higher one stays
        monitor.add("command", millis: 30, time: 101)
        monitor.add("expire-cycle", millis: 7, time: 101)
        XCTAssertEqual(monitor.history("command").map { [$0.time, $0.millis] }, [[100, 50], [101, 30]])
        let latest = monitor.latest()
        XCTAssertEqual(latest.map(\.event), ["command", "expire-cycle"])
        XCTAssertEqual(latest[0].last.millis, 30)
        XCTAssertEqual(latest[0].max, 50)
        XCTAssertTrue(monitor.doctor(enabled: true).contains("1. command: 2 latency spikes (average 40ms, mean deviation 10ms, period 0.5 sec). Worst all time event 50ms."))
        // The ring holds 160 seconds.
        for t in 0..<200 { monitor.add("fast-command", millis: 1, time: 1000 + t) }
        XCTAssertEqual(monitor.history("fast-command").count, 160)
        XCTAssertEqual(monitor.history("fast-command").first?.time, 1040)
        XCTAssertEqual(monitor.reset(["command", "nosuch"]), 1)
        XCTAssertEqual(monitor.reset([]), 2)
        XCTAssertTrue(monitor.latest().isEmpty)
        XCTAssertTrue(monitor.doctor(enabled: true).hasPrefix("Dave, no latency spike was observed"))
        XCTAssertTrue(monitor.doctor(enabled: false).hasPrefix("I'm sorry, Dave, I can't do that. Latency monitoring is disabled"))
    }

    func testLatencyCommandsAndHistogram() {
        let server = TestServer()
        let c = server.client()
        XCTAssertEqual(c.call("LATENCY", "LATEST"), .array([]))
        XCTAssertEqual(c.call("LATENCY", "HISTORY", "command"), .array([]))
        XCTAssertEqual(c.call("LATENCY", "RESET"), .integer(0))
        server.runtime.statistics.latencyMonitor.add("command", millis: 120, time: 1_700_000_000)
        XCTAssertEqual(c.call("LATENCY", "LATEST"),
                       .array([.array([.bulk("command"), .integer(1_700_000_000), .integer(120), .integer(120)])]))
        XCTAssertEqual(c.call("LATENCY", "HISTORY", "command"), .array([.array([.integer(1_700_000_000), .integer(120)])]))
        c.call("SET", "a", "1")
        c.call("CONFIG", "GET", "port")
        // A container stands for its subcommands; unknown names are skipped.
        guard case .array(let h)? = c.call("LATENCY", "HISTOGRAM", "set", "config", "nosuch") else { return XCTFail("histogram") }
        XCTAssertEqual(h.count, 4)
        XCTAssertEqual(h[0], .bulk("set"))
        XCTAssertEqual(h[2], .bulk("config|get"))
        XCTAssertEqual(h[1].elements[0], .bulk("calls"))
        XCTAssertEqual(h[1].elements[1], .integer(1))
        XCTAssertEqual(c.call("LATENCY", "HISTOGRAM", "nosuch"), .array([]))
    }

    /// The same four samples redis-server 7.0.15 drew (LATENCY HISTORY then GRAPH within one second).
    func testLatencyGraphAsRedisDrawsIt() {
        let monitor = LatencyMonitor()
        for (time, ms) in [(1796649470, 50), (1796649471, 20), (1796649472, 13), (1796649473, 30)] {
            monitor.add("command", millis: ms, time: time)
        }
        let redis = "command - high 50 ms, low 13 ms (all time high 50 ms)\n"
            + String(repeating: "-", count: 80) + "\n#   \n|   \n|  #\n|#_|\n    \n4321\nssss\n"
        XCTAssertEqual(monitor.graph("command", now: 1796649474), redis)
        XCTAssertNil(monitor.graph("nosuch", now: 0))
        monitor.add("flat", millis: 7, time: 100)
        XCTAssertEqual(monitor.graph("flat", now: 100 + 7200), "flat - high 7 ms, low 7 ms (all time high 7 ms)\n"
                       + String(repeating: "-", count: 80) + "\n \n \n \n_\n \n2\nh\n")
    }

    func testCumulativePointsFollowRedisBounds() {
        var counts = Array(repeating: UInt64(0), count: LatencyBuckets.count)
        for nanos: UInt64 in [500, 900, 1500, 40_000, 40_000] { counts[LatencyBuckets.index(of: nanos)] += 1 }
        let points = CommandTable.cumulativePoints(counts)
        XCTAssertEqual(points.map(\.micros), [1, 2, 66])
        XCTAssertEqual(points.map(\.count), [2, 3, 5])
    }
}

final class MonitorTests: XCTestCase {
    func testMonitorSeesCommandsAsRedisFormatsThem() {
        let server = TestServer()
        let watcher = server.client()
        let c = server.client()
        XCTAssertEqual(watcher.call("MONITOR"), .simple("OK"))
        XCTAssertNil(watcher.call("MONITOR"), "a second MONITOR is ignored without a reply")
        c.call("SET", "b", "x\ty\"\n\u{1}")
        c.call("AUTH", "secret")
        c.call("CONFIG", "GET", "port")          // admin: hidden
        c.call("GET")                             // refused before it ran: not fed
        c.call("MULTI")
        c.call("INCR", "n")
        c.call("EXEC")
        c.call("SELECT", "3")
        let lines = watcher.pushed.compactMap(\.string)
        let shown = lines.map { $0.split(separator: "]", maxSplits: 1).last.map(String.init) ?? "" }
        XCTAssertEqual(shown, [#" "SET" "b" "x\ty\"\n\x01""#, #" "AUTH" "(redacted)""#, #" "MULTI""#, #" "INCR" "n""#,
                               #" "EXEC""#, #" "SELECT" "3""#])
        XCTAssertTrue(lines[0].hasSuffix(#"[0 127.0.0.1:1] "SET" "b" "x\ty\"\n\x01""#))
        XCTAssertTrue(lines[5].contains("[3 127.0.0.1:1]"))
        let stamp = lines[0].split(separator: " ")[0]
        XCTAssertEqual(stamp.split(separator: ".").last?.count, 6)
        XCTAssertTrue(server.runtime.clients.all.contains { $0.flagString(blocked: false).contains("O") })
        // RESET leaves MONITOR mode; so does disconnecting.
        watcher.call("RESET")
        c.call("PING")
        XCTAssertEqual(watcher.pushed.count, 6)
        XCTAssertEqual(server.runtime.monitors.count.load(ordering: .relaxed), 0)
    }
}
