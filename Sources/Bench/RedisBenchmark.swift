import Foundation
import Runner

/// One redis-benchmark invocation and its CSV output.
public enum RedisBenchmark {
    /// redis-benchmark's default test set, as `-t` groups (one process per group, so progress
    /// can name the test; `lrange` runs the LPUSH fill and LRANGE_100..600).
    public static let defaultGroups = ["ping", "set", "get", "incr", "lpush", "rpush", "lpop", "rpop", "sadd", "hset",
                                       "spop", "zadd", "zpopmin", "lrange", "mset"]

    public struct Row: Codable, Sendable {
        public var test: String
        public var rps: Double
        public var p50: Double
        public var p99: Double
    }

    /// Runs `group` against 127.0.0.1:`port` pinned to `cpu`; returns one row per test.
    ///
    /// redis-benchmark waits forever for a reply on a connection that died without a reset,
    /// which QEMU's user-mode networking occasionally produces when 50 connections open at once
    /// right after 50 closed. So each run has a deadline (a minute plus 10 ms per request, far
    /// beyond any real rate here) and is retried once; `log` says when that happens.
    public static func run(port: Int, group: String, requests: Int, clients: Int, pipeline: Int, cpu: Int,
                           log: (String) -> Void = { _ in }) throws -> [Row] {
        let deadline = 60 + Double(requests) * 0.01
        for attempt in 1...2 {
            if let rows = try runOnce(port: port, group: group, requests: requests, clients: clients, pipeline: pipeline, cpu: cpu,
                                      deadline: deadline) {
                return rows
            }
            log("redis-benchmark -t \(group) -P \(pipeline) on port \(port) stalled for \(Int(deadline)) s (attempt \(attempt) of 2)")
        }
        throw BenchError("redis-benchmark -t \(group) -P \(pipeline) on port \(port) stalled twice: a connection that never answers")
    }

    /// Nil when the run did not finish before `deadline` seconds (it is then killed). The
    /// process is tied to this one (parent-death signal), so a killed `swiftlet bench` leaves no
    /// redis-benchmark behind either.
    static func runOnce(port: Int, group: String, requests: Int, clients: Int, pipeline: Int, cpu: Int,
                        deadline: TimeInterval) throws -> [Row]? {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-redis-benchmark-\(getpid()).csv")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = try TiedProcess(["taskset", "-c", String(cpu), "redis-benchmark", "-h", "127.0.0.1", "-p", String(port),
                                       "-c", String(clients), "-n", String(requests), "-P", String(pipeline), "-t", group, "--csv"],
                                      logPath: output)
        let end = Date().addingTimeInterval(deadline)
        while process.isRunning && Date() < end { usleep(20_000) }
        if process.isRunning {
            process.stop(grace: 1)
            return nil
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.exitCode == 0 else {
            throw BenchError("redis-benchmark -t \(group) -P \(pipeline) on port \(port) failed: \(text.suffix(500))")
        }
        // stdout and stderr share the file: the CSV is the lines in quotes.
        return try parse(text.split(separator: "\n").filter { $0.hasPrefix("\"") }.joined(separator: "\n"))
    }

    /// `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"`
    static func parse(_ csv: String) throws -> [Row] {
        let lines = csv.split(whereSeparator: \.isNewline).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } }
        guard let header = lines.first, let rps = header.firstIndex(of: "rps"), let p50 = header.firstIndex(of: "p50_latency_ms"),
              let p99 = header.firstIndex(of: "p99_latency_ms") else {
            throw BenchError("unexpected redis-benchmark output: \(csv.prefix(200))")
        }
        return lines.dropFirst().compactMap { f in
            guard f.count > max(rps, p50, p99), let r = Double(f[rps]), let a = Double(f[p50]), let b = Double(f[p99]) else { return nil }
            // "LRANGE_100 (first 100 elements)" -> "LRANGE_100"; the LPUSH fill is not a test.
            let name = String(f[0].split(separator: " ").first ?? "")
            guard !f[0].contains("needed to benchmark") else { return nil }
            return Row(test: name, rps: r, p50: a, p99: b)
        }
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
