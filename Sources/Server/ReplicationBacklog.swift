import NIOCore

/// The replication backlog: the last `capacity` bytes of the replication stream in a ring, so
/// that a replica whose link broke can continue from its offset (`+CONTINUE`) instead of a
/// full sync, as long as the bytes it missed are still here (Redis's `repl_backlog`).
///
/// Offsets are Redis's: the stream's bytes are numbered from 1; `endOffset` is the number of
/// the last byte appended (master_repl_offset), and a replica asks for the first byte it lacks
/// (its offset + 1).
struct ReplicationBacklog {
    private(set) var capacity: Int
    private var ring: [UInt8]
    /// Where the next byte goes in `ring`.
    private var head = 0
    /// Bytes held (repl_backlog_histlen), at most `capacity`.
    private(set) var count = 0
    /// master_repl_offset: the offset of the last byte appended.
    private(set) var endOffset: Int64

    /// An empty backlog whose next byte will be `endOffset + 1`.
    init(capacity: Int, endOffset: Int64) {
        self.capacity = max(1, capacity)
        self.ring = []
        self.endOffset = endOffset
    }

    /// repl_backlog_first_byte_offset (endOffset + 1 when empty).
    var firstByteOffset: Int64 { endOffset - Int64(count) + 1 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if ring.isEmpty { ring = [UInt8](repeating: 0, count: capacity) }   // allocated on first use
        endOffset += Int64(bytes.count)
        // Only the last `capacity` bytes can stay.
        let keep = bytes.count > capacity ? UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - capacity)...]) : bytes
        ring.withUnsafeMutableBytes { dest in
            let first = min(keep.count, capacity - head)
            dest.baseAddress!.advanced(by: head).copyMemory(from: keep.baseAddress!, byteCount: first)
            if first < keep.count {
                dest.baseAddress!.copyMemory(from: keep.baseAddress! + first, byteCount: keep.count - first)
            }
        }
        head = (head + keep.count) % capacity
        count = min(capacity, count + bytes.count)
    }

    mutating func append(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { append($0) }
    }

    /// Can a replica continue from `offset` (the first byte it lacks)? From the first byte held
    /// up to one past the last (nothing missed), as Redis checks.
    func covers(_ offset: Int64) -> Bool {
        offset >= firstByteOffset && offset <= endOffset + 1
    }

    /// The bytes from `offset` to the end; nil when they are no longer (or not yet) here.
    func bytes(from offset: Int64) -> ByteBuffer? {
        guard covers(offset) else { return nil }
        let n = Int(endOffset - offset + 1)
        var out = ByteBuffer()
        guard n > 0 else { return out }
        out.reserveCapacity(n)
        let start = (head - n + capacity) % capacity
        ring.withUnsafeBytes { src in
            let first = min(n, capacity - start)
            out.writeBytes(UnsafeRawBufferPointer(rebasing: src[start..<(start + first)]))
            if first < n { out.writeBytes(UnsafeRawBufferPointer(rebasing: src[0..<(n - first)])) }
        }
        return out
    }

    /// CONFIG SET repl-backlog-size: keeps the newest bytes that fit.
    mutating func resize(_ newCapacity: Int) {
        let newCapacity = max(1, newCapacity)
        guard newCapacity != capacity else { return }
        let kept = bytes(from: endOffset - Int64(min(count, newCapacity)) + 1) ?? ByteBuffer()
        let end = endOffset
        self = ReplicationBacklog(capacity: newCapacity, endOffset: end - Int64(kept.readableBytes))
        append(kept)
    }
}
