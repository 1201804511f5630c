import CLibvirt
import Foundation

/// `swiftlet run --backend libvirt`: the same VM as a transient libvirt domain. libvirt applies
/// the pinning (`<vcpupin>`, `<emulatorpin>`); the runner reads it back from /proc, waits for
/// the same ready line and PONG, and stops the guest the same way. The domain is created with
/// AUTODESTROY: libvirtd destroys it as soon as the runner's connection goes away, so a crashed
/// runner leaves nothing behind here either.
public final class LibvirtSession: VMSession {
    public private(set) var spec: VMSpec
    private let uri: String
    private let log: (String) -> Void
    private var connection: virConnectPtr?
    private var domain: virDomainPtr?
    private let name: String
    private var qemuPID: Int32 = -1
    private var staging = LibvirtStaging()

    public init(spec: VMSpec, uri: String, log: @escaping (String) -> Void) {
        self.spec = spec
        self.uri = uri
        self.log = log
        name = "swiftlet-\(getpid())-\(spec.hostPort)"
    }

    deinit {
        if let domain {
            virDomainDestroy(domain)
            virDomainFree(domain)
        }
        if let connection { virConnectClose(connection) }
        staging.remove()
    }

    /// QEMU runs on this machine (so its files must be readable by libvirt's QEMU user here).
    private var isLocalSystemURI: Bool { uri == "qemu:///system" || uri.hasPrefix("qemu:///system?") }

    public func start(readyTimeout: TimeInterval, probeKVM: Bool) throws -> VMReady {
        try Loopback.checkPortFree(spec.hostPort)
        // libvirt's qemu driver has no microvm machine type: the PC machine, virtio over PCI.
        spec.machine = .pc
        if isLocalSystemURI { try staging.stage(&spec, name: name, log: log) }
        // Errors are reported through our own messages; libvirt would also print each one
        // (including the expected "domain not found" once the guest has gone) to stderr.
        virSetErrorFunc(nil) { _, _ in }
        guard let connection = virConnectOpen(uri) else { throw RunnerError("libvirt: cannot connect to \(uri): \(lastError())") }
        self.connection = connection
        let started = Date()
        guard let domain = virDomainCreateXML(connection, try domainXML(), UInt32(VIR_DOMAIN_START_AUTODESTROY.rawValue)) else {
            throw RunnerError("libvirt: cannot start the domain: \(lastError())")
        }
        self.domain = domain
        let pinning = try readBackPinning()
        reportSandbox()
        do {
            try waitReady(until: started.addingTimeInterval(readyTimeout))
        } catch let error as VMNotReady {
            throw RunnerError("the guest did not become ready within \(Int(readyTimeout)) s: \(error.summary)")
        }
        return VMReady(bootMillis: Int(Date().timeIntervalSince(started) * 1000), accelerator: spec.accelerator, pinning: pinning)
    }

    public var launched: Bool { domain != nil }

    public func endedStatus() -> String? { launched && !isActive ? "the domain stopped" : nil }

    /// libvirt's log of the domain's QEMU (its command line and messages), on a local host.
    public var hypervisorLogPath: URL? {
        isLocalSystemURI ? URL(fileURLWithPath: "/var/log/libvirt/qemu/\(name).log") : nil
    }

    /// vCPU threads from QMP (through libvirt), QEMU's pid from libvirt's pid file, and each
    /// thread's affinity from /proc; checked against what the domain asked for.
    private func readBackPinning() throws -> Pinning.Report {
        var reply: UnsafeMutablePointer<CChar>?
        guard virDomainQemuMonitorCommand(domain, #"{"execute":"query-cpus-fast"}"#, &reply, 0) == 0, let reply else {
            throw RunnerError("libvirt: query-cpus-fast failed: \(lastError())")
        }
        defer { free(reply) }
        let object = try JSONSerialization.jsonObject(with: Data(String(cString: reply).utf8)) as? [String: Any]
        var threads: [Int: Int] = [:]
        for cpu in object?["return"] as? [[String: Any]] ?? [] {
            if let index = cpu["cpu-index"] as? Int, let tid = cpu["thread-id"] as? Int { threads[index] = tid }
        }
        let pidFile = "/var/run/libvirt/qemu/\(name).pid"
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            // A remote host: the pinning is libvirt's to apply; /proc is not ours to read.
            return Pinning.Report(threads: threads.sorted { $0.key < $1.key }.map { .init(role: "vcpu\($0.key)", tid: $0.value, allowed: spec.vcpuPins.indices.contains($0.key) ? "\(spec.vcpuPins[$0.key]) (libvirt, not verified remotely)" : "unpinned") })
        }
        qemuPID = pid
        do { try ForwardBacklog.widen(pid: pid, port: spec.hostPort) } catch { log("warning: \(error); many simultaneous connections may stall") }
        var report: [Pinning.Report.Thread] = []
        for (index, tid) in threads.sorted(by: { $0.key < $1.key }) {
            let allowed = try Pinning.allowedCPUs(pid: pid, tid: tid)
            if spec.vcpuPins.indices.contains(index), allowed != String(spec.vcpuPins[index]) {
                throw RunnerError("vCPU \(index) (tid \(tid)) should be on CPU \(spec.vcpuPins[index]) but the kernel reports \(allowed)")
            }
            report.append(.init(role: "vcpu\(index)", tid: tid, allowed: allowed))
        }
        if !spec.emulatorPins.isEmpty {
            for tid in try Pinning.tasks(of: pid) where !threads.values.contains(tid) {
                if let allowed = try? Pinning.allowedCPUs(pid: pid, tid: tid) { report.append(.init(role: "emulator", tid: tid, allowed: allowed)) }
            }
        }
        return Pinning.Report(threads: report)
    }

    /// libvirt's domain XML has no sandbox element: QEMU's `-sandbox` is libvirtd's choice for
    /// every domain (qemu.conf `seccomp_sandbox`; unset or 1 gives `VMSpec.sandboxOptions` with a
    /// QEMU that supports it, 0 gives `-sandbox off`). So the run cannot set it, only check what
    /// libvirtd did, from QEMU's command line, and say so.
    private func reportSandbox() {
        guard qemuPID > 0, let data = FileManager.default.contents(atPath: "/proc/\(qemuPID)/cmdline") else {
            log("QEMU sandbox: libvirtd's setting on that host (qemu.conf seccomp_sandbox); not visible from here")
            return
        }
        let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        let value = argv.firstIndex(of: "-sandbox").flatMap { argv.indices.contains($0 + 1) ? argv[$0 + 1] : nil }
        switch (value, spec.sandbox) {
        case (VMSpec.sandboxOptions?, true):
            log("QEMU sandbox: -sandbox \(VMSpec.sandboxOptions) (libvirtd, qemu.conf seccomp_sandbox)")
        case (VMSpec.sandboxOptions?, false):
            log("note: --no-sandbox cannot change libvirtd's seccomp_sandbox for one domain: QEMU runs with -sandbox \(VMSpec.sandboxOptions)")
        case (_, true):
            log("warning: libvirtd started QEMU with \(value.map { "-sandbox \($0)" } ?? "no -sandbox"): set seccomp_sandbox = 1 in /etc/libvirt/qemu.conf and restart libvirtd for the sandbox `swiftlet run` gives QEMU directly")
        case (_, false):
            log("QEMU sandbox: \(value.map { "-sandbox \($0)" } ?? "none") (libvirtd, qemu.conf seccomp_sandbox)")
        }
    }

    private var isActive: Bool {
        guard let domain else { return false }
        return virDomainIsActive(domain) == 1
    }

    public func waitForExit(stopRequested: () -> Bool) -> Int32? {
        while true {
            if !isActive { return 0 }
            if stopRequested() { return nil }
            usleep(50_000)
        }
    }

    @discardableResult
    public func shutdown(graceSeconds: TimeInterval = 20) -> Int32 {
        guard isActive else { return 0 }
        log("stopping: SHUTDOWN to the guest")
        Loopback.sendShutdown(port: spec.hostPort)
        let deadline = Date().addingTimeInterval(graceSeconds)
        while isActive && Date() < deadline { usleep(50_000) }
        if isActive {
            log("guest still running after \(Int(graceSeconds)) s: destroying the domain")
            virDomainDestroy(domain)
            return 1
        }
        return 0
    }

    /// The transient domain: direct kernel boot, pinning in `<cputune>`, the serial console to a
    /// file, and QEMU user networking with the port forward (libvirt 9's own user-mode interface
    /// has no port forwarding without passt), passed through `<qemu:commandline>`.
    func domainXML() throws -> String {
        let kernel = try spec.kernelPath()
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "'", with: "&apos;")
        }
        var cputune = ""
        for (vcpu, cpu) in spec.vcpuPins.enumerated() { cputune += "<vcpupin vcpu='\(vcpu)' cpuset='\(cpu)'/>" }
        if !spec.emulatorPins.isEmpty { cputune += "<emulatorpin cpuset='\(spec.emulatorPins.map(String.init).joined(separator: ","))'/>" }
        let initrd = spec.initramfsPath.map { "<initrd>\(escape($0.path))</initrd>" } ?? ""
        let disk = spec.dataVolume.map {
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='\(escape($0.path))'/><target dev='vda' bus='virtio'/></disk>"
        } ?? ""
        return """
        <domain type='\(spec.accelerator == .kvm ? "kvm" : "qemu")' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
          <name>\(name)</name>
          <memory unit='MiB'>\(spec.memoryMiB)</memory>
          <vcpu placement='static'>\(spec.vcpus)</vcpu>
          <cputune>\(cputune)</cputune>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>\(escape(kernel.path))</kernel>
            \(initrd)
            <cmdline>\(escape(spec.kernelCommandLine))</cmdline>
          </os>
          <cpu mode='\(spec.accelerator == .kvm ? "host-passthrough" : "maximum")' migratable='off'/>
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>destroy</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <serial type='file'><source path='\(escape(spec.consolePath.path))'/><target port='0'/></serial>
            \(disk)
            <memballoon model='none'/>
          </devices>
          <qemu:commandline>
            <qemu:arg value='-netdev'/>
            <qemu:arg value='\(escape(spec.netdev))'/>
            <qemu:arg value='-device'/>
            <qemu:arg value='virtio-net-pci,netdev=net0'/>
          </qemu:commandline>
        </domain>
        """
    }

    private func lastError() -> String {
        virGetLastErrorMessage().map { String(cString: $0) } ?? "unknown error"
    }
}
