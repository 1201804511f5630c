import Configuration
import Basics
import Foundation

/// `swiftlet image build`: recipe in, bootable image out.
///
/// Output directory after a successful build:
///   bzImage             the kernel (with the initramfs inside, with --embed-initramfs)
///   initramfs.cpio.gz   /init = the static server (absent with --embed-initramfs)
///   swiftlet-server     the stripped static server, as it is inside the initramfs
///   data.ext4           the data volume, for recipes with [volume] (kept across builds)
///   server-build.log    output of the static server build, when the tool built it
///   manifest.json       written last; its presence means the build finished
public struct ImageBuild {
    public struct Options {
        public var packageRoot: URL
        public var recipe: URL
        public var output: URL
        /// A prebuilt kernel to use instead of building one.
        public var kernel: URL?
        /// A prebuilt static server to use instead of building one.
        public var server: URL?
        public var embedInitramfs = false
        public var cacheRoot: URL

        public init(packageRoot: URL, recipe: URL, output: URL, cacheRoot: URL) {
            self.packageRoot = packageRoot
            self.recipe = recipe
            self.output = output
            self.cacheRoot = cacheRoot
        }
    }

    public static let kernelFile = "bzImage"
    public static let initramfsFile = "initramfs.cpio.gz"
    public static let serverFile = "swiftlet-server"
    public static let dataVolumeFile = "data.ext4"
    public static let manifestFile = "manifest.json"
    /// The committed kernel configuration fragment, relative to the package root.
    public static let kernelFragment = "Images/kernel/appliance.config"

    /// `~/.cache/swiftlet` (or `$XDG_CACHE_HOME/swiftlet`): outside any clone, so every clone
    /// and every CI run on a machine shares one kernel build.
    public static var defaultCacheRoot: URL {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg).appendingPathComponent("swiftlet") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlet")
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    @discardableResult
    public func run(progress: (String) -> Void) throws -> Manifest {
        let started = Date()
        let fm = FileManager.default
        if options.kernel != nil && options.embedInitramfs {
            throw Subprocess.Failure(description: "--embed-initramfs builds the kernel with the initramfs inside; it cannot be combined with --kernel")
        }
        let recipeText: String
        do {
            recipeText = try String(contentsOf: options.recipe, encoding: .utf8)
        } catch {
            throw RecipeError(file: options.recipe.path, line: 0, message: "cannot read the recipe: \(error.localizedDescription)")
        }
        let recipe = try Recipe(parsing: recipeText, file: options.recipe.path)
        // A prebuilt kernel is checked before minutes go into the server.
        var prebuiltVersion: String?
        if let prebuilt = options.kernel {
            guard let version = BzImage.version(of: [UInt8]((try? Data(contentsOf: prebuilt)) ?? Data())) else {
                throw Subprocess.Failure(description: "\(prebuilt.path) is not a bzImage (no Linux boot header)")
            }
            prebuiltVersion = version
        }

        // Check every host tool this build will need before spending minutes on any of them.
        let kernelBuild = KernelBuild(fragment: options.packageRoot.appendingPathComponent(Self.kernelFragment),
                                      cacheRoot: options.cacheRoot)
        var needed: [HostTool] = []
        if options.server == nil { needed += HostTools.server }
        if options.kernel == nil && (options.embedInitramfs || !kernelBuild.isCached) { needed += HostTools.kernel }
        if recipe.volumeSizeMiB != nil { needed += HostTools.dataVolume }
        try HostTools.require(needed)

        try fm.createDirectory(at: options.output, withIntermediateDirectories: true)
        let out = options.output
        // An output directory without a manifest is unfinished: drop the old manifest first so
        // a build that fails half-way cannot leave new artifacts beside a stale manifest.
        try? fm.removeItem(at: out.appendingPathComponent(Self.manifestFile))

        // 1. The static server.
        let serverSource = try options.server ?? ServerBuild(packageRoot: options.packageRoot)
            .build(log: out.appendingPathComponent("server-build.log"), progress: progress)
        let serverURL = out.appendingPathComponent(Self.serverFile)
        try ServerBuild.installStripped(serverSource, at: serverURL)
        let serverBytes = [UInt8](try Data(contentsOf: serverURL))
        let serverVersion = (try? Subprocess.output([serverURL.path, "--version"]))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        progress("server: \(serverVersion), \(serverBytes.count) bytes stripped")

        // 2. The initramfs.
        let cpio = Initramfs.archive(server: serverBytes, serverConfig: recipe.serverConfig,
                                     dataMount: recipe.volumeSizeMiB == nil ? nil : Recipe.dataMount).bytes()
        var artifacts: [String: Manifest.Artifact] = [:]
        func record(_ role: String, _ file: String, _ bytes: [UInt8]) {
            artifacts[role] = Manifest.Artifact(file: file, size: bytes.count, sha256: SHA256.hex(bytes))
        }
        record("server", Self.serverFile, serverBytes)
        let initramfsURL = out.appendingPathComponent(Self.initramfsFile)
        var embeddedCpio: URL?
        if options.embedInitramfs {
            // The kernel build compresses it itself; it needs a path that outlives this call
            // only until the kernel is built.
            let url = out.appendingPathComponent(".initramfs.cpio")
            try AtomicFile.write(cpio, to: url)
            embeddedCpio = url
            try? fm.removeItem(at: initramfsURL)
        } else {
            let gz = try Initramfs.gzip(cpio)
            try AtomicFile.write(gz, to: initramfsURL)
            record("initramfs", Self.initramfsFile, gz)
            progress("initramfs: \(cpio.count) bytes, \(gz.count) gzip-compressed")
        }
        defer { if let embeddedCpio { try? fm.removeItem(at: embeddedCpio) } }

        // 3. The kernel.
        let kernelInfo: Manifest.KernelInfo
        let kernelSource: URL
        if let prebuilt = options.kernel, let version = prebuiltVersion {
            kernelSource = prebuilt
            kernelInfo = .init(origin: "prebuilt", version: version, sourceVersion: nil, cacheKey: nil, initramfsEmbedded: false)
        } else {
            let result = try kernelBuild.kernel(embedding: embeddedCpio, progress: progress)
            progress("kernel: \(result.fromCache ? "cached" : "built") \(result.bzImage.path)")
            kernelSource = result.bzImage
            let version = BzImage.version(of: [UInt8](try Data(contentsOf: result.bzImage))) ?? "unknown"
            kernelInfo = .init(origin: "built", version: version, sourceVersion: result.sourceVersion,
                               cacheKey: result.cacheKey, initramfsEmbedded: options.embedInitramfs)
        }
        let kernelBytes = [UInt8](try Data(contentsOf: kernelSource))
        try AtomicFile.write(kernelBytes, to: out.appendingPathComponent(Self.kernelFile))
        record("kernel", Self.kernelFile, kernelBytes)

        // 4. The data volume: created once, never overwritten (it holds the user's data).
        if let size = recipe.volumeSizeMiB {
            let volume = out.appendingPathComponent(Self.dataVolumeFile)
            if !fm.fileExists(atPath: volume.path) {
                try DataVolume.create(at: volume, sizeMiB: size)
                progress("data volume: created \(volume.path) (\(size) MiB ext4)")
            } else {
                progress("data volume: keeping \(volume.path)")
            }
            let attributes = try fm.attributesOfItem(atPath: volume.path)
            artifacts["data"] = .init(file: Self.dataVolumeFile, size: (attributes[.size] as? Int) ?? 0, sha256: "")
        }

        // 5. The manifest, last.
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let manifest = Manifest(
            recipe: .init(name: recipe.name, file: options.recipe.lastPathComponent, sha256: SHA256.hex(Array(recipeText.utf8)),
                          description: recipe.description, vcpus: recipe.vcpus, memoryMib: recipe.memoryMiB,
                          volumeSizeMib: recipe.volumeSizeMiB),
            guest: .init(port: recipe.guestPort, readyLine: ServerLog.ready),
            serverVersion: serverVersion,
            kernel: kernelInfo,
            kernelCommandLine: recipe.kernelCommandLine,
            artifacts: artifacts,
            imageSize: (artifacts["kernel"]?.size ?? 0) + (artifacts["initramfs"]?.size ?? 0),
            builtAt: formatter.string(from: started),
            buildSeconds: (Date().timeIntervalSince(started) * 10).rounded() / 10)
        try AtomicFile.write(try manifest.json(), to: out.appendingPathComponent(Self.manifestFile))
        return manifest
    }
}

/// The persistent recipe's data volume: an ext4 filesystem in a plain file, made without root
/// by mkfs.ext4, attached to the VM as its first virtio disk.
enum DataVolume {
    static func create(at url: URL, sizeMiB: Int) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        defer { try? FileManager.default.removeItem(at: temporary) }
        // -E root_owner: the server runs as root inside; -L labels it for humans.
        try Subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "swiftlet-data", "-E", "root_owner=0:0",
                            temporary.path, "\(sizeMiB)M"])
        try AtomicFile.install(temporary, at: url)
    }
}
