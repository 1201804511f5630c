import XCTest
@testable import Commands
import Keyspace
@testable import Server

/// INFO's number formats, the Prometheus exporter and /health (the HTTP side is in
/// Tests/Integration/test_http.py).
final class ObservabilityTests: XCTestCase {
    func testNumbersAsRedisPrintsThem() {
        XCTAssertEqual(CommandStatsReport.fixed(7.5, 2), "7.50")
        XCTAssertEqual(CommandStatsReport.fixed(1.0034, 3), "1.003")
        XCTAssertEqual(CommandStatsReport.fixed(0.0005, 3), "0.001")
        XCTAssertEqual(CommandStatsReport.fixed(12, 0), "12")
        XCTAssertEqual(CommandStatsReport.percentileName(50), "50")
        XCTAssertEqual(CommandStatsReport.percentileName(99.9), "99.9")
        XCTAssertEqual(CommandStatsReport.percentileName(99.99), "99.99")
    }

    func testMetricsFromInfoAndCommandStatistics() throws {
        let runtime = ServerRuntime(keyspace: Keyspace(databases: 2), table: .standard)
        let set = runtime.table.commands["set"]!
        for nanos: UInt64 in [5_000, 20_000, 2_000_000] { runtime.statistics.recordCall(set, nanos: nanos, failed: false) }
        runtime.statistics.recordErrors(["ERR"])
        let info = ["connected_clients": "3", "total_connections_received": "10", "used_memory": "1000",
                    "db1": "keys=4,expires=1,avg_ttl=0", "role": "master", "rdb_last_bgsave_status": "ok"]
        let text = String(decoding: MetricsExporter().render(info: info, statistics: runtime.statistics, databases: 2), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        XCTAssertTrue(lines.contains("swiftlet_connected_clients 3.0"), text)
        XCTAssertTrue(lines.contains("swiftlet_connections_received_total 10"), text)
        XCTAssertTrue(lines.contains(#"swiftlet_keys{db="1"} 4.0"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_command_calls_total{cmd="set"} 3"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_errors_total{code="ERR"} 1"#), text)
        XCTAssertTrue(lines.contains("# TYPE swiftlet_command_duration_seconds histogram"), text)
        // 5 µs and 20 µs are under 25 µs; 2 ms is under 2.5 ms; every bucket is cumulative.
        XCTAssertTrue(lines.contains(#"swiftlet_command_duration_seconds_bucket{cmd="set",le="1e-05"} 1"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_command_duration_seconds_bucket{cmd="set",le="2.5e-05"} 2"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_command_duration_seconds_bucket{cmd="set",le="0.001"} 2"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_command_duration_seconds_bucket{cmd="set",le="0.0025"} 3"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_command_duration_seconds_bucket{cmd="set",le="+Inf"} 3"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_command_duration_seconds_count{cmd="set"} 3"#), text)
        XCTAssertTrue(lines.contains(#"swiftlet_command_duration_seconds_sum{cmd="set"} 0.002025"#), text)
        // A counter follows INFO down after CONFIG RESETSTAT (a counter reset for Prometheus).
        let exporter = MetricsExporter()
        _ = exporter.render(info: ["total_commands_processed": "50"], statistics: runtime.statistics, databases: 2)
        let after = String(decoding: exporter.render(info: ["total_commands_processed": "2"], statistics: runtime.statistics, databases: 2), as: UTF8.self)
        XCTAssertTrue(after.contains("swiftlet_commands_processed_total 2\n"), after)
        XCTAssertEqual(MetricsExporter.escapeLabel(#"a"b\c"#), #"a\"b\\c"#)
    }

    func testHealthNamesWhatIsWrong() throws {
        let ok = Health(info: ["role": "master", "rdb_last_bgsave_status": "ok", "connected_clients": "2"])
        XCTAssertTrue(ok.healthy)
        let parsed = try JSONSerialization.jsonObject(with: Data(ok.json.utf8)) as! [String: Any]
        XCTAssertEqual(parsed["status"] as? String, "ok")
        XCTAssertEqual((parsed["connections"] as? [String: Any])?["active"] as? Int, 2)
        let bad = Health(info: ["role": "slave", "master_link_status": "down", "rdb_last_bgsave_status": "err", "aof_last_write_status": "err"])
        XCTAssertEqual(bad.problems, ["the last background save failed", "the append-only file cannot be written",
                                      "the link to the master is down"])
        let badParsed = try JSONSerialization.jsonObject(with: Data(bad.json.utf8)) as! [String: Any]
        XCTAssertEqual(badParsed["status"] as? String, "degraded")
    }
}
