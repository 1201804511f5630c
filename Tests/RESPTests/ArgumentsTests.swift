import NIOCore
import XCTest
@testable import RESP

final class ArgumentsTests: XCTestCase {
    private func strings(_ args: Arguments) -> [String] {
        args.map { String(decoding: $0.readableBytesView, as: UTF8.self) }
    }

    /// A request received in one piece: all arguments share one anchor (the receive buffer).
    func testWholeRequestSharesOneAnchor() throws {
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "*3\r\n$4\r\nMSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n")
        XCTAssertTrue(try parser.next(from: &buffer))
        XCTAssertEqual(strings(parser.args), ["MSET", "k", "value"])
        XCTAssertNotNil(parser.args.anchor)
        XCTAssertNil(parser.args.extraAnchors)
        XCTAssertEqual(parser.args[2].readerIndex, 0, "a slice reads from its own index 0, like getSlice")
    }

    /// The receive buffer is reused (cleared and written) while the arguments are alive: the
    /// anchor keeps the old storage, so the arguments' bytes do not change under them.
    func testArgumentsSurviveWritesToTheReceiveBuffer() throws {
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n")
        XCTAssertTrue(try parser.next(from: &buffer))
        buffer.clear()
        buffer.writeString(String(repeating: "x", count: 64))
        XCTAssertEqual(strings(parser.args), ["GET", "key"])
        XCTAssertEqual(Array(parser.args.unsafeBytes(1)), Array("key".utf8))
    }

    /// A request split across reads takes the general path: one anchor per argument.
    func testSplitRequest() throws {
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$3\r\nke")
        XCTAssertFalse(try parser.next(from: &buffer))
        buffer.writeString("y\r\n")
        XCTAssertTrue(try parser.next(from: &buffer))
        XCTAssertNil(parser.args.anchor)
        XCTAssertEqual(parser.args.extraAnchors?.count, 2)
        XCTAssertEqual(strings(parser.args), ["GET", "key"])
        XCTAssertEqual(Array(parser.args.unsafeBytes(1)), Array("key".utf8))
    }

    func testOwnedCopiesAndArrayInit() {
        let args = Arguments([ByteBuffer(string: "SET"), ByteBuffer(string: "a"), ByteBuffer(string: "")])
        XCTAssertEqual(args.count, 3)
        XCTAssertEqual(strings(args), ["SET", "a", ""])
        XCTAssertEqual(args.length(2), 0)
        let copies = args.owned()
        XCTAssertEqual(copies.map { String(buffer: $0) }, ["SET", "a", ""])
        // Queued (MULTI) and blocked commands keep copies: rebuilt arguments read the same.
        XCTAssertEqual(strings(Arguments(copies)), ["SET", "a", ""])
    }

    func testRemoveAllDropsAnchors() throws {
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "*1\r\n$4\r\nPING\r\n")
        XCTAssertTrue(try parser.next(from: &buffer))
        parser.releaseArguments()
        XCTAssertTrue(parser.args.isEmpty)
        XCTAssertNil(parser.args.anchor)
    }
}
