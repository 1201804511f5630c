import NIOCore

/// Commands as the append-only file stores them: RESP arrays of bulk strings, exactly what a
/// client sends (`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n`).
public enum AOFRecords {
    /// Appends one command.
    public static func append(_ args: [ByteBuffer], to out: inout ByteBuffer) {
        out.writeInteger(UInt8(ascii: "*"))
        writeDecimal(args.count, to: &out)
        for arg in args {
            out.writeInteger(UInt8(ascii: "$"))
            writeDecimal(arg.readableBytes, to: &out)
            out.writeImmutableBuffer(arg)
            out.writeStaticString("\r\n")
        }
    }

    /// `SELECT db`, emitted when the next command's database differs from the last one's.
    public static func appendSelect(_ db: Int, to out: inout ByteBuffer) {
        append([ByteBuffer(string: "SELECT"), ByteBuffer(string: String(db))], to: &out)
    }

    private static func writeDecimal(_ value: Int, to out: inout ByteBuffer) {
        out.writeString(String(value))
        out.writeStaticString("\r\n")
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
