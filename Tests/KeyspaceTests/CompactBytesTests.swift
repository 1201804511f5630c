import NIOCore
import XCTest
@testable import Keyspace

final class CompactBytesTests: XCTestCase {
    /// Every length around the inline/heap boundary keeps its bytes, its count and its content
    /// equality, whichever form holds it.
    func testRoundTripAcrossTheInlineBoundary() {
        for n in 0...(CompactBytes.inlineCapacity + 3) {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }
            let value = bytes.withUnsafeBytes { CompactBytes($0) }
            XCTAssertEqual(value.count, n)
            XCTAssertEqual(value.isEmpty, n == 0)
            XCTAssertEqual(value.withUnsafeBytes { Array($0) }, bytes, "length \(n)")
            XCTAssertEqual(value.byteBuffer, ByteBuffer(bytes: bytes))
            XCTAssertTrue(value == ByteBuffer(bytes: bytes))
            if case .inline = value.storage {
                XCTAssertLessThanOrEqual(n, CompactBytes.inlineCapacity)
            } else {
                XCTAssertGreaterThan(n, CompactBytes.inlineCapacity)
            }
        }
    }

    /// Values that differ only in a byte, only in length, or in a trailing zero byte are unequal
    /// (the inline form compares raw words, so the zero padding must not make "a" equal "a\0").
    func testEqualityIsByContent() {
        let a = CompactBytes(string: "abc")
        XCTAssertEqual(a, CompactBytes(string: "abc"))
        XCTAssertNotEqual(a, CompactBytes(string: "abd"))
        XCTAssertNotEqual(a, CompactBytes(string: "ab"))
        XCTAssertNotEqual(CompactBytes(string: "a"), [UInt8(ascii: "a"), 0].withUnsafeBytes { CompactBytes($0) })
        XCTAssertNotEqual(CompactBytes(string: ""), [0].withUnsafeBytes { CompactBytes($0) })
        let long = String(repeating: "x", count: 40)
        XCTAssertEqual(CompactBytes(string: long), CompactBytes(string: long))
        XCTAssertNotEqual(CompactBytes(string: long), CompactBytes(string: long + "y"))
        XCTAssertFalse(a == ByteBuffer(string: "abcd"))
        XCTAssertFalse(CompactBytes(string: long) == ByteBuffer(string: String(repeating: "x", count: 39) + "z"))
    }

    func testEqualValuesHashAlike() {
        let long = String(repeating: "long element ", count: 4)
        let set: Set<CompactBytes> = [CompactBytes(string: "a"), CompactBytes(string: long), CompactBytes(string: "a"), CompactBytes(string: long)]
        XCTAssertEqual(set.count, 2)
        XCTAssertTrue(set.contains(CompactBytes(string: long)))
        XCTAssertEqual(CompactBytes(string: "a").hashValue, CompactBytes(string: "a").hashValue)
    }

    func testIntegerParsingFollowsRedis() {
        XCTAssertEqual(CompactBytes(string: "-42").int64Value, -42)
        XCTAssertEqual(CompactBytes(string: "9223372036854775807").int64Value, .max)
        XCTAssertNil(CompactBytes(string: "01").int64Value)
        XCTAssertNil(CompactBytes(string: "9223372036854775808").int64Value)
    }

    /// As big as the ByteBuffer it replaces in a Deque: the point is fewer allocations, not a
    /// bigger slot.
    func testStrideStaysThreeWords() {
        XCTAssertEqual(MemoryLayout<CompactBytes>.stride, 24)
    }

    /// String-value mutations across the inline/heap boundary keep the bytes, and an inline
    /// value stays bit-for-bit comparable (zeros past its count).
    func testMutationsAcrossTheInlineBoundary() {
        var s = CompactBytes()
        var model: [UInt8] = []
        for i in 0..<40 {
            let piece = [UInt8]("p\(i)".utf8)
            piece.withUnsafeBytes { s.append($0) }
            model += piece
            XCTAssertEqual(s.bytes, model)
            XCTAssertEqual(s.heapBytes == 0, model.count <= CompactBytes.inlineCapacity)
        }
        s.withUnsafeMutableBytes(growingTo: 200) { $0[150] = 9 }
        model += [UInt8](repeating: 0, count: 200 - model.count)
        model[150] = 9
        XCTAssertEqual(s.bytes, model)
        "short".utf8.withContiguousStorageIfAvailable { s.replace(with: UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(s, CompactBytes(string: "short"))
        XCTAssertEqual(s.heapBytes, 0)
        for v: Int64 in [0, 7, -1, 1234567890, .max, .min] {
            XCTAssertEqual(CompactBytes(decimal: v), CompactBytes(string: String(v)))
        }
    }
}
