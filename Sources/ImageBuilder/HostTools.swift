import Foundation

/// A program or file the build needs on the host, and the Debian package that provides it.
public struct HostTool: Sendable, Hashable {
    public enum Probe: Sendable, Hashable {
        case command(String)
        case file(String)
    }

    public let probe: Probe
    public let package: String

    public static func command(_ name: String, package: String) -> HostTool { HostTool(probe: .command(name), package: package) }
    public static func file(_ path: String, package: String) -> HostTool { HostTool(probe: .file(path), package: package) }

    public var name: String {
        switch probe {
        case .command(let c): return c
        case .file(let f): return f
        }
    }

    public var isPresent: Bool {
        switch probe {
        case .file(let path):
            return FileManager.default.fileExists(atPath: path)
        case .command(let name):
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
        }
    }
}

/// What each part of the build needs on a Debian 12 host.
public enum HostTools {
    /// The Debian package with the kernel sources the appliance kernel is built from.
    public static let kernelSourcePackage = "linux-source-6.1"
    public static let kernelSourceTarball = "/usr/src/linux-source-6.1.tar.xz"

    /// Building the static server (the Swift toolchain itself is not a Debian package).
    public static let server: [HostTool] = [
        .command("strip", package: "binutils"),
        .file("/usr/include/zlib.h", package: "zlib1g-dev"),
    ]
    /// Building the appliance kernel.
    public static let kernel: [HostTool] = [
        .file(kernelSourceTarball, package: kernelSourcePackage),
        .command("make", package: "make"),
        .command("gcc", package: "gcc"),
        .command("flex", package: "flex"),
        .command("bison", package: "bison"),
        .command("bc", package: "bc"),
        .command("xz", package: "xz-utils"),
        .command("perl", package: "perl"),
        // objtool (ORC unwinder, on by default for x86_64) links libelf.
        .file("/usr/include/libelf.h", package: "libelf-dev"),
    ]
    /// Creating a recipe's ext4 data volume.
    public static let dataVolume: [HostTool] = [.command("mkfs.ext4", package: "e2fsprogs")]

    /// Throws one error naming every missing tool and the packages that provide them.
    public static func require(_ tools: [HostTool]) throws {
        let missing = tools.filter { !$0.isPresent }
        guard !missing.isEmpty else { return }
        var packages: [String] = []
        for tool in missing where !packages.contains(tool.package) { packages.append(tool.package) }
        throw MissingHostTools(tools: missing.map(\.name), packages: packages)
    }
}

public struct MissingHostTools: Error, CustomStringConvertible {
    public let tools: [String]
    public let packages: [String]
    public var description: String {
        "missing on this host: \(tools.joined(separator: ", ")).\n"
            + "Install them with: sudo apt-get install \(packages.joined(separator: " "))  (or run Scripts/setup-debian.sh)"
    }
}
