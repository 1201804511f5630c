import ArgumentParser
import Foundation
import ImageBuilder

extension Swiftlet.Image {
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a bootable image: a kernel plus an initramfs whose /init is the static swiftlet-server.",
            discussion: """
                Builds swiftlet-server as a static, stripped executable, provides the appliance kernel \
                (built once from Debian's linux-source-6.1 and Images/kernel/appliance.config, then \
                cached in ~/.cache/swiftlet/kernel), writes the initramfs and manifest.json. \
                See Docs/appliance.md.
                """
        )

        @Option(help: "The image recipe, a TOML file.")
        var recipe: String = "Images/memonly.toml"

        @Option(help: "Where the image goes (default: .build-image/<recipe name> in the package).")
        var output: String?

        @Option(help: "Use this prebuilt kernel (bzImage) instead of building the appliance kernel.")
        var kernel: String?

        @Option(help: "Use this static swiftlet-server instead of building one.")
        var server: String?

        @Flag(help: "Build the initramfs into the kernel: one bootable file instead of two.")
        var embedInitramfs = false

        @Option(help: "The Swiftlet package (default: the nearest directory upwards with Package.swift).")
        var packagePath: String?

        func run() throws {
            Interrupts.shared.install()
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            guard let root = packagePath.map({ URL(fileURLWithPath: $0, relativeTo: cwd) }) ?? Self.findPackageRoot(from: cwd) else {
                throw ValidationError("not inside the Swiftlet package (no Package.swift above \(cwd.path)); pass --package-path")
            }
            let recipeURL = Self.resolve(recipe, cwd: cwd, root: root)
            let name = recipeURL.deletingPathExtension().lastPathComponent
            let outputURL = output.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL }
                ?? root.appendingPathComponent(".build-image").appendingPathComponent(name)
            var options = ImageBuild.Options(packageRoot: root, recipe: recipeURL, output: outputURL,
                                             cacheRoot: ImageBuild.defaultCacheRoot)
            options.kernel = kernel.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL }
            options.server = server.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL }
            options.embedInitramfs = embedInitramfs
            do {
                // Unbuffered: progress must show while a step runs for minutes, also when piped to a log.
                let manifest = try ImageBuild(options: options).run { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
                print("""
                    image: \(outputURL.path) (\(manifest.imageSize) bytes: kernel \(manifest.artifacts["kernel"]?.size ?? 0), \
                    initramfs \(manifest.artifacts["initramfs"]?.size ?? 0)) in \(manifest.buildSeconds) s
                    """)
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }

        /// A recipe given as a bare name or a relative path is looked up from the current
        /// directory first, then from the package root (`--recipe Images/persistent.toml`
        /// works from anywhere in the package).
        static func resolve(_ path: String, cwd: URL, root: URL) -> URL {
            let fromCwd = URL(fileURLWithPath: path, relativeTo: cwd).standardizedFileURL
            if FileManager.default.fileExists(atPath: fromCwd.path) || path.hasPrefix("/") { return fromCwd }
            return URL(fileURLWithPath: path, relativeTo: root).standardizedFileURL
        }

        static func findPackageRoot(from start: URL) -> URL? {
            var dir = start.standardizedFileURL
            while true {
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                   FileManager.default.fileExists(atPath: dir.appendingPathComponent(ImageBuild.kernelFragment).path) {
                    return dir
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { return nil }
                dir = parent
            }
        }
    }
}
