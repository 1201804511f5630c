import NIOCore
import XCTest
@testable import Server

/// The backlog's ring and Redis's offset arithmetic: what a replica asking to continue from an
/// offset gets, across wrap-around and resizing.
final class ReplicationBacklogTests: XCTestCase {
    private func append(_ backlog: inout ReplicationBacklog, _ text: String) {
        backlog.append(ByteBuffer(string: text))
    }

    private func text(_ backlog: ReplicationBacklog, from offset: Int64) -> String? {
        backlog.bytes(from: offset).map { String(buffer: $0) }
    }

    func testOffsetsStartAfterTheCurrentOffset() {
        var backlog = ReplicationBacklog(capacity: 16, endOffset: 100)
        XCTAssertEqual(backlog.firstByteOffset, 101)
        XCTAssertTrue(backlog.covers(101), "nothing missed")
        XCTAssertFalse(backlog.covers(100))
        XCTAssertEqual(text(backlog, from: 101), "")
        append(&backlog, "abcdef")
        XCTAssertEqual(backlog.endOffset, 106)
        XCTAssertEqual(backlog.count, 6)
        XCTAssertEqual(text(backlog, from: 101), "abcdef")
        XCTAssertEqual(text(backlog, from: 104), "def")
        XCTAssertEqual(text(backlog, from: 107), "")
        XCTAssertNil(text(backlog, from: 108), "an offset beyond the stream")
    }

    func testWrapAroundKeepsTheNewestBytes() {
        var backlog = ReplicationBacklog(capacity: 8, endOffset: 0)
        append(&backlog, "0123456")
        append(&backlog, "789ab")      // wraps
        XCTAssertEqual(backlog.count, 8)
        XCTAssertEqual(backlog.firstByteOffset, 5)
        XCTAssertEqual(text(backlog, from: 5), "456789ab")
        XCTAssertEqual(text(backlog, from: 10), "9ab")
        XCTAssertNil(text(backlog, from: 4), "overwritten")
        append(&backlog, "one chunk longer than the ring")
        XCTAssertEqual(text(backlog, from: backlog.firstByteOffset), "the ring")
        XCTAssertEqual(backlog.endOffset, 12 + 30)
    }

    func testResizeKeepsWhatFits() {
        var backlog = ReplicationBacklog(capacity: 8, endOffset: 0)
        append(&backlog, "abcdefgh")
        backlog.resize(4)
        XCTAssertEqual(backlog.endOffset, 8)
        XCTAssertEqual(text(backlog, from: 5), "efgh")
        XCTAssertNil(text(backlog, from: 4))
        backlog.resize(16)
        append(&backlog, "ij")
        XCTAssertEqual(text(backlog, from: 5), "efghij")
    }
}
