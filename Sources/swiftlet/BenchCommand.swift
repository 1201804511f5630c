import ArgumentParser
import Bench
import Foundation
import ImageBuilder
import Runner

extension Swiftlet {
    /// `swiftlet bench`: redis-benchmark against the guest, the host build and optionally a real
    /// redis-server, all on the same pinned CPU, side by side.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the virtualization tax: redis-benchmark against the guest, the host build and redis-server.",
            discussion: """
                The host target runs the very binary inside the image (the static swiftlet-server) on \
                the host; the guest's single vCPU and QEMU's other threads are pinned to the same CPU; \
                redis-benchmark runs on the other CPU. Targets alternate test by test; medians of the \
                rounds are reported. Writes results.json, results.csv, report.md and chart.svg.
                """
        )

        @Option(help: "Image directory (default: build or reuse the memonly image).")
        var image: String?

        @Flag(help: "A few minutes on a 2-core machine: small request counts, one round.")
        var quick = false

        @Option(help: "redis-benchmark -t groups, comma-separated (default: its whole default set).")
        var tests: String?

        @Option(help: "Pipeline depths, comma-separated.")
        var pipelines: String = "1,16"

        @Option(help: "Parallel clients (redis-benchmark -c).")
        var clients: Int = 50

        @Option(help: "Requests per test (default: 100000, or 2000 with --quick).")
        var requests: Int?

        @Option(name: .customLong("repeat"), help: "Rounds; medians are reported (default: 3, or 1 with --quick).")
        var rounds: Int?

        @Option(help: "A redis-server binary to measure as the reference.")
        var reference: String?

        @Option(help: "SERVER,CLIENT: the CPU the servers and the guest get, and redis-benchmark's.")
        var cpus: String = "1,0"

        @Option(help: "Where the four result files go.")
        var output: String = "bench-results"

        @Option(help: "auto, kvm or tcg for the guest.")
        var accel: String = "auto"

        func run() throws {
            let say: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            for tool in ["redis-benchmark", "taskset"] where TiedProcess.findProgram(tool) == nil {
                throw ValidationError("\(tool) not found: install the Debian package \(tool == "taskset" ? "util-linux" : "redis-tools")")
            }
            let cpuList = try Pinning.parseList(cpus)
            guard cpuList.count == 2 else { throw ValidationError("--cpus takes SERVER,CLIENT, e.g. 1,0") }
            let (serverCPU, clientCPU) = (cpuList[0], cpuList[1])
            let depths = try pipelines.split(separator: ",").map { part -> Int in
                guard let p = Int(part), p >= 1 else { throw ValidationError("--pipelines takes numbers like 1,16") }
                return p
            }
            let groups = tests.map { $0.split(separator: ",").map { $0.lowercased() } } ?? RedisBenchmark.defaultGroups
            let requestCount = requests ?? (quick ? 2000 : 100_000)
            let roundCount = rounds ?? (quick ? 1 : 3)
            let imageURL = try image.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL } ?? Run.defaultImage(cwd: cwd)
            let outputURL = URL(fileURLWithPath: output, relativeTo: cwd).standardizedFileURL
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-bench-\(getpid())")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)

            var results = BenchResults(settings: .init(clients: clients, requests: requestCount, repeats: roundCount,
                                                       pipelines: depths, serverCPU: serverCPU, clientCPU: clientCPU))
            // The guest: one vCPU, it and QEMU's own threads on the server CPU, so the VM as a
            // whole gets the one core the host server gets.
            var spec = try VMSpec(imageDirectory: imageURL, hostPort: Loopback.freePort(), workDirectory: work)
            spec.vcpus = 1
            spec.vcpuPins = [serverCPU]
            spec.emulatorPins = [serverCPU]
            guard let decision = AcceleratorChoice.resolve(accel) else { throw ValidationError("--accel must be auto, kvm or tcg") }
            spec.accelerator = decision.accelerator
            if let reason = decision.reason { say(reason) }
            let guest = try RunSession(spec: spec, log: say)
            say("booting the guest (console: \(spec.consolePath.path))")
            let ready: VMReady
            do {
                ready = try guest.start(readyTimeout: 180, probeKVM: decision.probeKVM)
            } catch {
                throw BenchError("\(error)\n\(guest.failureDetails())")
            }
            defer { guest.shutdown(graceSeconds: 20) }
            say("guest ready in \(ready.bootMillis) ms (accel=\(ready.accelerator.rawValue))")
            results.pinning["guest"] = ready.pinning.threads.map { "\($0.role) tid \($0.tid) -> cpu \($0.allowed)" }

            var ports = ["guest": spec.hostPort]
            var processes: [TiedProcess] = []
            defer { for p in processes { p.stop() } }
            guard let serverFile = spec.manifest.artifacts["server"]?.file else {
                throw BenchError("the image has no server artifact to run on the host")
            }
            let hostServer = imageURL.appendingPathComponent(serverFile).path
            func startServer(_ name: String, _ argv: [String]) throws {
                let port = Loopback.freePort()
                try Loopback.checkPortFree(port)
                let process = try TiedProcess(["taskset", "-c", String(serverCPU)] + argv + ["--port", String(port), "--bind", "127.0.0.1", "--save", ""],
                                              logPath: work.appendingPathComponent("\(name).log"))
                processes.append(process)
                let deadline = Date().addingTimeInterval(30)
                while !Loopback.ping(port: port) {
                    guard process.isRunning, Date() < deadline else { throw BenchError("\(name) server did not start (log: \(work.path)/\(name).log)") }
                    usleep(50_000)
                }
                ports[name] = port
                results.pinning[name] = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.pid)/task")) ?? []).sorted().compactMap { tid in
                    (try? Pinning.allowedCPUs(pid: process.pid, tid: Int(tid) ?? 0)).map { "tid \(tid) -> cpu \($0)" }
                }
            }
            try startServer("host", [hostServer, "--io-threads", "1"])
            if let reference { try startServer("reference", [reference]) }
            results.targets = ["guest", "host"] + (reference == nil ? [] : ["reference"])
            results.environment = Self.environment(accelerator: ready.accelerator, manifest: spec.manifest)

            let total = roundCount * depths.count * groups.count * results.targets.count
            var done = 0
            let started = Date()
            for round in 1...roundCount {
                for p in depths {
                    for group in groups {
                        // Targets alternate test by test, so drift on a shared machine hits all alike.
                        for target in results.targets {
                            let elapsed = Date().timeIntervalSince(started)
                            let left = done == 0 ? "" : String(format: ", about %.0f s left", elapsed / Double(done) * Double(total - done))
                            say("[\(done + 1)/\(total)] round \(round)/\(roundCount) -P \(p) \(group) on \(target)\(left)")
                            do {
                                let rows = try RedisBenchmark.run(port: ports[target]!, group: group, requests: requestCount,
                                                                  clients: clients, pipeline: p, cpu: clientCPU, log: say)
                                results.samples += rows.map { .init(target: target, pipeline: p, round: round, test: $0.test, rps: $0.rps, p50: $0.p50, p99: $0.p99) }
                            } catch let error as BenchError {
                                // One stuck run must not throw away the others: it is recorded
                                // and shown in the report, and the medians use the other rounds.
                                say("\(error)")
                                results.failures.append("round \(round) -P \(p) \(group) on \(target): \(error)")
                            }
                            done += 1
                        }
                    }
                }
            }
            try results.json().write(to: outputURL.appendingPathComponent("results.json"), options: .atomic)
            try results.csv().write(to: outputURL.appendingPathComponent("results.csv"), atomically: true, encoding: .utf8)
            let report = results.markdown()
            try report.write(to: outputURL.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
            try SVGChart.render(results).write(to: outputURL.appendingPathComponent("chart.svg"), atomically: true, encoding: .utf8)
            say(report)
            say("wrote results.json, results.csv, report.md, chart.svg in \(outputURL.path)")
            try? FileManager.default.removeItem(at: work)
        }

        static func environment(accelerator: VMSpec.Accelerator, manifest: Manifest) -> [String: String] {
            func firstLine(_ argv: [String]) -> String {
                (try? Subprocess.output(argv))?.split(separator: "\n").first.map(String.init) ?? "unknown"
            }
            let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last
            return [
                "cpu": model.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown",
                "cores": String(ProcessInfo.processInfo.activeProcessorCount),
                "accel": accelerator.rawValue,
                "host kernel": firstLine(["uname", "-r"]),
                "guest kernel": manifest.kernel.version,
                "qemu": firstLine(["qemu-system-x86_64", "--version"]),
                "redis-benchmark": firstLine(["redis-benchmark", "--version"]),
                "server": manifest.serverVersion,
            ]
        }
    }
}
