/// SplitMix64 (Steele, Lea and Flood): a fast, statistically solid 64-bit generator for the
/// random picks of commands (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) and for tests that must
/// reproduce. Not cryptographic. Seeded once per command from the system generator, because
/// the system generator costs a system call per number and a negative count can ask for
/// millions of draws.
public struct SplitMix64: RandomNumberGenerator {
    @usableFromInline var state: UInt64

    /// Seeded from the system's generator.
    @inlinable
    public init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    /// A fixed seed: the same sequence every time.
    @inlinable
    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (bound > 0) by Lemire's multiply-shift range reduction: one
    /// multiplication instead of a division; the bias (< bound / 2^64) is immaterial here.
    @inlinable
    public mutating func next(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}
