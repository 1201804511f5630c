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

/// Parses a float argument like Redis's `string2ld`/`string2d`: the whole text must be a number,
/// no leading space, `inf`/`-inf` accepted, NaN rejected.
public func parseDouble(_ buffer: ByteBuffer) -> Double? {
    let text = buffer.string
    guard !text.isEmpty, text.utf8.count <= 5000, let first = text.utf8.first, !isSpaceByte(first) else { return nil }
    let lower = text.lowercased()
    switch lower {
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    default: break
    }
    var end: UnsafeMutablePointer<CChar>? = nil
    let value: Double = text.withCString { p in
        errno = 0
        let v = strtod(p, &end)
        if end == nil || end!.pointee != 0 || errno == ERANGE { end = nil }
        return v
    }
    guard end != nil, !value.isNaN else { return nil }
    return value
}

/// Parses a long double (INCRBYFLOAT operand / stored value) like `string2ld`.
public func parseLongDouble(_ buffer: ByteBuffer) -> LongDouble? {
    let text = buffer.string
    guard !text.isEmpty, text.utf8.count <= 5000, let first = text.utf8.first, !isSpaceByte(first),
          let last = text.utf8.last, !isSpaceByte(last) else { return nil }
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

@inlinable
func isSpaceByte(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }

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

/// Monotonic milliseconds, for timeouts and durations.
public func monotonicMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
