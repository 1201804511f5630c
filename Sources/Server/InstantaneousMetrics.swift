import Atomics
import NIOCore
import Commands
import Keyspace

/// INFO's `instantaneous_ops_per_sec`, `instantaneous_input_kbps` and `instantaneous_output_kbps`,
/// as Redis computes them (`trackInstantaneousMetric`): every 100 ms the growth of a counter
/// since the previous sample, per second; the figure is the mean of the last 16 samples.
final class InstantaneousMetrics: @unchecked Sendable {
    enum Metric: Int, CaseIterable {
        case commands, netInput, netOutput
    }

    static let samples = 16
    private let stats: ServerStats
    // Written by the sampling task only; read by INFO on any loop, hence the atomics.
    private let means = (0..<Metric.allCases.count).map { _ in ManagedAtomic<Int>(0) }
    // The sampling task's own state (one event loop).
    private var ring = Array(repeating: Array(repeating: 0, count: InstantaneousMetrics.samples), count: Metric.allCases.count)
    private var slot = 0
    private var lastValues = Array(repeating: 0, count: Metric.allCases.count)
    private var lastTime = monotonicMillis()

    init(stats: ServerStats) {
        self.stats = stats
    }

    func start(on loop: EventLoop) {
        lastValues = current()
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in sample() }
    }

    private func current() -> [Int] {
        [stats.commandsProcessed.load(ordering: .relaxed),
         stats.netInputBytes.load(ordering: .relaxed),
         stats.netOutputBytes.load(ordering: .relaxed)]
    }

    private func sample() {
        let now = monotonicMillis()
        let values = current()
        let elapsed = max(Int(now - lastTime), 1)
        for m in Metric.allCases {
            // A reset (CONFIG RESETSTAT) makes a counter go back: that sample counts as zero.
            let delta = max(values[m.rawValue] - lastValues[m.rawValue], 0)
            ring[m.rawValue][slot] = delta * 1000 / elapsed
            means[m.rawValue].store(ring[m.rawValue].reduce(0, +) / Self.samples, ordering: .relaxed)
        }
        slot = (slot + 1) % Self.samples
        lastValues = values
        lastTime = now
    }

    /// Per second: commands, or bytes for the network metrics.
    func value(_ metric: Metric) -> Int {
        means[metric.rawValue].load(ordering: .relaxed)
    }
}
