import Basics
import Foundation

/// Builds the appliance kernel from Debian's `linux-source-6.1` and the committed config
/// fragment, and caches it outside the source tree, keyed by what determines it.
///
/// Cache layout: `<cache>/kernel/<source version>-<fragment sha256 prefix>[-initramfs-<sha>]/`
/// holding `bzImage` and the final `.config`. A build happens in a temporary directory and its
/// result is renamed into place only when it succeeded, so a directory under `kernel/` is always
/// a finished kernel; logs of every build stay in `<cache>/kernel/logs/`.
public struct KernelBuild {
    public let fragment: URL
    public let cacheRoot: URL
    public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    public init(fragment: URL, cacheRoot: URL) {
        self.fragment = fragment
        self.cacheRoot = cacheRoot
    }

    public struct Result {
        public let bzImage: URL
        public let sourceVersion: String
        public let cacheKey: String
        public let fromCache: Bool
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `linux-source-6.1`'s Debian version: the kernel tree it unpacks changes exactly when it does.
    public static func sourceVersion() throws -> String {
        let version = (try? Subprocess.output(["dpkg-query", "-W", "-f=${Version}", HostTools.kernelSourcePackage])) ?? ""
        guard !version.isEmpty else {
            throw MissingHostTools(tools: [HostTools.kernelSourceTarball], packages: [HostTools.kernelSourcePackage])
        }
        return version
    }

    /// `CONFIG_X=y` lines of a fragment: what must still be set after olddefconfig.
    static func requiredOptions(in fragment: String) -> [String] {
        fragment.split(separator: "\n").compactMap { line in
            let l = line.trimmingCharacters(in: .whitespaces)
            guard l.hasPrefix("CONFIG_"), l.hasSuffix("=y") else { return nil }
            return String(l.dropLast(2))
        }
    }

    /// Options of `required` that a resolved `.config` does not set to `y`.
    static func droppedOptions(required: [String], config: String) -> [String] {
        let set = Set(config.split(separator: "\n").filter { $0.hasSuffix("=y") }.map { String($0.dropLast(2)) })
        return required.filter { !set.contains($0) }
    }

    /// True when the plain kernel (no initramfs inside) for the current source and fragment is
    /// in the cache, i.e. building an image needs none of the kernel build tools.
    public var isCached: Bool {
        guard let version = try? Self.sourceVersion(), let bytes = try? Data(contentsOf: fragment) else { return false }
        let key = "\(version)-\(SHA256.hex(bytes).prefix(16))"
        return FileManager.default.fileExists(atPath: cacheRoot.appendingPathComponent("kernel/\(key)/bzImage").path)
    }

    /// Returns the cached kernel, building it first if needed. With `embedding`, the given
    /// uncompressed cpio archive is built into the kernel (CONFIG_INITRAMFS_SOURCE).
    public func kernel(embedding initramfs: URL? = nil, progress: (String) -> Void) throws -> Result {
        let fragmentBytes = try Data(contentsOf: fragment)
        let sourceVersion = try Self.sourceVersion()
        var extra = ""
        var key = "\(sourceVersion)-\(SHA256.hex(fragmentBytes).prefix(16))"
        if let initramfs {
            let digest = SHA256.hex(try Data(contentsOf: initramfs))
            key += "-initramfs-\(digest.prefix(16))"
            extra = "CONFIG_INITRAMFS_SOURCE=\"\(initramfs.path)\"\nCONFIG_INITRAMFS_COMPRESSION_GZIP=y\n"
        }
        let kernelDir = cacheRoot.appendingPathComponent("kernel")
        let final = kernelDir.appendingPathComponent(key)
        let bzImage = final.appendingPathComponent("bzImage")
        if FileManager.default.fileExists(atPath: bzImage.path) {
            return Result(bzImage: bzImage, sourceVersion: sourceVersion, cacheKey: key, fromCache: true)
        }
        try HostTools.require(HostTools.kernel)

        let logs = kernelDir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let logURL = logs.appendingPathComponent("\(key).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-kernel-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        Interrupts.shared.register(temporary: work.path)
        defer {
            try? FileManager.default.removeItem(at: work)
            Interrupts.shared.unregister(temporary: work.path)
        }
        let source = work.appendingPathComponent("linux-source-6.1")
        let merged = work.appendingPathComponent("fragment.config")
        try (String(decoding: fragmentBytes, as: UTF8.self) + "\n" + extra).write(to: merged, atomically: true, encoding: .utf8)

        // Fixed build identity, so the same source and fragment give the same bzImage bytes
        // instead of one stamped with this machine's name and the time of the build.
        let reproducible = ["KBUILD_BUILD_TIMESTAMP": "1970-01-01 00:00:00 UTC",
                            "KBUILD_BUILD_USER": "swiftlet", "KBUILD_BUILD_HOST": "appliance"]
        func step(_ what: String, _ arguments: [String], in directory: URL? = source) throws {
            progress("kernel: \(what)")
            do {
                try Subprocess.run(arguments, in: directory, log: log, environment: reproducible)
            } catch {
                throw Failure(description: """
                    kernel build failed at "\(what)": \(error)
                    --- last lines of \(logURL.path) ---
                    \(Subprocess.tail(of: logURL))
                    --- full log: \(logURL.path)
                    """)
            }
        }
        try step("unpacking \(HostTools.kernelSourceTarball)", ["tar", "-xf", HostTools.kernelSourceTarball, "-C", work.path], in: nil)
        try step("make tinyconfig", ["make", "tinyconfig"])
        try step("merging \(fragment.lastPathComponent)", ["scripts/kconfig/merge_config.sh", "-m", ".config", merged.path])
        try step("make olddefconfig", ["make", "olddefconfig"])
        let resolved = try String(contentsOf: source.appendingPathComponent(".config"), encoding: .utf8)
        let dropped = Self.droppedOptions(required: Self.requiredOptions(in: String(decoding: fragmentBytes, as: UTF8.self)), config: resolved)
        guard dropped.isEmpty else {
            throw Failure(description: """
                kernel configuration: \(fragment.path) asks for options that `make olddefconfig` did not keep \
                (a prerequisite is missing from the fragment): \(dropped.joined(separator: ", "))
                """)
        }
        try step("make bzImage (a few minutes; log: \(logURL.path))", ["make", "-j\(jobs)", "bzImage"])

        let staging = kernelDir.appendingPathComponent(".\(key).tmp-\(getpid())")
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("arch/x86/boot/bzImage"), to: staging.appendingPathComponent("bzImage"))
        try FileManager.default.copyItem(at: source.appendingPathComponent(".config"), to: staging.appendingPathComponent("config"))
        do {
            try AtomicFile.install(staging, at: final)
        } catch {
            // Another build finished the same kernel first: theirs is as good as ours.
            try? FileManager.default.removeItem(at: staging)
            guard FileManager.default.fileExists(atPath: bzImage.path) else { throw error }
        }
        return Result(bzImage: bzImage, sourceVersion: sourceVersion, cacheKey: key, fromCache: false)
    }
}

/// Facts read from a bzImage's setup header (Documentation/x86/boot.rst).
public enum BzImage {
    /// The kernel's version string (`6.1.158 (user@host) #1 SMP ...`), or nil if `bytes` is not
    /// a bzImage of boot protocol 2.00 or later.
    public static func version(of bytes: [UInt8]) -> String? {
        // "HdrS" at 0x202; kernel_version (offset of the string, minus 0x200) at 0x20E.
        guard bytes.count > 0x210, bytes[0x202..<0x206].elementsEqual(Array("HdrS".utf8)) else { return nil }
        let offset = Int(bytes[0x20E]) | Int(bytes[0x20F]) << 8
        let start = offset + 0x200
        guard offset > 0, start < bytes.count else { return nil }
        let end = bytes[start...].firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[start..<min(end, start + 256)], as: UTF8.self)
    }
}
