import Foundation

/// Builds `swiftlet-server` as the appliance needs it: release, statically linked (Swift runtime,
/// Foundation-free stdlib, glibc and every C library inside), stripped.
///
/// It uses its own scratch path so it never disturbs the developer's ordinary `.build`.
public struct ServerBuild {
    public let packageRoot: URL

    public init(packageRoot: URL) {
        self.packageRoot = packageRoot
    }

    public var scratchPath: URL { packageRoot.appendingPathComponent(".build-static") }

    /// Builds and returns the unstripped static executable; the build's output goes to `log`.
    public func build(log logURL: URL, progress: (String) -> Void) throws -> URL {
        try HostTools.require(HostTools.server)
        guard HostTool.command("swift", package: "").isPresent else {
            throw Subprocess.Failure(description: "the Swift toolchain (swift) is not on PATH: install Swift 6 (https://www.swift.org/install/linux/)")
        }
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        progress("server: swift build -c release --product swiftlet-server -static-executable -enforce-exclusivity=unchecked (log: \(logURL.path))")
        do {
            try Subprocess.run(["swift", "build", "-c", "release", "--product", "swiftlet-server",
                                "--package-path", packageRoot.path, "--scratch-path", scratchPath.path,
                                "-Xswiftc", "-static-executable",
                                // As Scripts/build-server.sh: reaches SwiftNIO's run-time exclusivity checks too.
                                "-Xswiftc", "-enforce-exclusivity=unchecked"], log: log)
        } catch {
            throw Subprocess.Failure(description: """
                building the static server failed: \(error)
                --- last lines of \(logURL.path) ---
                \(Subprocess.tail(of: logURL))
                --- full log: \(logURL.path)
                """)
        }
        return scratchPath.appendingPathComponent("release/swiftlet-server")
    }

    /// A stripped copy of `executable` at `destination` (atomically), checked to be a static
    /// executable: a dynamic one would find no loader inside the image.
    public static func installStripped(_ executable: URL, at destination: URL) throws {
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).tmp-\(getpid())")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try Subprocess.run(["strip", "-o", temporary.path, executable.path])
        let bytes = [UInt8](try Data(contentsOf: temporary))
        guard ELF.isStaticExecutable(bytes) else {
            throw Subprocess.Failure(description: "\(executable.path) is not a statically linked executable (it has an ELF interpreter); build it with -static-executable")
        }
        try AtomicFile.install(temporary, at: destination)
    }
}

/// Just enough ELF reading to tell a static executable from a dynamic one.
enum ELF {
    /// True for a 64-bit little-endian ELF executable without a PT_INTERP program header.
    static func isStaticExecutable(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 64, bytes[0..<4].elementsEqual([0x7F, 0x45, 0x4C, 0x46]), bytes[4] == 2, bytes[5] == 1 else { return false }
        func read(_ offset: Int, _ size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        let phoff = read(0x20, 8), phentsize = read(0x36, 2), phnum = read(0x38, 2)
        for i in 0..<phnum {
            let entry = phoff + i * phentsize
            guard entry + 4 <= bytes.count else { return false }
            if read(entry, 4) == 3 { return false }  // PT_INTERP
        }
        return true
    }
}
