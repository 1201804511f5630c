import Basics
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Redis does float arithmetic for INCRBYFLOAT/HINCRBYFLOAT in `long double` and prints it with
/// `%.17Lf`; with 64-bit mantissas `10.5 + -1.1` prints as `9.4`. Float80 is that type on x86.
#if arch(x86_64) || arch(i386)
public typealias LongDouble = Float80
#else
public typealias LongDouble = Double
#endif

/// A float argument as Redis's `getDoubleFromObject` reads it (scores, weights, SORT values,
/// timeouts): the whole text must be a number, without leading space; `inf` is accepted, NaN and
/// overflow are not (underflow to a denormal is).
public func parseDouble(_ text: ByteBuffer) -> Double? {
    // Through the raw bytes: a `readableBytesView` would retain the buffer's storage.
    text.withUnsafeReadableBytes { parseDouble($0) }
}

public func parseDouble(_ raw: UnsafeRawBufferPointer) -> Double? {
    guard let first = raw.first, !isASCIISpace(first),
          let (value, rangeError) = strtodWhole(raw) else { return nil }
    if value.isNaN { return nil }
    if rangeError && (value.isInfinite || value == 0) { return nil }
    return value
}

/// C's strtod over exactly `text` (NUL-terminated in a stack buffer, no String): nil unless every
/// byte was consumed; `rangeError` reports ERANGE.
public func strtodWhole(_ text: ByteBuffer) -> (value: Double, rangeError: Bool)? {
    text.withUnsafeReadableBytes { strtodWhole($0) }
}

public func strtodWhole(_ raw: UnsafeRawBufferPointer) -> (value: Double, rangeError: Bool)? {
    let n = raw.count
    guard n < 4096 else { return nil }   // longer than any number strtod could use whole
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buffer in
        for i in 0..<n { buffer[i] = CChar(bitPattern: raw[i]) }
        buffer[n] = 0
        let start = buffer.baseAddress!
        var end: UnsafeMutablePointer<CChar>? = nil
        errno = 0
        let value = strtod(start, &end)
        let rangeError = errno == ERANGE
        guard let end, end == start + n else { return nil }
        return (value, rangeError)
    }
}

/// Parses a long double (INCRBYFLOAT operand / stored value) like `string2ld`.
public func parseLongDouble(_ buffer: ByteBuffer) -> LongDouble? {
    let text = buffer.string
    guard !text.isEmpty, text.utf8.count <= 5000, let first = text.utf8.first, !isASCIISpace(first),
          let last = text.utf8.last, !isASCIISpace(last) else { return nil }
    var ok = true
    #if arch(x86_64) || arch(i386)
    let value: LongDouble = text.withCString { p in
        var end: UnsafeMutablePointer<CChar>? = nil
        errno = 0
        let v = strtold(p, &end)
        if end == nil || end!.pointee != 0 || errno == ERANGE { ok = false }
        return v
    }
    #else
    guard let d = parseDouble(buffer) else { return nil }
    let value = d
    #endif
    // Infinity parses (Redis's string2ld accepts it); the arithmetic that follows rejects it.
    guard ok, !value.isNaN else { return nil }
    return value
}

/// Formats like Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` with trailing zeros removed.
public func formatLongDouble(_ value: LongDouble) -> String {
    var out = [CChar](repeating: 0, count: 5200)
    #if arch(x86_64) || arch(i386)
    _ = withVaList([value]) { vsnprintf(&out, out.count, "%.17Lf", $0) }
    #else
    _ = withVaList([value]) { vsnprintf(&out, out.count, "%.17f", $0) }
    #endif
    var text = String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    if text == "-0" { text = "0" }
    return text
}

/// Milliseconds since the Unix epoch (wall clock, as Redis's `mstime()`).
public func currentTimeMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Microseconds since the Unix epoch.
public func currentTimeMicros() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

/// Monotonic microseconds, for short durations.
public func monotonicMicros() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

/// Monotonic nanoseconds: the duration of one command (INFO commandstats, SLOWLOG).
@inlinable
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Monotonic milliseconds, for timeouts and durations.
public func monotonicMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
