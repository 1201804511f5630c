import Atomics
import CSwiftletSupport
import Keyspace
import NIOConcurrencyHelpers

/// Durations in nanoseconds, bucketed as HdrHistogram buckets them with two significant digits
/// (what Redis 7.0 keeps per command for INFO latencystats and LATENCY HISTOGRAM): exact below
/// 256 ns, then 128 buckets per power of two, so a reported value is within 1/128 of the true
/// one. Longer than about 1.07 s counts in the last bucket (Redis caps its histograms at 1 s).
public enum LatencyBuckets {
    static let exact = 256
    static let perOctave = 128
    /// The last octave holds 2^29 ... 2^30-1 ns.
    static let maxValue: UInt64 = (1 << 30) - 1
    /// 256 exact buckets, then the octaves 2^8 ... 2^29.
    public static let count = exact + (29 - 8 + 1) * perOctave

    @inline(__always)
    public static func index(of nanos: UInt64) -> Int {
        let v = nanos < maxValue ? nanos : maxValue
        if v < UInt64(exact) { return Int(v) }
        let octave = 63 - v.leadingZeroBitCount          // 8 ... 29
        let sub = Int(truncatingIfNeeded: v >> UInt64(octave - 7)) - perOctave   // 0 ..< 128
        return exact + (octave - 8) * perOctave + sub
    }

    /// The highest duration that lands in bucket `index` (HdrHistogram's "highest equivalent
    /// value", which is what Redis reports).
    public static func highestValue(of index: Int) -> UInt64 {
        if index < exact { return UInt64(index) }
        let octave = (index - exact) / perOctave + 8
        let width = UInt64(1) << UInt64(octave - 7)
        return UInt64((index - exact) % perOctave + perOctave) * width + width - 1
    }

    /// HdrHistogram's value at a percentile: the highest value of the bucket where the running
    /// count first reaches `percentile`% of the total (at least one sample).
    public static func value(atPercentile percentile: Double, in counts: [UInt64], total: UInt64) -> UInt64 {
        guard total > 0 else { return 0 }
        let wanted = max(UInt64((percentile / 100 * Double(total)) + 0.5), 1)
        var running: UInt64 = 0
        for (i, n) in counts.enumerated() where n > 0 {
            running += n
            if running >= wanted { return highestValue(of: i) }
        }
        return highestValue(of: counts.count - 1)
    }
}

/// One thread's counters. Only the thread that owns the block writes it (a relaxed load and
/// store, no read-modify-write: the same instructions as plain memory access); any thread may
/// read it for INFO. Never freed while a thread's local variable may point at it (see
/// `CommandStatistics.block`).
final class ThreadStatistics {
    /// Which `CommandStatistics` the block counts for (tests run several servers in one process).
    let registryID: UInt64
    let commandCount: Int
    /// calls, nanoseconds, rejected calls, failed calls for each command, by `Command.statsIndex`.
    let counters: UnsafeMutablePointer<UInt64.AtomicRepresentation>
    /// Each command's histogram (`LatencyBuckets.count` counts), allocated when the command first
    /// runs on this thread; the address as an Int, 0 while there is none.
    let histograms: UnsafeMutablePointer<Int.AtomicRepresentation>

    static let fields = 4

    init(registryID: UInt64, commandCount: Int) {
        self.registryID = registryID
        self.commandCount = commandCount
        counters = .allocate(capacity: commandCount * Self.fields)
        counters.initialize(repeating: .init(0), count: commandCount * Self.fields)
        histograms = .allocate(capacity: commandCount)
        histograms.initialize(repeating: .init(0), count: commandCount)
    }

    deinit {
        for i in 0..<commandCount {
            if let h = histogram(i) { h.deallocate() }
        }
        counters.deallocate()
        histograms.deallocate()
    }

    @inline(__always)
    func add(_ field: Int, of command: Int, _ amount: UInt64) {
        let counter = UnsafeAtomic<UInt64>(at: counters + (command &* Self.fields &+ field))
        counter.store(counter.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    func read(_ field: Int, of command: Int) -> UInt64 {
        UnsafeAtomic<UInt64>(at: counters + (command * Self.fields + field)).load(ordering: .relaxed)
    }

    /// The command's histogram, read by any thread (acquiring: its counts are initialised).
    func histogram(_ command: Int) -> UnsafeMutablePointer<UInt64.AtomicRepresentation>? {
        UnsafeMutablePointer(bitPattern: UnsafeAtomic<Int>(at: histograms + command).load(ordering: .acquiring))
    }

    /// Counts one duration into the command's histogram (owner thread only).
    @inline(__always)
    func addToHistogram(_ command: Int, nanos: UInt64) {
        let buckets: UnsafeMutablePointer<UInt64.AtomicRepresentation>
        // Relaxed: this thread wrote the address itself.
        if let existing = UnsafeMutablePointer<UInt64.AtomicRepresentation>(
            bitPattern: UnsafeAtomic<Int>(at: histograms + command).load(ordering: .relaxed)) {
            buckets = existing
        } else {
            buckets = .allocate(capacity: LatencyBuckets.count)
            buckets.initialize(repeating: .init(0), count: LatencyBuckets.count)
            // Releasing: a reader that sees the address sees the zeroed counts.
            UnsafeAtomic<Int>(at: histograms + command).store(Int(bitPattern: buckets), ordering: .releasing)
        }
        let bucket = UnsafeAtomic<UInt64>(at: buckets + LatencyBuckets.index(of: nanos))
        bucket.store(bucket.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}

/// One command's totals over every thread (INFO commandstats and latencystats, LATENCY HISTOGRAM).
public struct CommandTotals {
    public var calls: UInt64 = 0
    public var nanos: UInt64 = 0
    public var rejected: UInt64 = 0
    public var failed: UInt64 = 0
    /// Empty unless asked for: `LatencyBuckets.count` counts.
    public var histogram: [UInt64] = []
    public var histogramTotal: UInt64 { histogram.reduce(0, +) }
}

/// Per-command statistics as Redis keeps them (calls, time, rejected and failed calls, a latency
/// histogram), the error-reply counts by error code (INFO errorstats), and the SLOWLOG and
/// LATENCY monitors fed from the same measurement.
///
/// Each thread that runs commands counts into a block of its own, found through a C
/// thread-local: no lock and no atomic read-modify-write on the command path. Readers sum the
/// blocks. CONFIG RESETSTAT cannot zero another thread's counters without racing its writes, so
/// it records the sums as a baseline that later readings subtract.
public final class CommandStatistics: @unchecked Sendable {
    /// Commands by `Command.statsIndex`.
    public let commands: [Command]
    private let registryID: UInt64
    private static let nextRegistryID = ManagedAtomic<UInt64>(1)

    private let lock = NIOLock()
    private var blocks: [ThreadStatistics] = []           // guarded by lock
    private var baseline: [CommandTotals]                  // guarded by lock
    private var errorCounts: [String: UInt64] = [:]        // guarded by lock
    private var errorOrder: [String] = []                  // guarded by lock: first-seen order
    private var untrackedErrors: UInt64 = 0                // guarded by lock

    /// `latency-tracking`: keep the per-command histograms.
    public let tracksLatency = UnsafeAtomic<Bool>.create(true)
    /// `slowlog-log-slower-than` in nanoseconds; `UInt64.max` when the slow log is off.
    public let slowlogThreshold = UnsafeAtomic<UInt64>.create(10_000_000)
    /// `latency-monitor-threshold` in milliseconds; 0 when the latency monitor is off.
    public let latencyThreshold = UnsafeAtomic<Int>.create(0)
    public let slowLog = SlowLog()
    public let latencyMonitor = LatencyMonitor()

    /// Redis stops tracking new error codes past 128 distinct ones (a client can invent codes).
    static let errorCodeLimit = 128

    public init(table: CommandTable) {
        commands = table.indexed
        registryID = Self.nextRegistryID.loadThenWrappingIncrement(ordering: .relaxed)
        baseline = Array(repeating: CommandTotals(), count: table.indexed.count)
    }

    deinit {
        tracksLatency.destroy()
        slowlogThreshold.destroy()
        latencyThreshold.destroy()
    }

    /// The calling thread's block, made on its first command. The thread-local holds a
    /// reference of its own, so a block outlives its registry while a thread may still find it.
    @inline(__always)
    func withBlock(_ body: (ThreadStatistics) -> Void) {
        if let raw = swiftlet_thread_statistics() {
            let current = Unmanaged<ThreadStatistics>.fromOpaque(raw)
            if current._withUnsafeGuaranteedRef({ $0.registryID == registryID }) {
                return current._withUnsafeGuaranteedRef(body)
            }
        }
        body(makeBlock())
    }

    private func makeBlock() -> ThreadStatistics {
        let block = ThreadStatistics(registryID: registryID, commandCount: commands.count)
        lock.withLockVoid { blocks.append(block) }
        if let old = swiftlet_thread_statistics() { Unmanaged<ThreadStatistics>.fromOpaque(old).release() }
        swiftlet_set_thread_statistics(Unmanaged.passRetained(block).toOpaque())
        return block
    }

    // MARK: recording (the command path)

    /// One finished call of `command` that took `nanos`, replying an error when `failed`.
    @inline(__always)
    public func recordCall(_ command: Command, nanos: UInt64, failed: Bool) {
        let index = command.statsIndex
        let histogram = tracksLatency.load(ordering: .relaxed)
        withBlock { block in
            block.add(0, of: index, 1)
            block.add(1, of: index, nanos)
            if failed { block.add(3, of: index, 1) }
            if histogram { block.addToHistogram(index, nanos: nanos) }
        }
    }

    /// `command` was refused before it ran (arity, NOAUTH, OOM, MISCONF, READONLY, ...).
    public func recordRejection(_ command: Command) {
        let index = command.statsIndex
        withBlock { $0.add(2, of: index, 1) }
    }

    /// Error replies by their code (the first word: `ERR`, `WRONGTYPE`, `OOM`).
    public func recordErrors(_ codes: [Substring]) {
        lock.withLockVoid {
            for code in codes {
                let key = String(code)
                if let n = errorCounts[key] {
                    errorCounts[key] = n + 1
                } else if errorCounts.count < Self.errorCodeLimit {
                    errorCounts[key] = 1
                    errorOrder.append(key)
                } else {
                    untrackedErrors += 1
                }
            }
        }
    }

    /// A spike of `millis` for the latency monitor's `event`, kept when the monitor is on and the
    /// spike reaches `latency-monitor-threshold`.
    public func noteLatency(_ event: String, millis: Int) {
        let threshold = latencyThreshold.load(ordering: .relaxed)
        guard threshold > 0, millis >= threshold else { return }
        latencyMonitor.add(event, millis: millis, time: Int(currentTimeMillis() / 1000))
    }

    // MARK: reading

    /// Every command's totals since start-up or the last reset; histograms only when asked.
    public func totals(withHistograms: Bool = false) -> [CommandTotals] {
        lock.withLock {
            var out = Array(repeating: CommandTotals(), count: commands.count)
            for block in blocks {
                for i in 0..<commands.count {
                    out[i].calls &+= block.read(0, of: i)
                    out[i].nanos &+= block.read(1, of: i)
                    out[i].rejected &+= block.read(2, of: i)
                    out[i].failed &+= block.read(3, of: i)
                    if withHistograms, let h = block.histogram(i) {
                        if out[i].histogram.isEmpty { out[i].histogram = Array(repeating: 0, count: LatencyBuckets.count) }
                        for b in 0..<LatencyBuckets.count {
                            out[i].histogram[b] &+= UnsafeAtomic<UInt64>(at: h + b).load(ordering: .relaxed)
                        }
                    }
                }
            }
            for i in 0..<commands.count {
                let base = baseline[i]
                out[i].calls &-= base.calls
                out[i].nanos &-= base.nanos
                out[i].rejected &-= base.rejected
                out[i].failed &-= base.failed
                if !out[i].histogram.isEmpty && !base.histogram.isEmpty {
                    for b in 0..<LatencyBuckets.count { out[i].histogram[b] &-= base.histogram[b] }
                }
            }
            return out
        }
    }

    /// Error counts by code, in the order the codes first appeared.
    public func errorTotals() -> [(code: String, count: UInt64)] {
        lock.withLock { errorOrder.map { ($0, errorCounts[$0] ?? 0) } }
    }

    /// Every error reply counted (INFO `total_error_replies`).
    public var totalErrorReplies: UInt64 {
        lock.withLock { errorCounts.values.reduce(untrackedErrors, +) }
    }

    /// CONFIG RESETSTAT.
    public func reset() {
        let now = totals(withHistograms: true)
        lock.withLockVoid {
            for i in 0..<now.count {
                var base = baseline[i]
                base.calls &+= now[i].calls
                base.nanos &+= now[i].nanos
                base.rejected &+= now[i].rejected
                base.failed &+= now[i].failed
                if !now[i].histogram.isEmpty {
                    if base.histogram.isEmpty { base.histogram = Array(repeating: 0, count: LatencyBuckets.count) }
                    for b in 0..<LatencyBuckets.count { base.histogram[b] &+= now[i].histogram[b] }
                }
                baseline[i] = base
            }
            errorCounts = [:]
            errorOrder = []
            untrackedErrors = 0
        }
    }
}
