import Configuration
import Foundation
import ImageBuilder

/// Everything needed to boot one appliance VM: the image (from its manifest) plus the choices
/// of `swiftlet run` (sizes, CPU placement, machine, accelerator, port).
public struct VMSpec: Sendable {
    public enum Machine: String, Sendable, CaseIterable {
        /// virtio over MMIO, no PCI bus or firmware tables to probe: the fastest boot.
        case microvm
        /// virtio over PCI, the classic PC.
        case pc
    }

    public enum Accelerator: String, Sendable {
        case kvm
        case tcg
    }

    public var imageDirectory: URL
    public var manifest: Manifest
    public var vcpus: Int
    public var memoryMiB: Int
    /// Host CPU of each vCPU, in vCPU order; empty: not pinned.
    public var vcpuPins: [Int] = []
    /// Host CPUs for QEMU's other threads (main loop, I/O); empty: not pinned.
    public var emulatorPins: [Int] = []
    public var machine: Machine = .microvm
    public var accelerator: Accelerator = .tcg
    /// Host loopback port forwarded to the guest's server port.
    public var hostPort: Int
    /// Kernel parameters added to the image's command line (`swiftlet run --append`), e.g.
    /// `swiftlet.port=7001 swiftlet.requirepass=secret` to override the baked-in configuration.
    public var extraKernelParameters = ""
    /// Data volume (raw ext4) attached as the guest's /dev/vda; default: the image's own.
    public var dataVolume: URL?
    public var consolePath: URL
    public var qmpSocketPath: URL
    /// QEMU's own seccomp sandbox (`-sandbox`, `VMSpec.sandboxOptions`); `swiftlet run --no-sandbox`
    /// turns it off.
    public var sandbox = true

    /// What `-sandbox` denies QEMU once the guest runs: system calls of obsolete ABIs, gaining
    /// privileges (setuid and friends), spawning processes (fork, exec) and changing resource
    /// controls (scheduling, affinity, limits). A guest that escapes into QEMU through a device
    /// bug meets these before it meets the host. The same set libvirt passes (qemu.conf
    /// `seccomp_sandbox`).
    public static let sandboxOptions = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

    /// Reads `manifest.json` from `imageDirectory`; sizes default to the recipe's.
    public init(imageDirectory: URL, hostPort: Int, workDirectory: URL, consolePath: URL? = nil) throws {
        let manifestURL = imageDirectory.appendingPathComponent(ImageBuild.manifestFile)
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw RunnerError("\(imageDirectory.path) is not an image: \(ImageBuild.manifestFile) is missing (build one with `swiftlet image build`)")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.decode(data)
        } catch {
            throw RunnerError("\(manifestURL.path) cannot be read: \(error)")
        }
        self.init(imageDirectory: imageDirectory, manifest: manifest, hostPort: hostPort, workDirectory: workDirectory, consolePath: consolePath)
    }

    public init(imageDirectory: URL, manifest: Manifest, hostPort: Int, workDirectory: URL, consolePath: URL? = nil) {
        self.manifest = manifest
        self.imageDirectory = imageDirectory
        vcpus = manifest.recipe.vcpus
        memoryMiB = manifest.recipe.memoryMib
        self.hostPort = hostPort
        if let data = manifest.artifacts["data"] {
            dataVolume = imageDirectory.appendingPathComponent(data.file)
        }
        self.consolePath = consolePath ?? workDirectory.appendingPathComponent("console.log")
        qmpSocketPath = workDirectory.appendingPathComponent("qmp.sock")
    }

    /// The port the guest's server listens on: the image's (from its recipe), unless the extra
    /// kernel parameters override it the way the appliance's init will read them.
    public var guestPort: Int {
        KernelParameters.value(of: "port", in: extraKernelParameters).flatMap { Int($0) } ?? manifest.guest.port
    }

    /// The console line that says the server listens.
    public var readyLine: String { manifest.guest.readyLine }

    /// The image's kernel command line plus `extraKernelParameters`.
    public var kernelCommandLine: String {
        extraKernelParameters.isEmpty ? manifest.kernelCommandLine : manifest.kernelCommandLine + " " + extraKernelParameters
    }

    public func kernelPath() throws -> URL {
        guard let kernel = manifest.artifacts["kernel"] else { throw RunnerError("the manifest lists no kernel") }
        return imageDirectory.appendingPathComponent(kernel.file)
    }

    /// Nil when the kernel embeds its initramfs.
    public var initramfsPath: URL? {
        manifest.artifacts["initramfs"].map { imageDirectory.appendingPathComponent($0.file) }
    }

    /// QEMU user networking: the host's loopback port forwarded to the guest's server port.
    var netdev: String { "user,id=net0,hostfwd=tcp:127.0.0.1:\(hostPort)-:\(guestPort)" }

    /// The QEMU command line (without the program itself).
    public func qemuArguments() throws -> [String] {
        let kernel = try kernelPath()
        let virtio = machine == .microvm ? "device" : "pci"
        var args = [
            // acpi=off: the appliance kernel has no ACPI; microvm then lists its virtio-mmio
            // devices on the kernel command line, which the kernel reads.
            "-M", machine == .microvm ? "microvm,x-option-roms=off,acpi=off" : "pc",
            // Multi-threaded TCG gives each vCPU its own host thread, so it can be pinned.
            "-accel", accelerator == .kvm ? "kvm" : "tcg,thread=multi",
            // Under TCG "max" offers RDRAND, which seeds the guest's random generator at once.
            "-cpu", accelerator == .kvm ? "host" : "max",
            "-m", String(memoryMiB), "-smp", String(vcpus),
            "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
            // The guest ends itself with a reboot (no ACPI to power off with): exit then.
            "-no-reboot",
            "-serial", "file:\(consolePath.path)",
            "-qmp", "unix:\(qmpSocketPath.path),server=on,wait=off",
            "-kernel", kernel.path,
            "-append", kernelCommandLine,
            "-netdev", netdev,
            "-device", "virtio-net-\(virtio),netdev=net0",
        ]
        if sandbox {
            args += ["-sandbox", Self.sandboxOptions]
        }
        if let initramfs = initramfsPath {
            args += ["-initrd", initramfs.path]
        }
        if let dataVolume {
            args += ["-drive", "id=data,file=\(dataVolume.path),format=raw,if=none",
                     "-device", "virtio-blk-\(virtio),drive=data"]
        }
        return args
    }
}

public struct RunnerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
