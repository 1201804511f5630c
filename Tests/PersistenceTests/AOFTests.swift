import NIOCore
import RESP
import XCTest
@testable import Persistence

final class AOFManifestTests: XCTestCase {
    /// What redis-server 7.0 writes on a fresh start with `appendonly yes`.
    let redisManifest = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"

    func testReadsAndWritesRedisManifest() throws {
        let m = try AOFManifest(parsing: redisManifest)
        XCTAssertEqual(m.base, .init(name: "appendonly.aof.1.base.rdb", seq: 1, type: .base))
        XCTAssertEqual(m.incrs.map(\.name), ["appendonly.aof.1.incr.aof"])
        XCTAssertEqual(m.render(), redisManifest, "byte for byte what Redis writes")
    }

    func testOrderAndHistory() throws {
        let m = try AOFManifest(parsing: """
            file appendonly.aof.3.incr.aof seq 3 type i
            file appendonly.aof.2.base.rdb seq 2 type b
            file appendonly.aof.1.base.rdb seq 1 type h
            file appendonly.aof.2.incr.aof seq 2 type i
            """)
        XCTAssertEqual(m.incrs.map(\.seq), [2, 3], "incr files load by ascending seq")
        XCTAssertEqual(m.history.map(\.name), ["appendonly.aof.1.base.rdb"])
        XCTAssertEqual(m.render().split(separator: "\n").first, "file appendonly.aof.2.base.rdb seq 2 type b")
        XCTAssertEqual(try AOFManifest(parsing: m.render()).render(), m.render())
    }

    func testQuotedNames() throws {
        let m = AOFManifest(files: [.init(name: "my aof.1.incr.aof", seq: 1, type: .incr)])
        XCTAssertEqual(m.render(), "file \"my aof.1.incr.aof\" seq 1 type i\n")
        XCTAssertEqual(try AOFManifest(parsing: m.render()), m)
    }

    func testBadManifestsNameTheLine() {
        func error(_ text: String) -> String {
            do { _ = try AOFManifest(parsing: text); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(error(""), "Found an empty AOF manifest")
        XCTAssertEqual(error("file a seq 1\n"), "Invalid AOF manifest file format (line 1)")
        XCTAssertEqual(error("# c\nfile a seq x type i\n"), "Invalid AOF manifest file format (line 2)")
        XCTAssertEqual(error("file a seq 1 type z\n"), "Invalid AOF manifest file format (line 1)")
        XCTAssertEqual(error("file ../a seq 1 type i\n"), "Invalid AOF manifest file format (line 1)")
        XCTAssertEqual(error("file a seq 1 type b\nfile b seq 2 type b\n"), "Found duplicate base file information (line 2)")
        XCTAssertEqual(error("file \"a seq 1 type b\n"), "Invalid AOF manifest file format (line 1)")
    }
}

final class AOFRecordsTests: XCTestCase {
    func encode(_ commands: [[String]]) -> [UInt8] {
        var out = ByteBuffer()
        for c in commands { AOFRecords.append(c.map { ByteBuffer(string: $0) }, to: &out) }
        return Array(out.readableBytesView)
    }

    func read(_ bytes: [UInt8]) throws -> [[String]] {
        try bytes.withUnsafeBytes { raw in
            var reader = AOFCommandReader(raw)
            var all: [[String]] = []
            while let args = try reader.next() { all.append(args.map { String(buffer: $0) }) }
            return all
        }
    }

    func testEncodingIsRESP() {
        XCTAssertEqual(String(decoding: encode([["SET", "k", "v"]]), as: UTF8.self), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        var out = ByteBuffer()
        AOFRecords.appendSelect(12, to: &out)
        XCTAssertEqual(String(buffer: out), "*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n")
    }

    /// The in-place encoder (a request's arguments) writes exactly what the general one does,
    /// at every length whose decimal has a different number of digits.
    func testArgumentsEncodeLikeBuffers() {
        for length in [0, 1, 9, 10, 99, 100, 999, 1000, 10_000, 100_000] {
            let args = [ByteBuffer(string: "SET"), ByteBuffer(string: "k"), ByteBuffer(repeating: 0x61, count: length)]
            var general = ByteBuffer(), inPlace = ByteBuffer()
            AOFRecords.append(args, to: &general)
            AOFRecords.append(Arguments(args), to: &inPlace)
            XCTAssertEqual(general, inPlace, "length \(length)")
            XCTAssertTrue(String(buffer: general).hasPrefix("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$\(length)\r\n"))
        }
        let many = (0..<12).map { ByteBuffer(string: String($0)) }
        var general = ByteBuffer(), inPlace = ByteBuffer()
        AOFRecords.append(many, to: &general)
        AOFRecords.append(Arguments(many), to: &inPlace)
        XCTAssertEqual(general, inPlace)
        XCTAssertTrue(String(buffer: general).hasPrefix("*12\r\n$1\r\n0\r\n"))
    }

    func testRoundTripWithBinaryAndEmpty() throws {
        let commands = [["SET", "k\r\n\0", ""], ["RPUSH", "l", "a", "b"], ["PEXPIREAT", "k", "1796586949017"]]
        XCTAssertEqual(try read(encode(commands)), commands)
    }

    func testTruncationAtEveryByteIsReportedAtTheLastWholeCommand() {
        let bytes = encode([["SET", "a", "1"], ["SET", "bb", "22"]])
        let firstEnd = encode([["SET", "a", "1"]]).count
        for cut in 1..<bytes.count where cut != firstEnd {
            XCTAssertThrowsError(try read(Array(bytes[..<cut])), "cut at \(cut)") { error in
                XCTAssertEqual(error as? AOFReadError, .truncated(offset: cut < firstEnd ? 0 : firstEnd), "cut at \(cut)")
            }
        }
        XCTAssertEqual(try read(Array(bytes[..<firstEnd])), [["SET", "a", "1"]])
    }

    func testCorruptionNamesTheOffset() {
        let good = encode([["SET", "a", "1"]])
        XCTAssertThrowsError(try read(good + Array("GARBAGE\r\n".utf8))) { error in
            XCTAssertEqual(error as? AOFReadError, .corrupt(offset: good.count, reason: "expected '*'"))
        }
        XCTAssertThrowsError(try read(Array("*1\r\n$3\r\nabcXY".utf8))) { error in
            XCTAssertEqual(error as? AOFReadError, .corrupt(offset: 11, reason: "no CRLF after a bulk string"))
        }
        XCTAssertThrowsError(try read(Array("*x\r\n".utf8))) { error in
            guard case .corrupt(1, _)? = error as? AOFReadError else { return XCTFail("\(error)") }
        }
    }
}
