/// Byte-level text rules shared by the protocol parser, the number parsers and the
/// configuration reader, so each rule is written once.

/// Whitespace as C's `isspace` sees it in the C locale (space, \t, \n, \v, \f, \r): what
/// Redis's `sdssplitargs` splits inline commands and config lines on, and what its number
/// parsers refuse around a number.
@inlinable
public func isASCIISpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }

/// Redis's `string2ll`: the exact integer syntax Redis accepts for integer arguments, stored
/// integer values and protocol lengths. Rejects "+1", " 1", "01", "-0", "" and anything out
/// of range.
@inlinable
public func parseStrictInt64(_ raw: UnsafeRawBufferPointer) -> Int64? {
    let n = raw.count
    if n == 0 || n > 20 { return nil }
    if n == 1 && raw[0] == UInt8(ascii: "0") { return 0 }
    var i = 0
    var negative = false
    if raw[0] == UInt8(ascii: "-") {
        negative = true
        i = 1
        if n == 1 { return nil }
    }
    // First digit 1-9: no leading zeros (and rejects "-0").
    guard raw[i] >= UInt8(ascii: "1") && raw[i] <= UInt8(ascii: "9") else { return nil }
    var value: UInt64 = 0
    while i < n {
        let d = raw[i] &- UInt8(ascii: "0")
        guard d <= 9 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (s, o2) = m.addingReportingOverflow(UInt64(d))
        if o1 || o2 { return nil }
        value = s
        i += 1
    }
    if negative {
        if value > UInt64(Int64.max) + 1 { return nil }
        return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
    }
    if value > UInt64(Int64.max) { return nil }
    return Int64(value)
}

/// `parseStrictInt64` of a String (configuration values, command-line options).
public func parseStrictInt64(_ text: String) -> Int64? {
    var text = text
    return text.withUTF8 { parseStrictInt64(UnsafeRawBufferPointer($0)) }
}
