import Foundation
import XCTest
@testable import Runner

final class LibvirtStagingTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("staging-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// An image directory with the three files a domain opens.
    func makeImage(in parent: URL, mode: Int) throws -> URL {
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        let image = parent.appendingPathComponent("image")
        try FileManager.default.createDirectory(at: image, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for file in ["bzImage", "initramfs.cpio.gz", "data.ext4"] {
            try Data(file.utf8).write(to: image.appendingPathComponent(file))
        }
        return image
    }

    func inode(_ url: URL) -> ino_t {
        var info = stat()
        XCTAssertEqual(stat(url.path, &info), 0)
        return info.st_ino
    }

    func testOpenDirectoriesNeedNoStaging() throws {
        let image = try makeImage(in: scratch.appendingPathComponent("open"), mode: 0o755)
        XCTAssertNil(LibvirtStaging.closedAncestor(of: image.appendingPathComponent("bzImage")))
        var spec = VMSpec(imageDirectory: image, manifest: testManifest(data: true), hostPort: 1, workDirectory: scratch)
        var staging = LibvirtStaging(root: scratch.appendingPathComponent("root"))
        try staging.stage(&spec, name: "swiftlet-1-1", log: { XCTFail("nothing to stage: \($0)") })
        XCTAssertNil(staging.directory)
        XCTAssertEqual(spec.imageDirectory, image)
    }

    func testClosedDirectoryIsStagedAsLinks() throws {
        let closed = scratch.appendingPathComponent("private")
        let image = try makeImage(in: closed, mode: 0o700)
        let found = LibvirtStaging.closedAncestor(of: image.appendingPathComponent("bzImage"))
        XCTAssertEqual(found?.path, closed.path)
        XCTAssertEqual(found?.mode, 0o700)

        var spec = VMSpec(imageDirectory: image, manifest: testManifest(data: true), hostPort: 1, workDirectory: scratch)
        let root = scratch.appendingPathComponent("root")
        var staging = LibvirtStaging(root: root)
        var lines: [String] = []
        try staging.stage(&spec, name: "swiftlet-\(getpid())-6390", log: { lines.append($0) })
        let staged = root.appendingPathComponent("swiftlet-\(getpid())-6390")
        XCTAssertEqual(staging.directory?.path, staged.path)
        XCTAssertEqual(try spec.kernelPath(), staged.appendingPathComponent("bzImage"))
        XCTAssertEqual(spec.initramfsPath, staged.appendingPathComponent("initramfs.cpio.gz"))
        XCTAssertEqual(spec.dataVolume, staged.appendingPathComponent("data.ext4"))
        // Links, not copies: the guest writes the user's data volume itself.
        XCTAssertEqual(inode(spec.dataVolume!), inode(image.appendingPathComponent("data.ext4")))
        XCTAssertEqual(inode(try spec.kernelPath()), inode(image.appendingPathComponent("bzImage")))
        XCTAssertNil(LibvirtStaging.closedAncestor(of: try spec.kernelPath()))
        XCTAssertEqual(lines, ["staged the image in \(staged.path): libvirt's QEMU user cannot search \(closed.path) (mode 700)"])

        staging.remove()
        XCTAssertFalse(FileManager.default.fileExists(atPath: staged.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: image.appendingPathComponent("data.ext4").path))
    }

    func testStaleDirectoriesOfGoneRunnersAreRemoved() throws {
        let root = scratch.appendingPathComponent("root")
        // A pid that cannot exist (above the kernel's pid_max of 4194304), and our own.
        let gone = root.appendingPathComponent("swiftlet-2147483600-6390")
        let ours = root.appendingPathComponent("swiftlet-\(getpid())-6391")
        for d in [gone, ours] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        LibvirtStaging(root: root).removeStale()
        XCTAssertFalse(FileManager.default.fileExists(atPath: gone.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: ours.path))
    }
}
