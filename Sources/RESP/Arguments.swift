import NIOCore

/// The arguments of one request: where each one's bytes lie, plus the buffers holding them.
///
/// Why not `[ByteBuffer]`: every `ByteBuffer` holds a counted reference to its storage, so an
/// array of N argument slices cost N atomic increments when the request was parsed and N
/// decrements when it was dropped, and a handler that passed an element on while mutating its
/// context copied it (two more). For an MSET of 10 pairs that was ~80 atomic operations per
/// request, a third of the server's time. Here the arguments of a request received in one piece
/// (the usual case, see `CommandParser.sliceIfComplete`) share one reference to the receive
/// buffer (the *anchor*); each argument is only an address and a length. Reading an argument as
/// bytes (`withUnsafeBytes`) costs no reference count; reading it as a `ByteBuffer` (the
/// subscript) makes a slice of the anchor, which is counted like any copy.
///
/// The addresses stay valid while the anchor is held: the anchor is a copy of the receive buffer,
/// so its storage cannot be freed, and a write by anyone else to that storage copies it first
/// (ByteBuffer is copy-on-write).
public struct Arguments: RandomAccessCollection, Sendable {
    @usableFromInline
    struct Span: Sendable {
        // SAFETY: points into the storage of the anchor holding the bytes, which this value keeps
        // alive and which is never written while shared (see the type's comment).
        @usableFromInline nonisolated(unsafe) var address: UnsafeRawPointer?
        @usableFromInline var length: Int
        /// Which anchor holds the bytes (`primary`, or an index into `extraAnchors`), and their
        /// index in it (for making a slice).
        @usableFromInline var anchor: Int
        @usableFromInline var index: Int

        @inlinable
        init(address: UnsafeRawPointer?, length: Int, anchor: Int, index: Int) {
            self.address = address
            self.length = length
            self.anchor = anchor
            self.index = index
        }
    }

    /// Plain values (no reference counts to copy or drop), so building and clearing them is cheap.
    @usableFromInline var spans: [Span] = []
    /// The receive buffer of a request that arrived whole. A stored property rather than an array
    /// element: a slice can then be made from it in place, where reading it out of an array first
    /// copied it (a reference count more per argument read as a ByteBuffer).
    @usableFromInline var anchor: ByteBuffer?
    /// Buffers of arguments that came separately (a request split across reads, a queued
    /// command); nil, not empty, otherwise, so that copying the arguments does not count a
    /// reference to an empty array.
    @usableFromInline var extraAnchors: [ByteBuffer]? = nil
    @usableFromInline static var primary: Int { -1 }

    public init() {}

    /// Arguments held in buffers of their own (a queued MULTI command, a test).
    public init<S: Sequence>(_ buffers: S) where S.Element == ByteBuffer {
        for buffer in buffers { append(buffer) }
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { spans.count }
    @inlinable public var count: Int { spans.count }
    @inlinable public var isEmpty: Bool { spans.isEmpty }

    /// Argument `i` as a ByteBuffer (a slice of the buffer that holds it: one reference count).
    /// Handlers that need an argument several times as a ByteBuffer bind it to a local once.
    @inlinable
    public subscript(i: Int) -> ByteBuffer {
        let span = spans[i]
        if span.anchor == Arguments.primary {
            return anchor!.getSlice(at: span.index, length: span.length)!
        }
        return extraAnchors![span.anchor].getSlice(at: span.index, length: span.length)!
    }

    /// Argument `i`'s bytes, valid only inside `body`; no reference counting.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(unsafeBytes(i))
    }

    /// Argument `i`'s bytes, valid as long as these arguments are neither changed nor dropped (for
    /// a handler passing an argument's bytes down while it changes its context, which a closure
    /// cannot span).
    @inlinable
    public func unsafeBytes(_ i: Int) -> UnsafeRawBufferPointer {
        let span = spans[i]
        return UnsafeRawBufferPointer(start: span.address, count: span.length)
    }

    /// Argument `i`'s length in bytes.
    @inlinable
    public func length(_ i: Int) -> Int { spans[i].length }

    /// Adds an argument held by a buffer of its own (its readable bytes).
    public mutating func append(_ buffer: ByteBuffer) {
        let address = buffer.withUnsafeReadableBytes { $0.baseAddress }
        spans.append(Span(address: address, length: buffer.readableBytes, anchor: extraAnchors?.count ?? 0,
                          index: buffer.readerIndex))
        if extraAnchors == nil { extraAnchors = [buffer] } else { extraAnchors!.append(buffer) }
    }

    /// Makes `buffer` the anchor that the following `appendSlice` calls point into (once per
    /// request: a request arrives whole or it does not).
    @inlinable
    public mutating func anchor(_ buffer: ByteBuffer) {
        precondition(anchor == nil, "one primary anchor per request")
        anchor = buffer
    }

    /// Adds the `length` bytes at `index` of the primary anchor; `address` is where they are.
    @inlinable
    public mutating func appendSlice(at index: Int, length: Int, address: UnsafeRawPointer?) {
        spans.append(Span(address: address, length: length, anchor: Arguments.primary, index: index))
    }

    /// Drops every argument and anchor, keeping the capacity.
    @inlinable
    public mutating func removeAll() {
        // removeAll(keepingCapacity:) takes a generic replaceSubrange path (~120 instructions).
        while !spans.isEmpty { spans.removeLast() }
        anchor = nil
        extraAnchors = nil
    }

    public mutating func reserveCapacity(_ n: Int) { spans.reserveCapacity(n) }
    public var capacity: Int { spans.capacity }

    /// The arguments as buffers of their own (copies), to keep after the request.
    public func owned() -> [ByteBuffer] {
        indices.map { i in withUnsafeBytes(i) { ByteBuffer(bytes: $0) } }
    }
}

extension Arguments: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: ByteBuffer...) { self.init(elements) }
}
