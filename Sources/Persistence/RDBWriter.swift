import Basics
import NIOCore
import Keyspace
#if canImport(Glibc)
import Glibc
#endif

/// Encodes a snapshot as an RDB version 10 file.
///
/// Output goes through a 64 KiB staging buffer to `sink` (a file descriptor in the server, memory
/// in tests); the CRC-64 is computed on the way. Values use the simple type encodings (string,
/// list, set, hash, zset2), which every Redis since 2.0 reads and re-encodes compactly itself;
/// strings get Redis's integer encoding and LZF compression exactly as `rdbSaveRawString` does.
public final class RDBWriter {
    public struct Options: Sendable {
        public var compression = true
        public var checksum = true
        /// `rdb-key-save-delay`: a pause after each key, so tests can watch a save in progress.
        public var keyDelayMicros = 0
        public init(compression: Bool = true, checksum: Bool = true, keyDelayMicros: Int = 0) {
            self.compression = compression
            self.checksum = checksum
            self.keyDelayMicros = keyDelayMicros
        }
    }

    /// Thrown from `write` when `isCancelled` turns true (FLUSHALL during a background save).
    public struct Cancelled: Error {}

    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private let options: Options
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    private var crc = CRC64()
    private let compressor = LZF.Compressor()
    private var compressed: UnsafeMutableRawBufferPointer
    public private(set) var bytesWritten = 0
    public private(set) var keysWritten = 0

    public init(options: Options = Options(), sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.options = options
        self.sink = sink
        staging = .allocate(byteCount: 64 * 1024, alignment: 8)
        compressed = .allocate(byteCount: 64 * 1024, alignment: 8)
    }

    deinit {
        staging.deallocate()
        compressed.deallocate()
    }

    /// The whole file: header, `aux` fields, every database of `snapshot`, EOF and checksum.
    /// `isCancelled` is polled every 1024 keys (every key when a key delay is set).
    public func write(_ snapshot: KeyspaceSnapshot, aux: [(String, String)], isCancelled: () -> Bool = { false }) throws {
        try Array("REDIS00\(RDB.version)".utf8).withUnsafeBytes { try writeRaw($0) }
        for (key, value) in aux {
            try writeByte(RDB.Opcode.aux)
            try writeString(key)
            try writeString(value)
        }
        for db in snapshot.databases {
            try writeByte(RDB.Opcode.selectDB)
            try writeLength(UInt64(db.index))
            try writeByte(RDB.Opcode.resizeDB)
            try writeLength(UInt64(db.keyCount))
            try writeLength(UInt64(db.expiresCount))
            try snapshot.forEachEntry(in: db) { key, entry in
                try writeEntry(key, entry)
                if options.keyDelayMicros > 0 { usleep(UInt32(options.keyDelayMicros)) }
                if keysWritten & 1023 == 0 || options.keyDelayMicros > 0, isCancelled() { throw Cancelled() }
            }
        }
        try writeByte(RDB.Opcode.eof)
        try flushStaging()   // the checksum covers everything up to here
        let checksum = options.checksum ? crc.value : 0
        try withUnsafeBytes(of: checksum.littleEndian) { try writeRaw($0) }
        try flushStaging()
    }

    func writeEntry(_ key: CompactBytes, _ entry: Entry) throws {
        if entry.expireAt != 0 {
            try writeByte(RDB.Opcode.expireTimeMillis)
            try withUnsafeBytes(of: UInt64(bitPattern: entry.expireAt).littleEndian) { try writeRaw($0) }
        }
        switch entry.value {
        case .string(let s):
            try writeByte(RDB.ValueType.string.rawValue)
            try key.withUnsafeBytes { try writeString($0) }
            try s.withUnsafeBytes { try writeString($0) }
        case .list(let list):
            try writeByte(RDB.ValueType.list.rawValue)
            try key.withUnsafeBytes { try writeString($0) }
            try writeLength(UInt64(list.count))
            for element in list { try element.withUnsafeBytes { try writeString($0) } }
        case .set(let set):
            try writeByte(RDB.ValueType.set.rawValue)
            try key.withUnsafeBytes { try writeString($0) }
            try writeLength(UInt64(set.count))
            for member in set { try writeString(member) }
        case .hash(let hash):
            try writeByte(RDB.ValueType.hash.rawValue)
            try key.withUnsafeBytes { try writeString($0) }
            try writeLength(UInt64(hash.count))
            for (field, value) in hash {
                try writeString(field)
                try writeString(value)
            }
        case .zset(let zset):
            try writeByte(RDB.ValueType.zset2.rawValue)
            try key.withUnsafeBytes { try writeString($0) }
            try writeLength(UInt64(zset.count))
            // Redis writes from the tail so that loading appends at the head; either order loads.
            for (member, score) in zset {
                try writeString(member)
                try withUnsafeBytes(of: score.bitPattern.littleEndian) { try writeRaw($0) }
            }
        }
        keysWritten += 1
        
    }

    // MARK: Encodings

    /// `rdbSaveLen`: 6, 14, 32 or 64 bits, big-endian in the last two forms.
    func writeLength(_ n: UInt64) throws {
        if n < 1 << 6 {
            try writeByte(UInt8(n))
        } else if n < 1 << 14 {
            try writeByte(UInt8(n >> 8) | 0x40)
            try writeByte(UInt8(n & 0xff))
        } else if n <= UInt64(UInt32.max) {
            try writeByte(RDB.Length.bits32)
            try withUnsafeBytes(of: UInt32(n).bigEndian) { try writeRaw($0) }
        } else {
            try writeByte(RDB.Length.bits64)
            try withUnsafeBytes(of: n.bigEndian) { try writeRaw($0) }
        }
    }

    func writeString(_ s: String) throws {
        var s = s
        try s.withUTF8 { try writeString(UnsafeRawBufferPointer($0)) }
    }

    func writeString(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { try writeString($0) }
    }

    /// `rdbSaveRawString`: a canonical decimal that fits 32 bits as an integer; otherwise LZF when
    /// compression is on, the string is over 20 bytes and compressing saves at least 4 bytes;
    /// otherwise length and bytes.
    func writeString(_ raw: UnsafeRawBufferPointer) throws {
        let n = raw.count
        if n <= 11, let v = parseStrictInt64(raw), let small = Int32(exactly: v) {
            if let b = Int8(exactly: small) {
                try writeByte(0xC0 | RDB.StringEncoding.int8)
                try writeByte(UInt8(bitPattern: b))
            } else if let h = Int16(exactly: small) {
                try writeByte(0xC0 | RDB.StringEncoding.int16)
                try withUnsafeBytes(of: h.littleEndian) { try writeRaw($0) }
            } else {
                try writeByte(0xC0 | RDB.StringEncoding.int32)
                try withUnsafeBytes(of: small.littleEndian) { try writeRaw($0) }
            }
            return
        }
        if options.compression && n > 20 {
            if compressed.count < n {
                compressed.deallocate()
                compressed = .allocate(byteCount: n, alignment: 8)
            }
            let size = compressor.compress(raw, into: UnsafeMutableRawBufferPointer(rebasing: compressed[0..<(n - 4)]))
            if size > 0 {
                try writeByte(0xC0 | RDB.StringEncoding.lzf)
                try writeLength(UInt64(size))
                try writeLength(UInt64(n))
                try writeRaw(UnsafeRawBufferPointer(rebasing: compressed[0..<size]))
                return
            }
        }
        try writeLength(UInt64(n))
        try writeRaw(raw)
    }

    // MARK: Output

    @inline(__always)
    func writeByte(_ b: UInt8) throws {
        if staged == staging.count { try flushStaging() }
        staging[staged] = b
        staged += 1
    }

    func writeRaw(_ raw: UnsafeRawBufferPointer) throws {
        if raw.count <= staging.count - staged {
            UnsafeMutableRawBufferPointer(rebasing: staging[staged...]).copyMemory(from: raw)
            staged += raw.count
            return
        }
        // Larger than what is left: pass it straight through rather than copying it in pieces.
        try flushStaging()
        crc.update(raw)
        bytesWritten += raw.count
        try sink(raw)
    }

    private func flushStaging() throws {
        guard staged > 0 else { return }
        let chunk = UnsafeRawBufferPointer(rebasing: staging[0..<staged])
        crc.update(chunk)
        staged = 0
        bytesWritten += chunk.count
        try sink(chunk)
    }
}
