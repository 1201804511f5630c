import NIOCore
import XCTest
@testable import RESP

final class ReplyWriterTests: XCTestCase {
    private func render(_ proto: ProtocolVersion, _ body: (inout ReplyWriter) -> Void) -> String {
        var w = ReplyWriter(buffer: ByteBuffer(), proto: proto)
        body(&w)
        return String(decoding: w.buffer.readableBytesView, as: UTF8.self)
    }

    func testScalars() {
        XCTAssertEqual(render(.resp2) { $0.ok() }, "+OK\r\n")
        XCTAssertEqual(render(.resp2) { $0.integer(0) }, ":0\r\n")
        XCTAssertEqual(render(.resp2) { $0.integer(-9_223_372_036_854_775_807 - 1) }, ":-9223372036854775808\r\n")
        XCTAssertEqual(render(.resp2) { $0.integer(Int.max) }, ":9223372036854775807\r\n")
        XCTAssertEqual(render(.resp2) { $0.bulk("hello") }, "$5\r\nhello\r\n")
        XCTAssertEqual(render(.resp2) { $0.bulk(integer: -42) }, "$3\r\n-42\r\n")
        XCTAssertEqual(render(.resp2) { $0.error("ERR bad\r\nthing") }, "-ERR bad  thing\r\n")
    }

    /// Integers are formatted two digits at a time: every length where the digit count changes.
    func testIntegersAcrossMagnitudes() {
        var values: [Int] = [Int.min, Int.max, Int.min + 1, -1, 0]
        var power = 1
        for _ in 0..<18 {
            values += [power - 1, power, power + 1, -power, -(power - 1), 42 * power / 10]
            power *= 10
        }
        for v in values {
            XCTAssertEqual(render(.resp2) { $0.integer(v) }, ":\(v)\r\n")
            var b = ByteBuffer()
            b.writeDecimal(v)
            XCTAssertEqual(String(buffer: b), String(v))
        }
    }

    func testNullsDifferByProtocol() {
        XCTAssertEqual(render(.resp2) { $0.null() }, "$-1\r\n")
        XCTAssertEqual(render(.resp2) { $0.nullArray() }, "*-1\r\n")
        XCTAssertEqual(render(.resp3) { $0.null() }, "_\r\n")
        XCTAssertEqual(render(.resp3) { $0.nullArray() }, "_\r\n")
    }

    func testAggregatesDifferByProtocol() {
        XCTAssertEqual(render(.resp2) { $0.map(2) }, "*4\r\n")
        XCTAssertEqual(render(.resp3) { $0.map(2) }, "%2\r\n")
        XCTAssertEqual(render(.resp2) { $0.set(3) }, "*3\r\n")
        XCTAssertEqual(render(.resp3) { $0.set(3) }, "~3\r\n")
        XCTAssertEqual(render(.resp3) { $0.push(3) }, ">3\r\n")
        XCTAssertEqual(render(.resp3) { $0.bool(true) }, "#t\r\n")
        XCTAssertEqual(render(.resp2) { $0.bool(true) }, ":1\r\n")
        XCTAssertEqual(render(.resp3) { $0.verbatim("hi") }, "=6\r\ntxt:hi\r\n")
        XCTAssertEqual(render(.resp2) { $0.verbatim("hi") }, "$2\r\nhi\r\n")
    }

    func testDoublesLikeRedis70() {
        XCTAssertEqual(render(.resp2) { $0.double(1.5) }, "$3\r\n1.5\r\n")
        XCTAssertEqual(render(.resp2) { $0.double(0.1) }, "$19\r\n0.10000000000000001\r\n")
        XCTAssertEqual(render(.resp3) { $0.double(-.infinity) }, ",-inf\r\n")
        XCTAssertEqual(render(.resp3) { $0.double(3) }, ",3\r\n")
    }
}
