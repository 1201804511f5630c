import NIOCore
import RESP

/// Commands as the append-only file stores them: RESP arrays of bulk strings, exactly what a
/// client sends (`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n`).
public enum AOFRecords {
    /// Appends one command.
    public static func append(_ args: [ByteBuffer], to out: inout ByteBuffer) {
        var bound = headerBound
        for arg in args { bound += argumentBound + arg.readableBytes }
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            var at = writeHeader(UInt8(ascii: "*"), args.count, raw, 0)
            for arg in args {
                arg.withUnsafeReadableBytes { at = writeArgument($0, raw, at) }
            }
            return at
        }
    }

    /// Appends one command from a request's arguments, read in place (the common case: a write
    /// that propagates as the client sent it; nothing is copied but into `out`). One capacity
    /// check for the whole record: it is on the path of every write.
    public static func append(_ args: Arguments, to out: inout ByteBuffer) {
        var bound = headerBound
        for i in 0..<args.count { bound += argumentBound + args.length(i) }
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            var at = writeHeader(UInt8(ascii: "*"), args.count, raw, 0)
            for i in 0..<args.count {
                args.withUnsafeBytes(i) { at = writeArgument($0, raw, at) }
            }
            return at
        }
    }

    /// Room for `*<count>\r\n` and, per argument, `$<length>\r\n...\r\n` beyond its bytes.
    private static let headerBound = 1 + 20 + 2
    private static let argumentBound = 1 + 20 + 2 + 2

    @inline(__always)
    private static func writeArgument(_ bytes: UnsafeRawBufferPointer, _ raw: UnsafeMutableRawBufferPointer, _ at: Int) -> Int {
        var at = writeHeader(UInt8(ascii: "$"), bytes.count, raw, at)
        if let base = bytes.baseAddress, bytes.count > 0 {
            (raw.baseAddress! + at).copyMemory(from: base, byteCount: bytes.count)
            at += bytes.count
        }
        raw[at] = 13
        raw[at + 1] = 10
        return at + 2
    }

    /// `<marker><decimal>\r\n` at `at`; returns the offset after it.
    @inline(__always)
    private static func writeHeader(_ marker: UInt8, _ value: Int, _ raw: UnsafeMutableRawBufferPointer, _ at: Int) -> Int {
        raw[at] = marker
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        var v = value
        var i = at + digits
        while i > at {
            raw[i] = UInt8(truncatingIfNeeded: v % 10) &+ 48
            v /= 10
            i -= 1
        }
        raw[at + 1 + digits] = 13
        raw[at + 2 + digits] = 10
        return at + 3 + digits
    }

    /// `SELECT db`, emitted when the next command's database differs from the last one's.
    public static func appendSelect(_ db: Int, to out: inout ByteBuffer) {
        append([ByteBuffer(string: "SELECT"), ByteBuffer(string: String(db))], to: &out)
    }
}

/// Why a file of commands stops being readable.
public enum AOFReadError: Error, Equatable, CustomStringConvertible {
    /// The file ends inside a command (a crash while appending): everything before `offset` is
    /// good.
    case truncated(offset: Int)
    /// Bytes that are not a command at `offset`.
    case corrupt(offset: Int, reason: String)

    public var description: String {
        switch self {
        case .truncated(let offset): return "unexpected end of file at byte offset \(offset)"
        case let .corrupt(offset, reason): return "\(reason) at byte offset \(offset)"
        }
    }
}

/// Reads commands from the bytes of an incr file (or an AOF-format base), one at a time, with
/// the offset where each starts, so a loader can say where a file went wrong and cut a
/// truncated tail at the last whole command.
public struct AOFCommandReader {
    private let bytes: UnsafeRawBufferPointer
    /// Offset of the next unread byte: after `next()`, the end of the command it returned.
    public private(set) var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var atEnd: Bool { offset >= bytes.count }

    /// The next command's arguments (owned copies), or nil at the end of the bytes.
    public mutating func next() throws -> [ByteBuffer]? {
        guard offset < bytes.count else { return nil }
        let start = offset
        var at = offset
        guard bytes[at] == UInt8(ascii: "*") else {
            throw AOFReadError.corrupt(offset: start, reason: "expected '*'")
        }
        at += 1
        let count = try number(&at, start: start)
        guard count >= 1 else { throw AOFReadError.corrupt(offset: start, reason: "empty command") }
        var args: [ByteBuffer] = []
        args.reserveCapacity(count)
        for _ in 0..<count {
            guard at < bytes.count else { throw AOFReadError.truncated(offset: start) }
            guard bytes[at] == UInt8(ascii: "$") else {
                throw AOFReadError.corrupt(offset: at, reason: "expected '$'")
            }
            at += 1
            let length = try number(&at, start: start)
            guard at + length + 2 <= bytes.count else { throw AOFReadError.truncated(offset: start) }
            guard bytes[at + length] == 13, bytes[at + length + 1] == 10 else {
                throw AOFReadError.corrupt(offset: at + length, reason: "no CRLF after a bulk string")
            }
            args.append(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + length)])))
            at += length + 2
        }
        offset = at
        return args
    }

    /// A decimal number ending in CRLF.
    private func number(_ at: inout Int, start: Int) throws -> Int {
        var value = 0
        var digits = 0
        while at < bytes.count, bytes[at] != 13 {
            let d = bytes[at]
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9"), digits < 18 else {
                throw AOFReadError.corrupt(offset: at, reason: "bad number")
            }
            value = value * 10 + Int(d - UInt8(ascii: "0"))
            digits += 1
            at += 1
        }
        guard at + 1 < bytes.count else { throw AOFReadError.truncated(offset: start) }
        guard digits > 0, bytes[at + 1] == 10 else {
            throw AOFReadError.corrupt(offset: at, reason: "bad number")
        }
        at += 2
        return value
    }
}
