import Basics
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A protocol violation by the client. `message` is what follows `-ERR Protocol error: `;
/// the connection answers it and is then closed, as Redis does.
public struct ProtocolError: Error, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Limits the parser enforces, mirroring redis-server's `processMultibulkBuffer`/`processInlineBuffer`.
public struct ParserLimits: Sendable {
    /// `proto-max-bulk-len` (default 512 MiB).
    public var maxBulkLength: Int = 512 * 1024 * 1024
    /// Longest inline command or `*`/`$` header line before the client is considered hostile.
    public var maxInlineLength: Int = 64 * 1024
    /// Largest multibulk count accepted (Redis: INT_MAX).
    public var maxMultibulkLength: Int = Int(Int32.max)
    public init() {}
}

/// Incremental RESP request parser.
///
/// Requests are either RESP arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or inline
/// commands (`GET k\r\n`). The parser keeps its position inside a partially received array
/// (how many arguments remain, the length of the bulk string being waited for) so bytes that were
/// already consumed are never scanned again, whatever the split points.
///
/// Arguments are places in the input buffer (`Arguments`): they share its storage until the command
/// has been executed. Whoever stores an argument must copy it (see `ByteBuffer.owned()` in Keyspace).
public struct CommandParser: Sendable {
    public var limits: ParserLimits
    /// Before AUTH, Redis refuses big requests so that unauthenticated peers cannot make it allocate.
    public var authenticated: Bool = true

    /// Arguments of the command being assembled; complete when `next` returns true.
    /// The connection swaps this array out and back while a command runs (no copy either way).
    public var args = Arguments()
    private var remainingArgs = -1   // -1: not inside a multibulk request
    private var bulkLength = -1      // -1: waiting for a `$<len>` header

    public init(limits: ParserLimits = ParserLimits()) {
        self.limits = limits
        self.args.reserveCapacity(8)
    }

    /// Drops the argument slices so the receive buffer they point into can be reused or freed.
    public mutating func releaseArguments() {
        args.removeAll()
    }

    /// True while part of a request has been read but not all of it.
    public var isMidRequest: Bool { remainingArgs >= 0 }

    /// Consumes bytes from `buffer` until one whole command is assembled (returns true, arguments in
    /// `args`) or the buffer runs out (returns false; call again when more bytes arrive, with the
    /// unread rest of this buffer first). An empty `args` after `true` is an empty request that
    /// Redis silently skips (`*0\r\n`, a blank inline line).
    public mutating func next(from buffer: inout ByteBuffer) throws(ProtocolError) -> Bool {
        if remainingArgs < 0 {
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return false }
            args.removeAll()
            if first == UInt8(ascii: "*"), sliceIfComplete(&buffer) {
                return true
            }
            if first != UInt8(ascii: "*") {
                return try parseInline(&buffer)
            }
            guard let count = try readHeaderLine(&buffer, tooBig: "too big mbulk count string") else { return false }
            if count > limits.maxMultibulkLength {
                throw ProtocolError("invalid multibulk length")
            }
            if !authenticated && count > 10 {
                throw ProtocolError("unauthenticated multibulk length")
            }
            if count <= 0 { return true }
            remainingArgs = count
            if count > args.capacity { args.reserveCapacity(min(count, 1024)) }
        }
        while remainingArgs > 0 {
            if bulkLength < 0 {
                guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return false }
                if first != UInt8(ascii: "$") {
                    throw ProtocolError("expected '$', got '\(Character(Unicode.Scalar(first)))'")
                }
                guard let length = try readHeaderLine(&buffer, tooBig: "too big bulk count string") else { return false }
                if length < 0 || length > limits.maxBulkLength {
                    throw ProtocolError("invalid bulk length")
                }
                if !authenticated && length > 16384 {
                    throw ProtocolError("unauthenticated bulk length")
                }
                bulkLength = length
            }
            guard buffer.readableBytes >= bulkLength + 2 else { return false }
            args.append(buffer.readSlice(length: bulkLength)!)
            buffer.moveReaderIndex(forwardBy: 2)   // CRLF, not checked (neither does Redis)
            bulkLength = -1
            remainingArgs -= 1
        }
        remainingArgs = -1
        return true
    }

    // MARK: fast path

    /// When `buffer` starts with a whole, well-formed `*N` request within the limits, records its
    /// arguments (places in `buffer`, which becomes their anchor), consumes it and returns true;
    /// otherwise records nothing and returns false, and the general path below takes over (it
    /// handles requests split across reads and produces the protocol errors). This is the common
    /// case of pipelined traffic, parsed in one pass over raw bytes, without a line search
    /// (memchr) per header. Expects `args` empty.
    @inlinable
    mutating func sliceIfComplete(_ buffer: inout ByteBuffer) -> Bool {
        let maxBulk = authenticated ? limits.maxBulkLength : min(limits.maxBulkLength, 16384)
        let maxCount = authenticated ? 1024 : 10
        let base = buffer.readerIndex
        let length = buffer.withUnsafeReadableBytes { raw -> Int? in
            let n = raw.count
            var p = 1
            guard let count = CommandParser.headerValue(raw, &p), count > 0, count <= maxCount else { return nil }
            for _ in 0..<count {
                guard p < n, raw[p] == UInt8(ascii: "$") else { return nil }
                p += 1
                guard let length = CommandParser.headerValue(raw, &p), length <= maxBulk, p + length + 2 <= n else {
                    return nil
                }
                args.appendSlice(at: base + p, length: length, address: raw.baseAddress! + p)
                p += length + 2
            }
            return p
        }
        guard let length else {
            args.removeAll()   // the places recorded before the request ran out
            return false
        }
        args.anchor(buffer)
        buffer.moveReaderIndex(forwardBy: length)
        return true
    }

    /// Parses the digits of a header line starting at `p` up to its `\r\n` and moves `p` past it;
    /// nil for an incomplete or unusual line (sign, no digits, more than 10 digits).
    @inlinable
    static func headerValue(_ raw: UnsafeRawBufferPointer, _ p: inout Int) -> Int? {
        let n = raw.count
        var value = 0
        var digits = 0
        while p < n {
            let c = raw[p]
            if c == 13 {
                guard digits > 0, p + 1 < n, raw[p + 1] == 10 else { return nil }
                p += 2
                return value
            }
            let d = Int(c) &- 48
            // A leading zero ("$05") is left to the general path, which refuses it as Redis does.
            guard d >= 0 && d <= 9, digits < 10, digits == 0 || value != 0 else { return nil }
            value = value &* 10 &+ d
            digits += 1
            p += 1
        }
        return nil
    }

    /// Reads `<prefix><integer>\r\n`; nil when the line is not complete yet.
    private func readHeaderLine(_ buffer: inout ByteBuffer, tooBig: String) throws(ProtocolError) -> Int? {
        let end = buffer.withUnsafeReadableBytes { raw -> Int? in
            guard let base = raw.baseAddress,
                  let hit = memchr(base, Int32(UInt8(ascii: "\r")), raw.count) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        guard let crIndex = end, crIndex + 1 < buffer.readableBytes else {
            if buffer.readableBytes > limits.maxInlineLength { throw ProtocolError(tooBig) }
            return nil
        }
        let value = buffer.withUnsafeReadableBytes { raw in
            // Redis reads both lengths with `string2ll`: no sign but '-', no leading zeros.
            parseStrictInt64(UnsafeRawBufferPointer(rebasing: raw[1..<crIndex])).map { Int($0) }
        }
        guard let value else {
            throw ProtocolError(tooBig.contains("mbulk") ? "invalid multibulk length" : "invalid bulk length")
        }
        buffer.moveReaderIndex(forwardBy: crIndex + 2)
        return value
    }

    private mutating func parseInline(_ buffer: inout ByteBuffer) throws(ProtocolError) -> Bool {
        let newline = buffer.withUnsafeReadableBytes { raw -> Int? in
            guard let base = raw.baseAddress,
                  let hit = memchr(base, Int32(UInt8(ascii: "\n")), raw.count) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        guard let newline else {
            if buffer.readableBytes > limits.maxInlineLength { throw ProtocolError("too big inline request") }
            return false
        }
        var line = buffer.readSlice(length: newline + 1)!
        line.moveWriterIndex(to: line.writerIndex - 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        // Common case (PING, redis-cli-style `GET k`): no quotes, so the arguments are just the
        // space-separated runs, handed out as slices of the line without copying.
        let hasQuotes = line.withUnsafeReadableBytes { raw in
            raw.contains(UInt8(ascii: "\"")) || raw.contains(UInt8(ascii: "'"))
        }
        if !hasQuotes {
            splitUnquoted(line)
            return true
        }
        guard let split = splitInlineArguments(line) else {
            throw ProtocolError("unbalanced quotes in request")
        }
        args = Arguments(split)
        return true
    }

    /// Appends the whitespace-separated runs of `line` to `args` as zero-copy slices.
    private mutating func splitUnquoted(_ line: ByteBuffer) {
        // One anchor (the line) for all its arguments; each argument is a place in it.
        args.anchor(line)
        line.withUnsafeReadableBytes { raw in
            let base = line.readerIndex
            var i = 0
            while i < raw.count {
                while i < raw.count && isASCIISpace(raw[i]) { i += 1 }
                let begin = i
                while i < raw.count && !isASCIISpace(raw[i]) { i += 1 }
                if i > begin { args.appendSlice(at: base + begin, length: i - begin, address: raw.baseAddress! + begin) }
            }
        }
    }

}


/// Splits an inline command line the way Redis's `sdssplitargs` does: whitespace separates
/// arguments, "double quotes" accept C escapes (\n, \xHH, ...), 'single quotes' accept only \'.
/// A closing quote must be followed by whitespace or the end. Returns nil on unbalanced quotes.
public func splitInlineArguments(_ line: ByteBuffer) -> [ByteBuffer]? {
    let bytes = Array(line.readableBytesView)
    var result: [ByteBuffer] = []
    var i = 0
    let isSpace = isASCIISpace
    func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 55
        default: return nil
        }
    }
    while true {
        while i < bytes.count && isSpace(bytes[i]) { i += 1 }
        if i >= bytes.count { return result }
        var current: [UInt8] = []
        var inDouble = false, inSingle = false, done = false
        while !done {
            if inDouble {
                guard i < bytes.count else { return nil }
                let c = bytes[i]
                if c == UInt8(ascii: "\\") && i + 3 < bytes.count && bytes[i + 1] == UInt8(ascii: "x"),
                   let h = hexValue(bytes[i + 2]), let l = hexValue(bytes[i + 3]) {
                    current.append(h << 4 | l); i += 3
                } else if c == UInt8(ascii: "\\") && i + 1 < bytes.count {
                    i += 1
                    switch bytes[i] {
                    case UInt8(ascii: "n"): current.append(0x0a)
                    case UInt8(ascii: "r"): current.append(0x0d)
                    case UInt8(ascii: "t"): current.append(0x09)
                    case UInt8(ascii: "b"): current.append(0x08)
                    case UInt8(ascii: "a"): current.append(0x07)
                    default: current.append(bytes[i])
                    }
                } else if c == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && !isSpace(bytes[i + 1]) { return nil }
                    done = true
                } else {
                    current.append(c)
                }
            } else if inSingle {
                guard i < bytes.count else { return nil }
                let c = bytes[i]
                if c == UInt8(ascii: "\\") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "'") {
                    i += 1; current.append(UInt8(ascii: "'"))
                } else if c == UInt8(ascii: "'") {
                    if i + 1 < bytes.count && !isSpace(bytes[i + 1]) { return nil }
                    done = true
                } else {
                    current.append(c)
                }
            } else {
                if i >= bytes.count { done = true; break }
                let c = bytes[i]
                if isSpace(c) { done = true }
                else if c == UInt8(ascii: "\"") { inDouble = true }
                else if c == UInt8(ascii: "'") { inSingle = true }
                else { current.append(c) }
            }
            if i < bytes.count { i += 1 }
        }
        result.append(ByteBuffer(bytes: current))
    }
}
