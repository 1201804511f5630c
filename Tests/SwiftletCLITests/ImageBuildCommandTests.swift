import ArgumentParser
import Foundation
import XCTest
@testable import swiftlet

final class ImageBuildCommandTests: XCTestCase {
    func testUsageIsLiteral() {
        let help = Swiftlet.helpMessage(for: Swiftlet.Image.Build.self, columns: 200)
        XCTAssertTrue(help.contains("""
            USAGE: swiftlet image build [--recipe <recipe>] [--output <output>] [--kernel <kernel>] [--server <server>] [--embed-initramfs] [--package-path <package-path>]
            """), help)
        XCTAssertTrue(help.contains("  --recipe <recipe>       The image recipe, a TOML file. (default: Images/memonly.toml)"), help)
        XCTAssertTrue(Swiftlet.helpMessage(columns: 100).contains("image                   Build bootable appliance images."))
    }

    func testOptionsParse() throws {
        let build = try Swiftlet.Image.Build.parse(["--recipe", "Images/persistent.toml", "--embed-initramfs", "--output", "/tmp/x"])
        XCTAssertEqual(build.recipe, "Images/persistent.toml")
        XCTAssertTrue(build.embedInitramfs)
        XCTAssertEqual(build.output, "/tmp/x")
        XCTAssertNil(build.kernel)
        let defaults = try Swiftlet.Image.Build.parse([])
        XCTAssertEqual(defaults.recipe, "Images/memonly.toml")
        XCTAssertFalse(defaults.embedInitramfs)
        XCTAssertThrowsError(try Swiftlet.Image.Build.parse(["--no-such-flag"]))
    }

    func testPackageRootAndRecipeLookup() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
        let nested = root.appendingPathComponent("Sources/ImageBuilder")
        XCTAssertEqual(Swiftlet.Image.Build.findPackageRoot(from: nested)?.path, root.path)
        XCTAssertNil(Swiftlet.Image.Build.findPackageRoot(from: URL(fileURLWithPath: "/")))
        // A relative recipe that is not under the current directory is looked up in the package.
        XCTAssertEqual(Swiftlet.Image.Build.resolve("Images/memonly.toml", cwd: nested, root: root).path,
                       root.appendingPathComponent("Images/memonly.toml").path)
    }
}
