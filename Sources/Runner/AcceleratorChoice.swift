import Foundation

/// `--accel auto`: KVM only when it can really run a stock guest kernel here.
public enum AcceleratorChoice {
    public struct Decision: Sendable {
        public let accelerator: VMSpec.Accelerator
        /// One line for the user when KVM was not chosen although asked for or available.
        public let reason: String?
        /// Auto chose KVM: a guest not ready in time is retried under TCG (`RunSession.start`).
        public let probeKVM: Bool
    }

    /// The `--accel` option (`auto`, `kvm` or `tcg`); nil for anything else.
    public static func resolve(_ option: String) -> Decision? {
        switch option {
        case "auto": return auto()
        case "kvm": return Decision(accelerator: .kvm, reason: nil, probeKVM: false)
        case "tcg": return Decision(accelerator: .tcg, reason: nil, probeKVM: false)
        default: return nil
        }
    }

    /// KVM needs /dev/kvm that this user can open, provided by the stock `kvm_intel`/`kvm_amd`
    /// modules. `kvm_pvm` (Pagetable-based VM) also provides /dev/kvm, but only boots PIE guest
    /// kernels built with its patches: a stock kernel hangs right after decompression, so with
    /// it the answer is TCG. (A guest that still never becomes ready under KVM is caught by the
    /// bounded probe in `RunSession`, which falls back to TCG as well.)
    public static func auto(devicePath: String = "/dev/kvm", modulesPath: String = "/sys/module") -> Decision {
        guard FileManager.default.fileExists(atPath: devicePath) else {
            return Decision(accelerator: .tcg, reason: "no \(devicePath): using TCG (software emulation)", probeKVM: false)
        }
        if FileManager.default.fileExists(atPath: modulesPath + "/kvm_pvm") {
            return Decision(accelerator: .tcg, reason: "KVM here is kvm_pvm, which cannot boot a stock guest kernel: using TCG (software emulation)", probeKVM: false)
        }
        let fd = open(devicePath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            return Decision(accelerator: .tcg, reason: "cannot open \(devicePath) (\(String(cString: strerror(errno)))): using TCG (software emulation)", probeKVM: false)
        }
        close(fd)
        return Decision(accelerator: .kvm, reason: nil, probeKVM: true)
    }
}
