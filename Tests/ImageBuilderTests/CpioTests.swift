import Foundation
import XCTest
@testable import ImageBuilder

final class CpioTests: XCTestCase {
    private func sample() -> CpioArchive {
        var cpio = CpioArchive()
        cpio.directory("dev")
        cpio.characterDevice("dev/console", major: 5, minor: 1)
        cpio.directory("etc")
        cpio.file("etc/swiftlet.conf", contents: Array("port 6379\n".utf8))
        // Sizes 0..5 exercise every data padding case.
        for n in 0..<6 { cpio.file("etc/f\(n)", contents: Array(repeating: UInt8(0x41 + n), count: n)) }
        cpio.file("init", contents: [0x7F, 0x45, 0x4C, 0x46, 1, 2, 3], permissions: 0o755)
        return cpio
    }

    /// Walks the archive the way the kernel does, checking each header's alignment.
    private func parse(_ bytes: [UInt8]) throws -> [(name: String, mode: UInt32, size: Int, rdev: (UInt32, UInt32), data: [UInt8])] {
        var entries: [(String, UInt32, Int, (UInt32, UInt32), [UInt8])] = []
        var offset = 0
        func field(_ i: Int) -> UInt32 {
            UInt32(String(decoding: bytes[offset + 6 + 8 * i ..< offset + 14 + 8 * i], as: UTF8.self), radix: 16)!
        }
        while true {
            XCTAssertEqual(offset % 4, 0, "header at \(offset) is not 4-byte aligned")
            XCTAssertEqual(String(decoding: bytes[offset..<offset + 6], as: UTF8.self), "070701")
            let mode = field(1), size = Int(field(6)), rdev = (field(9), field(10)), nameSize = Int(field(11))
            XCTAssertEqual(field(0) == 0 ? 0 : field(5), 0, "mtime must be fixed at 0")
            XCTAssertEqual(field(2), 0)
            XCTAssertEqual(field(3), 0)
            let nameStart = offset + CpioArchive.headerSize
            XCTAssertEqual(bytes[nameStart + nameSize - 1], 0, "name must end with NUL")
            let name = String(decoding: bytes[nameStart..<nameStart + nameSize - 1], as: UTF8.self)
            let dataStart = (nameStart + nameSize + 3) & ~3
            let data = Array(bytes[dataStart..<dataStart + size])
            offset = (dataStart + size + 3) & ~3
            if name == CpioArchive.trailerName { break }
            entries.append((name, mode, size, rdev, data))
        }
        XCTAssertTrue(bytes[offset...].allSatisfy { $0 == 0 }, "only zero padding after the trailer")
        return entries.map { (name: $0.0, mode: $0.1, size: $0.2, rdev: $0.3, data: $0.4) }
    }

    func testLayoutAlignmentAndTrailer() throws {
        let bytes = sample().bytes()
        XCTAssertEqual(bytes.count % CpioArchive.blockSize, 0, "archive is padded to 512-byte blocks")
        let entries = try parse(bytes)
        XCTAssertEqual(entries.map(\.name), ["dev", "dev/console", "etc", "etc/swiftlet.conf",
                                             "etc/f0", "etc/f1", "etc/f2", "etc/f3", "etc/f4", "etc/f5", "init"])
        let console = entries[1]
        XCTAssertEqual(console.mode, 0o020600)
        XCTAssertEqual(console.rdev.0, 5)
        XCTAssertEqual(console.rdev.1, 1)
        XCTAssertEqual(entries[0].mode, 0o040755)
        XCTAssertEqual(entries.last!.mode, 0o100755)
        XCTAssertEqual(entries.last!.data, [0x7F, 0x45, 0x4C, 0x46, 1, 2, 3])
        for n in 0..<6 { XCTAssertEqual(entries[4 + n].data, Array(repeating: UInt8(0x41 + n), count: n)) }
    }

    func testSameEntriesGiveSameBytes() throws {
        XCTAssertEqual(sample().bytes(), sample().bytes())
        let a = Initramfs.archive(server: [1, 2, 3], serverConfig: "port 1\n", dataMount: "/data").bytes()
        let b = Initramfs.archive(server: [1, 2, 3], serverConfig: "port 1\n", dataMount: "/data").bytes()
        XCTAssertEqual(a, b)
        XCTAssertEqual(try Initramfs.gzip(a), try Initramfs.gzip(b))
        XCTAssertEqual(Array(try Initramfs.gzip(a).prefix(8)), [0x1F, 0x8B, 8, 0, 0, 0, 0, 0], "gzip header without name or mtime")
    }

    private func tool(_ name: String) throws -> String {
        for dir in ["/usr/bin", "/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw XCTSkip("\(name) is not installed (Scripts/setup-debian.sh installs it)")
    }

    private func run(_ executable: String, _ arguments: [String], stdin: URL? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        if let stdin { process.standardInput = try FileHandle(forReadingFrom: stdin) }
        try process.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(executable) \(arguments): \(out)")
        return out
    }

    private func writeSample(gzip: Bool) throws -> URL {
        let bytes = gzip ? try Initramfs.gzip(sample().bytes()) : sample().bytes()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-cpio-\(UUID().uuidString)\(gzip ? ".cpio.gz" : ".cpio")")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testGNUCpioListsTheArchive() throws {
        let cpio = try tool("cpio")
        let url = try writeSample(gzip: false)
        let listing = try run(cpio, ["-t", "--quiet"], stdin: url)
        XCTAssertEqual(listing.split(separator: "\n").map(String.init),
                       ["dev", "dev/console", "etc", "etc/swiftlet.conf", "etc/f0", "etc/f1", "etc/f2", "etc/f3", "etc/f4", "etc/f5", "init"])
        let verbose = try run(cpio, ["-tv", "--quiet"], stdin: url)
        XCTAssertTrue(verbose.contains("crw-------"), verbose)
        XCTAssertTrue(verbose.contains("5,   1") || verbose.contains("5, 1"), verbose)
    }

    func testBsdtarReadsTheGzippedArchive() throws {
        let bsdtar = try tool("bsdtar")
        let url = try writeSample(gzip: true)
        let listing = try run(bsdtar, ["-tf", url.path])
        XCTAssertTrue(listing.split(separator: "\n").contains("etc/swiftlet.conf"), listing)
        XCTAssertEqual(try run(bsdtar, ["-xOf", url.path, "etc/swiftlet.conf"]), "port 6379\n")
        XCTAssertEqual(try run(bsdtar, ["-xOf", url.path, "etc/f5"]), "FFFFF")
    }
}
