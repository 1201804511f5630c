import XCTest
@testable import Basics

final class BasicsTests: XCTestCase {
    private func strict(_ s: String) -> Int64? { parseStrictInt64(s) }

    /// Redis's string2ll: what it accepts and what it refuses.
    func testStrictIntegerSyntax() {
        XCTAssertEqual(strict("0"), 0)
        XCTAssertEqual(strict("123"), 123)
        XCTAssertEqual(strict("-7"), -7)
        XCTAssertEqual(strict("9223372036854775807"), Int64.max)
        XCTAssertEqual(strict("-9223372036854775808"), Int64.min)
        for bad in ["", "-", "+1", " 1", "1 ", "01", "-0", "1a", "9223372036854775808", "-9223372036854775809",
                    "99999999999999999999", "1.0"] {
            XCTAssertNil(strict(bad), bad)
        }
    }

    func testSpaceIsCLocaleIsspace() {
        let spaces = (0...255).filter { isASCIISpace(UInt8($0)) }
        XCTAssertEqual(spaces, [9, 10, 11, 12, 13, 32])
    }

    func testSplitMix64IsTheReferenceSequenceAndBoundsHold() {
        // The first outputs for seed 0 of the reference implementation (Vigna's splitmix64.c).
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        var r = SplitMix64(seed: 42)
        var seen = Set<Int>()
        for _ in 0..<10_000 {
            let v = r.next(below: 7)
            XCTAssertTrue((0..<7).contains(v))
            seen.insert(v)
        }
        XCTAssertEqual(seen.count, 7)
    }

    func testGlob() {
        XCTAssertTrue(Array("h*llo".utf8).globMatches(Array("heeello".utf8)))
        XCTAssertTrue(Array("h[^e]llo".utf8).globMatches(Array("hallo".utf8)))
        XCTAssertFalse(Array("h[^e]llo".utf8).globMatches(Array("hello".utf8)))
        XCTAssertTrue(Array("H?LLO".utf8).globMatches(Array("hello".utf8), nocase: true))
    }
}
