import NIOConcurrencyHelpers

/// The latency monitor (LATENCY LATEST/HISTORY/RESET/DOCTOR): for each event class, the last
/// 160 seconds that saw a spike of at least `latency-monitor-threshold` milliseconds, as in
/// Redis's latency.c. Events: `command` and `fast-command` (from the command path),
/// `expire-cycle` (active expiry), `eviction-cycle` (eviction), `aof-fsync-always`, `aof-write`.
public final class LatencyMonitor: @unchecked Sendable {
    public struct Sample: Sendable {
        /// Unix seconds.
        public var time: Int
        public var millis: Int
    }

    struct Series {
        /// A ring of `LatencyMonitor.length` samples; `next` is where the next second goes.
        var samples = Array(repeating: Sample(time: 0, millis: 0), count: LatencyMonitor.length)
        var next = 0
        var max = 0

        var last: Sample { samples[(next + LatencyMonitor.length - 1) % LatencyMonitor.length] }
        /// Oldest first, skipping unused slots.
        var history: [Sample] {
            (0..<LatencyMonitor.length).map { samples[(next + $0) % LatencyMonitor.length] }.filter { $0.time != 0 }
        }
    }

    static let length = 160

    private let lock = NIOLock()
    private var series: [String: Series] = [:]   // guarded by lock
    private var order: [String] = []             // guarded by lock: first-seen order

    public init() {}

    /// Records a spike of `millis` for `event` at Unix second `time`; spikes within one second
    /// keep the highest.
    public func add(_ event: String, millis: Int, time: Int) {
        lock.withLockVoid {
            var s = series[event] ?? { order.append(event); return Series() }()
            let previous = (s.next + Self.length - 1) % Self.length
            if s.samples[previous].time == time {
                s.samples[previous].millis = Swift.max(s.samples[previous].millis, millis)
            } else {
                s.samples[s.next] = Sample(time: time, millis: millis)
                s.next = (s.next + 1) % Self.length
            }
            s.max = Swift.max(s.max, millis)
            series[event] = s
        }
    }

    /// LATENCY LATEST: each event's newest sample and its all-time maximum.
    public func latest() -> [(event: String, last: Sample, max: Int)] {
        lock.withLock { order.compactMap { name in series[name].map { (name, $0.last, $0.max) } } }
    }

    /// LATENCY HISTORY: the event's samples, oldest first (empty for an unknown event).
    public func history(_ event: String) -> [Sample] {
        lock.withLock { series[event]?.history ?? [] }
    }

    /// LATENCY RESET: forgets the named events (every event for an empty list); returns how many
    /// were reset.
    public func reset(_ events: [String]) -> Int {
        lock.withLock {
            let names = events.isEmpty ? order : events
            var n = 0
            for name in Set(names) where series.removeValue(forKey: name) != nil { n += 1 }
            order.removeAll { series[$0] == nil }
            return n
        }
    }

    /// LATENCY GRAPH: Redis's ASCII sparkline of the event's samples (latency.c and
    /// sparkline.c: 80 columns, 4 rows, filled), each column labelled with how long ago its
    /// second was (`now`: Unix seconds); nil for an event without samples.
    public func graph(_ event: String, now: Int) -> String? {
        guard let s = lock.withLock({ series[event] }) else { return nil }
        let samples = s.history
        guard !samples.isEmpty else { return nil }
        let values = samples.map(\.millis)
        let labels = samples.map { sample -> String in
            let elapsed = now - sample.time
            if elapsed < 60 { return "\(elapsed)s" }
            if elapsed < 3600 { return "\(elapsed / 60)m" }
            if elapsed < 86400 { return "\(elapsed / 3600)h" }
            return "\(elapsed / 86400)d"
        }
        var out = "\(event) - high \(values.max()!) ms, low \(values.min()!) ms (all time high \(s.max) ms)\n"
        out += String(repeating: "-", count: 80) + "\n"
        var start = 0
        while start < values.count {
            if start != 0 { out += "\n" }
            let end = min(start + 80, values.count)
            out += Self.sparkline(values, labels, range: start..<end, min: values.min()!, max: values.max()!)
            start = end
        }
        return out
    }

    /// One band of columns of the sparkline: 4 rows of `_o#` (filled below with `|`), a blank
    /// row, then the labels written downwards.
    static func sparkline(_ values: [Int], _ labels: [String], range: Range<Int>, min: Int, max: Int) -> String {
        let charset: [Character] = ["_", "o", "#"]
        let rows = 4
        let steps = charset.count * rows
        let relmax = max - min == 0 ? 1.0 : Double(max - min)
        let labelChars = labels.map { Array($0) }
        var out = ""
        var row = 0
        while true {
            var line = Array(repeating: Character(" "), count: range.count)
            var more = false
            for (column, i) in range.enumerated() {
                if row < rows {
                    more = true
                    var step = Int(Double((values[i] - min) * steps) / relmax)
                    step = Swift.max(0, Swift.min(step, steps - 1))
                    let index = step - (rows - row - 1) * charset.count
                    if index >= 0 && index < charset.count { line[column] = charset[index] } else if index >= charset.count { line[column] = "|" }
                } else if row == rows {
                    more = true   // the blank row between the graph and its labels
                    break
                } else if labelChars[i].count > row - rows - 1 {
                    more = true
                    line[column] = labelChars[i][row - rows - 1]
                }
            }
            guard more else { break }
            out += String(line) + "\n"
            row += 1
        }
        return out
    }

    /// LATENCY DOCTOR (`enabled`: the monitor is on): the summary of Redis's report (per event: spikes, average, mean
    /// deviation, period, worst), with advice for the events Swiftlet records.
    public func doctor(enabled: Bool) -> String {
        guard enabled else {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
        }
        let all = lock.withLock { order.compactMap { name in series[name].map { (name, $0) } } }
        guard !all.isEmpty else {
            return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
        }
        var text = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n"
        var advice: Set<String> = []
        for (i, (name, s)) in all.enumerated() {
            let samples = s.history
            let n = samples.count
            let average = samples.reduce(0) { $0 + $1.millis } / Swift.max(n, 1)
            let deviation = samples.reduce(0) { $0 + abs($1.millis - average) } / Swift.max(n, 1)
            let span = n > 1 ? Double(samples[n - 1].time - samples[0].time) / Double(n) : 0
            let period = (span * 10).rounded() / 10
            text += "\(i + 1). \(name): \(n) latency spikes (average \(average)ms, mean deviation \(deviation)ms, period \(period) sec). Worst all time event \(s.max)ms.\n"
            switch name {
            case "command", "fast-command": advice.insert("slowlog")
            case "expire-cycle": advice.insert("expire")
            case "eviction-cycle": advice.insert("eviction")
            case let other where other.hasPrefix("aof"): advice.insert("aof")
            default: break
            }
        }
        text += "\nI have a few advices for you:\n\n"
        if advice.contains("slowlog") {
            text += "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"
            text += "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n"
        }
        if advice.contains("expire") {
            text += "- Many keys expiring at the same second make the active expiry work longer: spread the expiry times (add a random offset to the TTLs).\n"
        }
        if advice.contains("eviction") {
            text += "- Eviction runs while used memory is above maxmemory: raise maxmemory, or lower maxmemory-eviction-tenacity to bound the time one command spends evicting.\n"
        }
        if advice.contains("aof") {
            text += "- The append-only file waits for the disk: with appendfsync always each write waits for an fdatasync; consider everysec or bounded, or a faster disk.\n"
        }
        return text
    }
}
