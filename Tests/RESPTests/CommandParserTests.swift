import NIOCore
import XCTest
@testable import RESP

final class CommandParserTests: XCTestCase {
    private func parseAll(_ chunks: [[UInt8]], limits: ParserLimits = ParserLimits()) throws -> [[String]] {
        var parser = CommandParser(limits: limits)
        var pending = ByteBuffer()
        var commands: [[String]] = []
        for chunk in chunks {
            pending.writeBytes(chunk)
            while try parser.next(from: &pending) {
                commands.append(parser.args.map { String(decoding: $0.readableBytesView, as: UTF8.self) })
                // Both ways of reading an argument see the same bytes, whatever the split points.
                for i in parser.args.indices {
                    XCTAssertEqual(Array(parser.args.unsafeBytes(i)), Array(parser.args[i].readableBytesView))
                    XCTAssertEqual(parser.args.length(i), parser.args[i].readableBytes)
                }
            }
        }
        XCTAssertFalse(parser.isMidRequest, "a request was left incomplete")
        XCTAssertEqual(pending.readableBytes, 0)
        return commands
    }

    private let pipeline = Array("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n*1\r\n$4\r\nPING\r\nGET k\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n".utf8)
    private let expected = [["SET", "key", "va\r\nl"], ["PING"], ["GET", "k"], ["GET", ""]]

    func testWholeBuffer() throws {
        XCTAssertEqual(try parseAll([pipeline]), expected)
    }

    func testByteByByte() throws {
        XCTAssertEqual(try parseAll(pipeline.map { [$0] }), expected)
    }

    func testEverySplitPoint() throws {
        for split in 0...pipeline.count {
            XCTAssertEqual(try parseAll([Array(pipeline[..<split]), Array(pipeline[split...])]), expected, "split at \(split)")
        }
    }

    func testRandomSplits() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var chunks: [[UInt8]] = []
            var i = 0
            while i < pipeline.count {
                let n = Int.random(in: 1...7, using: &rng)
                chunks.append(Array(pipeline[i..<min(i + n, pipeline.count)]))
                i += n
            }
            XCTAssertEqual(try parseAll(chunks), expected)
        }
    }

    func testBinarySafeArguments() throws {
        var bytes = Array("*2\r\n$3\r\nSET\r\n$4\r\n".utf8)
        bytes += [0, 13, 10, 255]
        bytes += Array("\r\n".utf8)
        var parser = CommandParser()
        var buffer = ByteBuffer(bytes: bytes)
        XCTAssertTrue(try parser.next(from: &buffer))
        XCTAssertEqual(Array(parser.args[1].readableBytesView), [0, 13, 10, 255])
    }

    func testInlineQuoting() throws {
        let line = Array("SET \"a b\\x41\\n\" 'it\\'s'  \r\n".utf8)
        XCTAssertEqual(try parseAll([line]), [["SET", "a bA\n", "it's"]])
    }

    func testInlineWithoutQuotesSplitsOnAnyWhitespace() throws {
        XCTAssertEqual(try parseAll([Array("  SET\tkey   value \r\nPING\n".utf8)]), [["SET", "key", "value"], ["PING"]])
    }

    func testEmptyRequestsAreSkippedNotErrors() throws {
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "*0\r\n\r\n")
        XCTAssertTrue(try parser.next(from: &buffer))
        XCTAssertTrue(parser.args.isEmpty)
        XCTAssertTrue(try parser.next(from: &buffer))
        XCTAssertTrue(parser.args.isEmpty)
    }

    private func error(_ text: String, limits: ParserLimits = ParserLimits(), authenticated: Bool = true) -> String? {
        var parser = CommandParser(limits: limits)
        parser.authenticated = authenticated
        var buffer = ByteBuffer(string: text)
        do {
            while try parser.next(from: &buffer) {}
            return nil
        } catch {
            return error.message
        }
    }

    func testProtocolErrors() {
        XCTAssertEqual(error("*abc\r\n"), "invalid multibulk length")
        XCTAssertEqual(error("*1\r\n$-5\r\n"), "invalid bulk length")
        XCTAssertEqual(error("*1\r\n:5\r\n"), "expected '$', got ':'")
        XCTAssertEqual(error("*3000000000\r\n"), "invalid multibulk length")
        XCTAssertEqual(error("SET \"a\r\n"), "unbalanced quotes in request")
        var small = ParserLimits()
        small.maxBulkLength = 10
        XCTAssertEqual(error("*1\r\n$11\r\n", limits: small), "invalid bulk length")
        XCTAssertEqual(error("*11\r\n", authenticated: false), "unauthenticated multibulk length")
        XCTAssertEqual(error("*1\r\n$16385\r\n", authenticated: false), "unauthenticated bulk length")
    }

    /// The same limits when the whole request is already in the buffer (the one-pass fast path
    /// sees it first and must hand anything unusual to the general path, which answers).
    func testProtocolErrorsWithTheWholeRequestPresent() {
        var small = ParserLimits()
        small.maxBulkLength = 10
        XCTAssertEqual(error("*1\r\n$11\r\nhello world\r\n", limits: small), "invalid bulk length")
        let eleven = "*11\r\n" + String(repeating: "$1\r\na\r\n", count: 11)
        XCTAssertEqual(error(eleven, authenticated: false), "unauthenticated multibulk length")
        let big = "*1\r\n$16385\r\n" + String(repeating: "x", count: 16385) + "\r\n"
        XCTAssertEqual(error(big, authenticated: false), "unauthenticated bulk length")
        XCTAssertEqual(error("*+1\r\n$4\r\nPING\r\n"), "invalid multibulk length")
        XCTAssertEqual(error("*1\r\n$-4\r\nPING\r\n"), "invalid bulk length")
        XCTAssertEqual(error("*2\r\n$4\r\nPING\r\n:1\r\n"), "expected '$', got ':'")
    }

    /// Whole requests (fast path) and a request cut short (general path) in one read, then its rest.
    func testCompleteRequestsFollowedByAPartialOne() throws {
        let whole = Array("*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$2\r\nxy\r\n".utf8)
        let partial = Array("*2\r\n$4\r\nECHO\r\n$1".utf8)
        let rest = Array("0\r\n0123456789\r\n".utf8)
        XCTAssertEqual(try parseAll([whole + partial, rest]),
                       [["GET", "a"], ["SET", "b", "xy"], ["ECHO", "0123456789"]])
    }

    func testOversizedLinesWithoutNewline() {
        XCTAssertEqual(error(String(repeating: "a", count: 70_000)), "too big inline request")
        XCTAssertEqual(error("*" + String(repeating: "1", count: 70_000)), "too big mbulk count string")
    }

    func testHugeBulkAnnouncedIsNotAllocatedUpFront() throws {
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "*1\r\n$500000000\r\nabc")
        XCTAssertFalse(try parser.next(from: &buffer))
        XCTAssertTrue(parser.isMidRequest)
    }

    /// Header lengths are read as Redis's `string2ll` reads them: a leading zero or a plus sign
    /// is a protocol error, whether the request arrives whole (fast path) or in pieces.
    func testHeaderLengthsFollowString2ll() {
        for (request, message) in [("*1\r\n$03\r\nabc\r\n", "invalid bulk length"),
                                   ("*01\r\n$3\r\nabc\r\n", "invalid multibulk length"),
                                   ("*1\r\n$+3\r\nabc\r\n", "invalid bulk length")] {
            for split in [request.utf8.count, 5] {
                var parser = CommandParser()
                var first = ByteBuffer(string: String(request.prefix(split)))
                var rest = ByteBuffer(string: String(request.dropFirst(split)))
                XCTAssertThrowsError(try {
                    if try parser.next(from: &first) { return }
                    var all = first
                    all.writeBuffer(&rest)
                    _ = try parser.next(from: &all)
                }(), request) { error in
                    XCTAssertEqual((error as? ProtocolError)?.message, message, request)
                }
            }
        }
        var parser = CommandParser()
        var zero = ByteBuffer(string: "*1\r\n$0\r\n\r\n")
        XCTAssertTrue(try parser.next(from: &zero))
        XCTAssertEqual(parser.args.count, 1)
        XCTAssertEqual(parser.args[0].readableBytes, 0)
    }
}
