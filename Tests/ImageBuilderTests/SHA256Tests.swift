import XCTest
@testable import ImageBuilder
import Basics

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testIncrementalEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var h = SHA256()
        h.update(data[0..<1])
        h.update(data[1..<130])
        h.update(data[130...])
        XCTAssertEqual(h.finalize(), { var o = SHA256(); o.update(data); return o.finalize() }())
    }

    func testBzImageVersionAndStaticELF() {
        var header = [UInt8](repeating: 0, count: 0x400)
        header.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        header[0x20E] = 0x00; header[0x20F] = 0x01   // string at 0x100 + 0x200
        header.replaceSubrange(0x300..<0x305, with: Array("6.1.1".utf8))
        XCTAssertEqual(BzImage.version(of: header), "6.1.1")
        XCTAssertNil(BzImage.version(of: [UInt8](repeating: 0, count: 0x400)))
        XCTAssertFalse(ELF.isStaticExecutable(Array("#!/bin/sh\n".utf8)))
    }
}
