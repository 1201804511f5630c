import Configuration
import Foundation

/// `manifest.json`: what an image is made of and how to boot it. Written last, atomically, so
/// its presence in an output directory means the build finished.
public struct Manifest: Codable, Equatable, Sendable {
    public struct Artifact: Codable, Equatable, Sendable {
        /// File name inside the output directory.
        public var file: String
        public var size: Int
        public var sha256: String
    }

    public struct RecipeInfo: Codable, Equatable, Sendable {
        public var name: String
        public var file: String
        public var sha256: String
        public var description: String
        public var vcpus: Int
        public var memoryMib: Int
        public var volumeSizeMib: Int?
    }

    public struct KernelInfo: Codable, Equatable, Sendable {
        /// "built" (from linux-source and the fragment) or "prebuilt" (--kernel).
        public var origin: String
        /// The version string from the bzImage header.
        public var version: String
        /// Debian version of linux-source-6.1, for built kernels.
        public var sourceVersion: String?
        /// Cache directory name, for built kernels.
        public var cacheKey: String?
        public var initramfsEmbedded: Bool
    }

    /// How the server inside is reached: what a runner forwards to and waits for.
    public struct GuestInfo: Codable, Equatable, Sendable {
        /// The TCP port the server listens on inside the VM (the recipe's `port`).
        public var port: Int
        /// The console line that says the server listens (`ServerLog.ready`).
        public var readyLine: String
    }

    /// 2 added `guest`; format 1 manifests (no `guest`) are read as port 6379 and Redis's ready line.
    public var format: Int = 2
    public var recipe: RecipeInfo
    public var guest: GuestInfo
    public var serverVersion: String
    public var kernel: KernelInfo
    public var kernelCommandLine: String
    /// Kernel, initramfs (unless embedded), stripped server, data volume (when the recipe has one).
    public var artifacts: [String: Artifact]
    /// Image size: kernel plus initramfs, what the VM is booted from.
    public var imageSize: Int
    /// UTC, ISO 8601.
    public var builtAt: String
    public var buildSeconds: Double

    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Array(try encoder.encode(self)) + [10]
    }

    /// Reads what `json()` wrote (`swiftlet run` and `swiftlet bench` boot from it).
    public static func decode(_ data: Data) throws -> Manifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Manifest.self, from: data)
    }

    public init(recipe: RecipeInfo, guest: GuestInfo, serverVersion: String, kernel: KernelInfo, kernelCommandLine: String,
                artifacts: [String: Artifact], imageSize: Int, builtAt: String, buildSeconds: Double) {
        self.recipe = recipe
        self.guest = guest
        self.serverVersion = serverVersion
        self.kernel = kernel
        self.kernelCommandLine = kernelCommandLine
        self.artifacts = artifacts
        self.imageSize = imageSize
        self.builtAt = builtAt
        self.buildSeconds = buildSeconds
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(Int.self, forKey: .format)
        recipe = try c.decode(RecipeInfo.self, forKey: .recipe)
        guest = try c.decodeIfPresent(GuestInfo.self, forKey: .guest) ?? GuestInfo(port: 6379, readyLine: ServerLog.ready)
        serverVersion = try c.decode(String.self, forKey: .serverVersion)
        kernel = try c.decode(KernelInfo.self, forKey: .kernel)
        kernelCommandLine = try c.decode(String.self, forKey: .kernelCommandLine)
        artifacts = try c.decode([String: Artifact].self, forKey: .artifacts)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        builtAt = try c.decode(String.self, forKey: .builtAt)
        buildSeconds = try c.decode(Double.self, forKey: .buildSeconds)
    }
}
