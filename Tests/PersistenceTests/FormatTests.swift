import NIOCore
import XCTest
@testable import Persistence

/// CRC-64 and LZF: the two algorithms an RDB file must match bit for bit.
final class FormatTests: XCTestCase {
    /// Bit-at-a-time reference implementation of Redis's CRC-64 (crc64.c's `_crc64`).
    private func referenceCRC(_ bytes: [UInt8]) -> UInt64 {
        var crc: UInt64 = 0
        for byte in bytes {
            crc ^= UInt64(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5 : crc >> 1 }
        }
        return crc
    }

    func testCRC64CheckValue() {
        // The test vector in Redis's crc64.c.
        XCTAssertEqual(CRC64.checksum("123456789".utf8), 0xe9c6_d914_c4b8_d9ca)
        XCTAssertEqual(CRC64.checksum([UInt8]()), 0)
    }

    func testCRC64SlicingMatchesBitwiseAtEveryLengthAndSplit() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(CRC64.checksum(bytes), referenceCRC(bytes), "length \(length)")
            // Incremental updates in two pieces give the same result.
            let split = length / 3
            var crc = CRC64()
            bytes[..<split].withUnsafeBytes { crc.update($0) }
            bytes[split...].withUnsafeBytes { crc.update($0) }
            XCTAssertEqual(crc.value, referenceCRC(bytes))
        }
    }

    private func roundTrip(_ input: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Int {
        let compressor = LZF.Compressor()
        var out = [UInt8](repeating: 0, count: max(1, input.count - 4))
        let size = input.withUnsafeBytes { i in out.withUnsafeMutableBytes { compressor.compress(i, into: $0) } }
        guard size > 0 else { return 0 }
        var back = [UInt8](repeating: 0, count: input.count)
        let ok = out[0..<size].withUnsafeBytes { c in back.withUnsafeMutableBytes { LZF.decompress(c, into: $0) } }
        XCTAssertTrue(ok, file: file, line: line)
        XCTAssertEqual(back, input, file: file, line: line)
        return size
    }

    func testLZFRoundTripsCompressibleData() {
        XCTAssertGreaterThan(roundTrip(Array(String(repeating: "abcabcabc", count: 20).utf8)), 0)
        XCTAssertLessThan(roundTrip([UInt8](repeating: 7, count: 100_000)), 2000)
        // Text-like data with repeats at many distances, including past the 8 KiB window.
        var rng = SystemRandomNumberGenerator()
        let words = (0..<50).map { _ in (0..<Int.random(in: 2...9, using: &rng)).map { _ in UInt8.random(in: 97...122, using: &rng) } }
        for size in [1000, 9000, 70_000] {
            var text: [UInt8] = []
            while text.count < size { text += words.randomElement(using: &rng)! + [32] }
            XCTAssertGreaterThan(roundTrip(Array(text.prefix(size))), 0, "size \(size)")
        }
    }

    func testLZFReportsNoGainForRandomBytes() {
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        XCTAssertEqual(roundTrip(noise), 0)
    }

    func testLZFRejectsCorruptInput() {
        var out = [UInt8](repeating: 0, count: 10)
        // A back-reference before the start of the output.
        XCTAssertFalse([UInt8]([0x20, 0x05]).withUnsafeBytes { c in out.withUnsafeMutableBytes { LZF.decompress(c, into: $0) } })
        // A literal run longer than the input.
        XCTAssertFalse([UInt8]([0x05, 0x41]).withUnsafeBytes { c in out.withUnsafeMutableBytes { LZF.decompress(c, into: $0) } })
        // Correct data but the wrong expected length.
        XCTAssertFalse([UInt8]([0x00, 0x41]).withUnsafeBytes { c in out.withUnsafeMutableBytes { LZF.decompress(c, into: $0) } })
    }
}
