import CSwiftletHost
import Foundation

/// Pins QEMU's threads to host CPUs and reads back what the kernel applied.
public enum Pinning {
    public struct Report: Sendable, CustomStringConvertible {
        public struct Thread: Sendable {
            public let role: String      // "vcpu0", "emulator"
            public let tid: Int
            public let allowed: String   // Cpus_allowed_list from /proc, after pinning
        }
        public let threads: [Thread]

        public var description: String {
            threads.map { "\($0.role) (tid \($0.tid)) -> cpu \($0.allowed)" }.joined(separator: "\n")
        }
    }

    /// Pins vCPU `i`'s thread to `vcpuPins[i]` and every other thread of QEMU to `emulatorPins`
    /// (when given), then verifies each against `/proc/<pid>/task/<tid>/status`.
    static func apply(pid: Int32, vcpuThreads: [Int: Int], vcpuPins: [Int], emulatorPins: [Int]) throws -> Report {
        var report: [Report.Thread] = []
        for (index, cpu) in vcpuPins.enumerated() {
            guard let tid = vcpuThreads[index] else { throw RunnerError("QEMU reported no thread for vCPU \(index)") }
            try pin(tid: tid, cpus: [cpu])
            let allowed = try allowedCPUs(pid: pid, tid: tid)
            guard allowed == String(cpu) else {
                throw RunnerError("vCPU \(index) (tid \(tid)) should be on CPU \(cpu) but the kernel reports \(allowed)")
            }
            report.append(.init(role: "vcpu\(index)", tid: tid, allowed: allowed))
        }
        if !emulatorPins.isEmpty {
            let vcpuTids = Set(vcpuThreads.values)
            for tid in try tasks(of: pid) where !vcpuTids.contains(tid) {
                // A thread may end between listing and pinning (QEMU's short-lived workers).
                guard (try? pin(tid: tid, cpus: emulatorPins)) != nil, let allowed = try? allowedCPUs(pid: pid, tid: tid) else { continue }
                report.append(.init(role: "emulator", tid: tid, allowed: allowed))
            }
        }
        return Report(threads: report)
    }

    static func pin(tid: Int, cpus: [Int]) throws {
        let cpus32 = cpus.map { Int32($0) }
        guard swiftlet_pin_thread(pid_t(tid), cpus32, Int32(cpus32.count)) == 0 else {
            throw RunnerError("cannot pin thread \(tid) to CPU \(cpus.map(String.init).joined(separator: ",")): \(String(cString: strerror(errno)))")
        }
    }

    static func tasks(of pid: Int32) throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap(Int.init).sorted()
    }

    /// `Cpus_allowed_list` of one thread, e.g. "1" or "0-1".
    public static func allowedCPUs(pid: Int32, tid: Int) throws -> String {
        let status = try String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else {
            throw RunnerError("no Cpus_allowed_list for thread \(tid)")
        }
        return line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
    }

    /// Parses "1,0" or "0-3" into CPU numbers, checking each exists on this host.
    public static func parseList(_ text: String, hostCPUs: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [Int] {
        var cpus: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let low = bounds.first ?? nil, low >= 0, bounds.count == 1 || (bounds[1] ?? -1) >= low else {
                throw RunnerError("bad CPU list '\(text)': expected numbers like 1,0 or 0-3")
            }
            cpus += bounds.count == 1 ? [low] : Array(low...bounds[1]!)
        }
        guard !cpus.isEmpty else { throw RunnerError("empty CPU list") }
        if let bad = cpus.first(where: { $0 >= hostCPUs }) {
            throw RunnerError("CPU \(bad) does not exist: this host has CPUs 0-\(hostCPUs - 1)")
        }
        return cpus
    }
}
