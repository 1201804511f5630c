/// What an access writes into `Entry.lastAccess`: the LRU clock, or under an LFU eviction policy
/// Redis's LFU word (evict.c): the last decrement time in minutes (16 bits) above an 8-bit
/// logarithmic access counter. As in Redis the one field serves both, so switching policy at
/// run time makes old values read oddly until keys are touched again.
public struct AccessClock: Sendable {
    /// Seconds (the LRU clock).
    public var seconds: UInt32
    /// Non-nil under an LFU policy.
    public var lfu: LFU?

    public struct LFU: Sendable {
        /// `lfu-log-factor`: how many accesses it takes to raise the counter as it grows.
        public var logFactor: Int
        /// `lfu-decay-time`: minutes for the counter to lose one (0: never).
        public var decayMinutes: Int
        /// A random number in 0..<2^32 for the counter's probabilistic increment.
        public var random: UInt32

        public init(logFactor: Int, decayMinutes: Int, random: UInt32) {
            self.logFactor = logFactor
            self.decayMinutes = decayMinutes
            self.random = random
        }
    }

    /// The counter a new key starts with (Redis's LFU_INIT_VAL), so it is not evicted at once.
    public static let lfuInitialCount: UInt32 = 5

    public init(seconds: UInt32, lfu: LFU? = nil) {
        self.seconds = seconds
        self.lfu = lfu
    }

    @inlinable
    var minutes: UInt32 { (seconds / 60) & 0xFFFF }

    /// The field of a key created now.
    @inlinable
    public var initial: UInt32 {
        lfu == nil ? seconds : minutes << 8 | AccessClock.lfuInitialCount
    }

    /// The field after an access to a key whose field was `old`.
    @inlinable
    public func touched(_ old: UInt32) -> UInt32 {
        guard let lfu else { return seconds }
        var counter = decayedCount(old, decayMinutes: lfu.decayMinutes)
        if counter < 255 {
            // LFULogIncr: the counter rises with probability 1/((counter - 5) * factor + 1).
            let base = Double(counter > AccessClock.lfuInitialCount ? counter - AccessClock.lfuInitialCount : 0)
            let p = 1.0 / (base * Double(lfu.logFactor) + 1)
            if Double(lfu.random) / 4_294_967_296.0 < p { counter += 1 }
        }
        return minutes << 8 | counter
    }

    /// The counter of an LFU field after the decay due since its last decrement
    /// (Redis's LFUDecrAndReturn: one per `lfu-decay-time` minutes elapsed).
    @inlinable
    public func decayedCount(_ field: UInt32, decayMinutes: Int) -> UInt32 {
        let counter = field & 0xFF
        guard decayMinutes > 0 else { return counter }
        let last = (field >> 8) & 0xFFFF
        let now = minutes
        let elapsed = now >= last ? now - last : 0xFFFF - last + now
        let periods = elapsed / UInt32(decayMinutes)
        return periods >= counter ? 0 : counter - periods
    }

    /// Seconds since the access recorded in an LRU field.
    @inlinable
    public func idleSeconds(_ field: UInt32) -> UInt32 { seconds >= field ? seconds - field : 0 }
}
