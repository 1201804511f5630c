import DequeModule
import NIOCore
import Keyspace

/// Why a file could not be loaded, and where: `offset` is the byte position in the file where
/// the bad or missing data starts.
public struct RDBLoadError: Error, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "\(reason) (at byte offset \(offset))" }
}

/// What a load found.
public struct RDBLoadSummary: Sendable {
    public var version = 0
    public var keysLoaded = 0
    /// Keys whose expiry had already passed: skipped, as a Redis master does.
    public var keysExpired = 0
    /// Empty collections (Redis 7.0 skips them too).
    public var emptyKeysSkipped = 0
    public var aux: [String: String] = [:]
}

/// Decodes an RDB file (versions 1 to 10) held in memory.
///
/// Every encoding Redis 7.0 writes is read: plain, integer and LZF strings; lists as plain
/// lists, ziplists, quicklists and quicklist 2 (plain and listpack nodes); sets as plain sets and
/// intsets; hashes as plain hashes, zipmaps, ziplists and listpacks; sorted sets as zset, zset2,
/// ziplists and listpacks. Streams, modules and functions have no counterpart in Swiftlet yet:
/// such a file is refused with a message, never half-loaded silently. Every read is
/// bounds-checked; a truncated or corrupt file produces an `RDBLoadError` naming the offset.
public final class RDBReader {
    private let data: UnsafeRawBufferPointer
    private var pos = 0
    /// LZF output; reused, grown on demand.
    private var scratch: UnsafeMutableRawBufferPointer = .allocate(byteCount: 4096, alignment: 8)
    private let allocator = ByteBufferAllocator()

    public init(_ data: UnsafeRawBufferPointer) {
        self.data = data
    }

    deinit { scratch.deallocate() }

    /// Decodes the whole file, handing each live key to `insert(db, key, entry)`, which returns
    /// false for a key already present (a corrupt file). Expired keys are counted, not inserted.
    public func load(databases: Int, now: Int64, clock: UInt32,
                     insert: (Int, ByteBuffer, Entry) -> Bool) throws -> RDBLoadSummary {
        var summary = RDBLoadSummary()
        summary.version = try readHeader()
        var db = 0
        var expireAt: Int64 = 0
        while true {
            let opcodeOffset = pos
            let type = try byte()
            switch type {
            case RDB.Opcode.eof:
                try verifyChecksum(version: summary.version)
                return summary
            case RDB.Opcode.selectDB:
                let index = try length()
                guard index < UInt64(databases) else {
                    throw RDBLoadError(offset: opcodeOffset, reason: "the file uses database \(index) but the server has only \(databases) (raise 'databases')")
                }
                db = Int(index)
            case RDB.Opcode.resizeDB:
                _ = try length()
                _ = try length()
            case RDB.Opcode.expireTimeMillis:
                expireAt = Int64(bitPattern: try littleEndian(UInt64.self))
            case RDB.Opcode.expireTimeSeconds:
                expireAt = Int64(try littleEndian(UInt32.self)) * 1000
            case RDB.Opcode.aux:
                let key = try readText()
                let value = try readText()
                summary.aux[key] = value
            case RDB.Opcode.idle:
                _ = try length()
            case RDB.Opcode.freq:
                _ = try byte()
            case RDB.Opcode.moduleAux:
                throw RDBLoadError(offset: opcodeOffset, reason: "the file holds module data, which Swiftlet cannot load")
            case RDB.Opcode.function2, RDB.Opcode.functionPreGA:
                throw RDBLoadError(offset: opcodeOffset, reason: "the file holds Redis functions, which Swiftlet cannot load yet")
            default:
                guard let valueType = RDB.ValueType(rawValue: type) else {
                    throw RDBLoadError(offset: opcodeOffset, reason: "unknown value type \(type)")
                }
                let key = try readBuffer()
                let valueOffset = pos
                let value = try readValue(valueType, at: opcodeOffset)
                defer { expireAt = 0 }
                guard let value else {
                    summary.emptyKeysSkipped += 1
                    continue
                }
                if expireAt != 0 && expireAt <= now {
                    summary.keysExpired += 1
                    continue
                }
                guard insert(db, key, Entry(value: value, expireAt: expireAt, lastAccess: clock)) else {
                    throw RDBLoadError(offset: valueOffset, reason: "duplicate key '\(key.string)' in database \(db)")
                }
                summary.keysLoaded += 1
            }
        }
    }

    private func readHeader() throws -> Int {
        guard data.count >= 9 else { throw RDBLoadError(offset: data.count, reason: "file too short for an RDB header") }
        guard Array(data[0..<5]) == Array("REDIS".utf8) else {
            throw RDBLoadError(offset: 0, reason: "not an RDB file (wrong signature)")
        }
        guard let version = Int(String(decoding: data[5..<9], as: UTF8.self)) else {
            throw RDBLoadError(offset: 5, reason: "not an RDB file (bad version field)")
        }
        guard version >= RDB.oldestReadableVersion && version <= RDB.version else {
            throw RDBLoadError(offset: 5, reason: "can't handle RDB format version \(version)")
        }
        pos = 9
        return version
    }

    private func verifyChecksum(version: Int) throws {
        guard version >= 5 else { return }
        let covered = pos
        let stored = try littleEndian(UInt64.self)
        guard stored != 0 else { return }   // written with rdbchecksum no
        var crc = CRC64()
        crc.update(UnsafeRawBufferPointer(rebasing: data[0..<covered]))
        guard crc.value == stored else {
            throw RDBLoadError(offset: covered, reason: "wrong RDB checksum: the file is damaged (expected \(hex(stored)), computed \(hex(crc.value)))")
        }
    }

    // MARK: Values

    /// The decoded value; nil for an empty collection.
    private func readValue(_ type: RDB.ValueType, at offset: Int) throws -> Value? {
        switch type {
        case .string:
            return .string(try readCompact())
        case .list:
            let n = try count()
            var list = Deque<CompactBytes>(minimumCapacity: min(n, 1 << 16))
            for _ in 0..<n { list.append(try readCompact()) }
            return list.isEmpty ? nil : .list(list)
        case .set:
            let n = try count()
            var set = Set<ByteBuffer>(minimumCapacity: min(n, 1 << 16))
            for _ in 0..<n {
                let at = pos
                guard set.insert(try readBuffer()).inserted else { throw RDBLoadError(offset: at, reason: "duplicate set member") }
            }
            return set.isEmpty ? nil : .set(set)
        case .zset, .zset2:
            let n = try count()
            var zset = SortedSet()
            for _ in 0..<n {
                let at = pos
                let member = try readBuffer()
                let score = type == .zset2 ? Double(bitPattern: try littleEndian(UInt64.self)) : try readTextDouble()
                guard !score.isNaN else { throw RDBLoadError(offset: at, reason: "sorted set score is NaN") }
                guard zset.insert(member, score: score) == nil else { throw RDBLoadError(offset: at, reason: "duplicate sorted set member") }
            }
            return zset.isEmpty ? nil : .zset(zset)
        case .hash:
            let n = try count()
            var hash = [ByteBuffer: ByteBuffer](minimumCapacity: min(n, 1 << 16))
            for _ in 0..<n {
                let at = pos
                let field = try readBuffer()
                guard hash.updateValue(try readBuffer(), forKey: field) == nil else {
                    throw RDBLoadError(offset: at, reason: "duplicate hash field")
                }
            }
            return hash.isEmpty ? nil : .hash(hash)
        case .listZiplist:
            var list = Deque<CompactBytes>()
            try readBlobBytes(Ziplist.self) { list.append(CompactBytes($0)) }
            return list.isEmpty ? nil : .list(list)
        case .listQuicklist:
            var list = Deque<CompactBytes>()
            for _ in 0..<(try count()) {
                try readBlobBytes(Ziplist.self) { list.append(CompactBytes($0)) }
            }
            return list.isEmpty ? nil : .list(list)
        case .listQuicklist2:
            var list = Deque<CompactBytes>()
            for _ in 0..<(try count()) {
                let containerOffset = pos
                let container = try length()
                switch Int(container) {
                case RDB.QuicklistNode.plain: list.append(try readCompact())
                case RDB.QuicklistNode.packed: try readBlobBytes(Listpack.self) { list.append(CompactBytes($0)) }
                default: throw RDBLoadError(offset: containerOffset, reason: "unknown quicklist node container \(container)")
                }
            }
            return list.isEmpty ? nil : .list(list)
        case .setIntset:
            var set = Set<ByteBuffer>()
            try readBlob(Intset.self) { set.insert($0) }
            return set.isEmpty ? nil : .set(set)
        case .hashZipmap, .hashZiplist, .hashListpack:
            var hash = [ByteBuffer: ByteBuffer]()
            var field: ByteBuffer?
            let at = pos
            let collect: (ByteBuffer) -> Void = { element in
                if let f = field {
                    hash[f] = element
                    field = nil
                } else {
                    field = element
                }
            }
            switch type {
            case .hashZipmap: try readBlob(Zipmap.self, collect)
            case .hashZiplist: try readBlob(Ziplist.self, collect)
            default: try readBlob(Listpack.self, collect)
            }
            guard field == nil else { throw RDBLoadError(offset: at, reason: "hash with an odd number of elements") }
            return hash.isEmpty ? nil : .hash(hash)
        case .zsetZiplist, .zsetListpack:
            var zset = SortedSet()
            var member: ByteBuffer?
            var bad = false
            let at = pos
            let collect: (ByteBuffer) -> Void = { element in
                if let m = member {
                    if let score = parseDouble(element), !score.isNaN { _ = zset.insert(m, score: score) } else { bad = true }
                    member = nil
                } else {
                    member = element
                }
            }
            if type == .zsetZiplist { try readBlob(Ziplist.self, collect) } else { try readBlob(Listpack.self, collect) }
            guard member == nil, !bad else { throw RDBLoadError(offset: at, reason: "corrupt sorted set (odd element count or bad score)") }
            return zset.isEmpty ? nil : .zset(zset)
        case .streamListpacks, .streamListpacks2:
            throw RDBLoadError(offset: offset, reason: "the file holds a stream, a type Swiftlet does not support yet")
        case .modulePreGA, .module2:
            throw RDBLoadError(offset: offset, reason: "the file holds a module value, which Swiftlet cannot load")
        }
    }

    /// Reads a string holding a compact encoding and hands its elements, as owned buffers, to
    /// `body`; a structural error is reported at the string's offset.
    private func readBlob<E: CompactEncoding>(_ encoding: E.Type, _ body: (ByteBuffer) -> Void) throws {
        try readBlobBytes(encoding) { body(allocator.buffer(bytes: $0)) }
    }

    /// Each element of a compact encoding as its bytes (an integer as its decimal text), valid
    /// only during `body`: list elements are copied straight into `CompactBytes` from here.
    private func readBlobBytes<E: CompactEncoding>(_ encoding: E.Type, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let at = pos
        try readString { raw in
            do {
                try E.forEach(raw) { element in
                    switch element {
                    case .bytes(let b): body(b)
                    case .integer(let v):
                        var text = String(v)
                        text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
                    }
                }
            } catch let error as CompactEncodingError {
                throw RDBLoadError(offset: at, reason: "corrupt \(E.name): \(error.reason)")
            }
        }
    }

    // MARK: Primitives

    private func truncated() -> RDBLoadError {
        RDBLoadError(offset: data.count, reason: "unexpected end of file (the file is truncated)")
    }

    private func byte() throws -> UInt8 {
        guard pos < data.count else { throw truncated() }
        defer { pos += 1 }
        return data[pos]
    }

    private func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n <= data.count - pos else { throw truncated() }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)])
    }

    private func littleEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    private func bigEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        return T(bigEndian: raw.loadUnaligned(as: T.self))
    }

    /// A length prefix, or the special-encoding number when `encoded` comes back true.
    private func lengthOrEncoding() throws -> (value: UInt64, encoded: Bool) {
        let at = pos
        let first = try byte()
        switch first >> 6 {
        case RDB.Length.bits6: return (UInt64(first & 0x3f), false)
        case RDB.Length.bits14: return (UInt64(first & 0x3f) << 8 | UInt64(try byte()), false)
        case RDB.Length.encoded: return (UInt64(first & 0x3f), true)
        default:
            if first == RDB.Length.bits32 { return (UInt64(try bigEndian(UInt32.self)), false) }
            if first == RDB.Length.bits64 { return (try bigEndian(UInt64.self), false) }
            throw RDBLoadError(offset: at, reason: "unknown length encoding \(first)")
        }
    }

    private func length() throws -> UInt64 {
        let at = pos
        let (value, encoded) = try lengthOrEncoding()
        guard !encoded else { throw RDBLoadError(offset: at, reason: "a length was expected, found a string encoding") }
        return value
    }

    /// An element count, refused when larger than the bytes left could possibly hold (so a
    /// corrupt count fails at once instead of allocating).
    private func count() throws -> Int {
        let at = pos
        let n = try length()
        guard n <= UInt64(data.count - pos) else {
            throw RDBLoadError(offset: at, reason: "element count \(n) larger than the rest of the file")
        }
        return Int(n)
    }

    /// A string in any of its encodings, as bytes valid only inside `body`.
    private func readString<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let at = pos
        let (value, encoded) = try lengthOrEncoding()
        if !encoded {
            guard value <= UInt64(data.count - pos) else { throw truncated() }
            return try body(try bytes(Int(value)))
        }
        switch UInt8(value) {
        case RDB.StringEncoding.int8:
            return try withDecimal(Int64(Int8(bitPattern: try byte())), body)
        case RDB.StringEncoding.int16:
            return try withDecimal(Int64(try littleEndian(Int16.self)), body)
        case RDB.StringEncoding.int32:
            return try withDecimal(Int64(try littleEndian(Int32.self)), body)
        case RDB.StringEncoding.lzf:
            let compressedLength = try length()
            let plainLength = try length()
            guard compressedLength <= UInt64(data.count - pos) else { throw truncated() }
            // LZF expands at most ~256:1 for a run of one byte; anything beyond is corrupt.
            guard plainLength <= compressedLength * 300 + 64 else {
                throw RDBLoadError(offset: at, reason: "implausible LZF length \(plainLength)")
            }
            let input = try bytes(Int(compressedLength))
            if scratch.count < Int(plainLength) {
                scratch.deallocate()
                scratch = .allocate(byteCount: Int(plainLength), alignment: 8)
            }
            let output = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Int(plainLength)])
            guard LZF.decompress(input, into: output) else {
                throw RDBLoadError(offset: at, reason: "corrupt LZF-compressed string")
            }
            return try body(UnsafeRawBufferPointer(output))
        default:
            throw RDBLoadError(offset: at, reason: "unknown string encoding \(value)")
        }
    }

    private func withDecimal<R>(_ v: Int64, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var text = String(v)
        return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    private func readBuffer() throws -> ByteBuffer {
        try readString { allocator.buffer(bytes: $0) }
    }

    /// A string read straight into a list element (no intermediate buffer).
    private func readCompact() throws -> CompactBytes {
        try readString { CompactBytes($0) }
    }

    private func readText() throws -> String {
        try readString { String(decoding: $0, as: UTF8.self) }
    }

    /// The old zset encoding's score: a length byte (253 NaN, 254 +inf, 255 -inf) then ASCII.
    private func readTextDouble() throws -> Double {
        let at = pos
        let n = try byte()
        switch n {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            let text = try bytes(Int(n))
            guard let d = parseDouble(allocator.buffer(bytes: text)) else {
                throw RDBLoadError(offset: at, reason: "bad sorted set score")
            }
            return d
        }
    }

    private func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
}
