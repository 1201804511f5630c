/// The CRC-64 Redis appends to every RDB file: the "Jones" polynomial (0xad93d23594c935a9),
/// reflected input and output, initial value 0, no final xor (Redis's `crc64.c`). Check value:
/// `CRC64.checksum("123456789".utf8) == 0xe9c6d914c4b8d9ca`.
///
/// Slicing-by-8 (eight 256-entry tables, eight input bytes per step), the technique of Redis's
/// `crcspeed.c`, so that checksumming does not dominate SAVE and load time.
public struct CRC64: Sendable {
    public private(set) var value: UInt64 = 0

    public init() {}

    /// The polynomial with its bits reversed, as a reflected CRC consumes it.
    static let reflectedPolynomial: UInt64 = 0x95ac_9329_ac4b_c9b5

    /// Table k (entries 256k ..< 256(k+1)) gives the CRC of a byte followed by k zero bytes.
    static let table: [UInt64] = {
        var t = [UInt64](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var crc = UInt64(n)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1
            }
            t[n] = crc
        }
        for n in 0..<256 {
            var crc = t[n]
            for k in 1..<8 {
                crc = t[Int(crc & 0xff)] ^ (crc >> 8)
                t[k * 256 + n] = crc
            }
        }
        return t
    }()

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let n = bytes.count
        value = CRC64.table.withUnsafeBufferPointer { t in
            var crc = value
            var i = 0
            while n - i >= 8 {
                crc ^= UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                crc = t[7 * 256 + Int(crc & 0xff)] ^ t[6 * 256 + Int((crc >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((crc >> 16) & 0xff)] ^ t[4 * 256 + Int((crc >> 24) & 0xff)]
                    ^ t[3 * 256 + Int((crc >> 32) & 0xff)] ^ t[2 * 256 + Int((crc >> 40) & 0xff)]
                    ^ t[256 + Int((crc >> 48) & 0xff)] ^ t[Int(crc >> 56)]
                i += 8
            }
            while i < n {
                crc = t[Int((crc ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                i += 1
            }
            return crc
        }
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var crc = CRC64()
        Array(bytes).withUnsafeBytes { crc.update($0) }
        return crc.value
    }
}
