/// Constants of the RDB file format, version 10 (Redis 7.0), named as in Redis's `rdb.h`.
///
/// A file is: the magic `REDIS0010`, AUX fields, then per database a SELECTDB and a RESIZEDB
/// opcode followed by its keys (each optionally preceded by EXPIRETIME_MS, then a type byte, the
/// key as a string and the value), then EOF and an 8-byte little-endian CRC-64 of everything
/// before it (0 when checksums are off).
public enum RDB {
    public static let version = 10
    /// Redis 7.0 refuses files newer than its own format; so do we.
    public static let oldestReadableVersion = 1

    public enum ValueType: UInt8 {
        case string = 0
        case list = 1
        case set = 2
        case zset = 3
        case hash = 4
        case zset2 = 5
        case modulePreGA = 6
        case module2 = 7
        case hashZipmap = 9
        case listZiplist = 10
        case setIntset = 11
        case zsetZiplist = 12
        case hashZiplist = 13
        case listQuicklist = 14
        case streamListpacks = 15
        case hashListpack = 16
        case zsetListpack = 17
        case listQuicklist2 = 18
        case streamListpacks2 = 19
    }

    public enum Opcode {
        public static let function2: UInt8 = 245
        public static let functionPreGA: UInt8 = 246
        public static let moduleAux: UInt8 = 247
        public static let idle: UInt8 = 248
        public static let freq: UInt8 = 249
        public static let aux: UInt8 = 250
        public static let resizeDB: UInt8 = 251
        public static let expireTimeMillis: UInt8 = 252
        public static let expireTimeSeconds: UInt8 = 253
        public static let selectDB: UInt8 = 254
        public static let eof: UInt8 = 255
    }

    /// Length prefixes: the top two bits of the first byte choose the form.
    enum Length {
        static let bits6: UInt8 = 0
        static let bits14: UInt8 = 1
        static let bits32: UInt8 = 0x80
        static let bits64: UInt8 = 0x81
        /// `11xxxxxx`: not a length but a special string encoding, `xxxxxx` below.
        static let encoded: UInt8 = 3
    }

    enum StringEncoding {
        static let int8: UInt8 = 0
        static let int16: UInt8 = 1
        static let int32: UInt8 = 2
        static let lzf: UInt8 = 3
    }

    /// Quicklist 2 node containers.
    enum QuicklistNode {
        static let plain = 1
        static let packed = 2
    }
}
