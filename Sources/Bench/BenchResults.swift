import Foundation

/// Every measurement of one `swiftlet bench` run, with the environment it ran in, and the
/// medians the reports are made of.
public struct BenchResults: Codable, Sendable {
    public struct Sample: Codable, Sendable {
        public var target: String
        public var pipeline: Int
        public var round: Int
        public var test: String
        public var rps: Double
        public var p50: Double
        public var p99: Double

        public init(target: String, pipeline: Int, round: Int, test: String, rps: Double, p50: Double, p99: Double) {
            self.target = target
            self.pipeline = pipeline
            self.round = round
            self.test = test
            self.rps = rps
            self.p50 = p50
            self.p99 = p99
        }
    }

    public struct Settings: Codable, Sendable {
        public var clients: Int
        public var requests: Int
        public var repeats: Int
        public var pipelines: [Int]
        public var serverCPU: Int
        public var clientCPU: Int

        public init(clients: Int, requests: Int, repeats: Int, pipelines: [Int], serverCPU: Int, clientCPU: Int) {
            self.clients = clients
            self.requests = requests
            self.repeats = repeats
            self.pipelines = pipelines
            self.serverCPU = serverCPU
            self.clientCPU = clientCPU
        }
    }

    /// CPU model, cores, accelerator, kernels, QEMU and redis-benchmark versions.
    public var environment: [String: String] = [:]
    /// Thread -> CPU lines read back from /proc for every target: the pinning proof.
    public var pinning: [String: [String]] = [:]
    public var settings: Settings
    /// Targets in report order: guest, host, reference.
    public var targets: [String] = []
    public var samples: [Sample] = []
    /// redis-benchmark runs that did not complete (see `RedisBenchmark.run`).
    public var failures: [String] = []

    public init(settings: Settings) { self.settings = settings }

    /// Tests in the order redis-benchmark ran them.
    public var tests: [String] {
        var seen = Set<String>(), order: [String] = []
        for s in samples where seen.insert(s.test).inserted { order.append(s.test) }
        return order
    }

    public struct Median: Sendable { public var rps: Double; public var p50: Double; public var p99: Double }

    public func median(_ target: String, _ pipeline: Int, _ test: String) -> Median? {
        let matching = samples.filter { $0.target == target && $0.pipeline == pipeline && $0.test == test }
        guard !matching.isEmpty else { return nil }
        func med(_ values: [Double]) -> Double {
            let v = values.sorted()
            return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
        }
        return Median(rps: med(matching.map(\.rps)), p50: med(matching.map(\.p50)), p99: med(matching.map(\.p99)))
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // redis-benchmark reports an infinite rate when a tiny run took no measurable time.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Medians, one line per test x pipeline x target.
    public func csv() -> String {
        var out = "test,pipeline,target,rps,p50_ms,p99_ms\n"
        for p in settings.pipelines {
            for test in tests {
                for t in targets {
                    guard let m = median(t, p, test) else { continue }
                    out += "\(test),\(p),\(t),\(String(format: "%.0f", m.rps)),\(String(format: "%.3f", m.p50)),\(String(format: "%.3f", m.p99))\n"
                }
            }
        }
        return out
    }

    /// Test x target tables (one per pipeline depth) with the guest/host and host/reference
    /// throughput ratios: the virtualization tax and the distance to Redis.
    public func markdown() -> String {
        var out = "# swiftlet bench\n\n"
        out += "redis-benchmark -c \(settings.clients) -n \(settings.requests), medians of \(settings.repeats) rounds; "
        out += "servers on CPU \(settings.serverCPU), redis-benchmark on CPU \(settings.clientCPU).\n\n"
        for key in environment.keys.sorted() { out += "- \(key): \(environment[key]!)\n" }
        out += "\n"
        let hasReference = targets.contains("reference")
        for p in settings.pipelines {
            out += "## -P \(p)\n\n| test |"
            for t in targets { out += " \(t) rps | \(t) p50/p99 ms |" }
            out += " guest/host |" + (hasReference ? " host/reference |" : "") + "\n|---|"
            out += String(repeating: "---|---|", count: targets.count) + "---|" + (hasReference ? "---|" : "") + "\n"
            for test in tests {
                out += "| \(test) |"
                for t in targets {
                    if let m = median(t, p, test) {
                        out += " \(String(format: "%.0f", m.rps)) | \(String(format: "%.2f", m.p50)) / \(String(format: "%.2f", m.p99)) |"
                    } else {
                        out += " - | - |"
                    }
                }
                out += " \(ratio("guest", "host", p, test)) |" + (hasReference ? " \(ratio("host", "reference", p, test)) |" : "") + "\n"
            }
            out += "\n"
        }
        if !failures.isEmpty {
            out += "## Runs that did not complete\n\n"
            for f in failures { out += "- \(f)\n" }
            out += "\n"
        }
        out += "## Pinning (read back from /proc)\n\n"
        for t in targets { for line in pinning[t] ?? [] { out += "- \(t): \(line)\n" } }
        return out
    }

    private func ratio(_ a: String, _ b: String, _ p: Int, _ test: String) -> String {
        guard let x = median(a, p, test), let y = median(b, p, test), y.rps > 0, x.rps.isFinite, y.rps.isFinite else { return "-" }
        return String(format: "%.2f", x.rps / y.rps)
    }
}
