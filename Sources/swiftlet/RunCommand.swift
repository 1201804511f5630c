import ArgumentParser
import Dispatch
import Foundation
import ImageBuilder
import Runner

extension Swiftlet {
    /// `swiftlet run`: boot an image under QEMU with pinned vCPUs and keep it running until
    /// Ctrl-C / SIGTERM (or until the guest powers off).
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Boot an appliance image under QEMU, each vCPU pinned to a host CPU.",
            discussion: """
                Prints the pinning (read back from /proc) and one line once the server answers PING, \
                e.g. `ready 127.0.0.1:6390 in 2140 ms (accel=tcg, vcpu0->cpu1)`. Ctrl-C or SIGTERM \
                sends SHUTDOWN to the guest, then QMP quit, then kills QEMU; QEMU never outlives \
                the runner. Without IMAGE_DIR the default memonly image is built (or reused) first.
                """
        )

        @Argument(help: "An image directory written by `swiftlet image build` (default: build/reuse memonly).")
        var imageDir: String?

        @Option(help: "Number of vCPUs (default: the recipe's).")
        var vcpus: Int?

        @Option(help: "Guest memory in MiB (default: the recipe's).")
        var memory: Int?

        @Option(help: "Host CPU for each vCPU, in vCPU order, e.g. 1,0.")
        var pin: String?

        @Option(help: "Host CPUs for QEMU's other threads, e.g. 0.")
        var emulatorPin: String?

        @Option(help: "Host port on 127.0.0.1 forwarded to the guest's server.")
        var port: Int = 6390

        @Option(help: "auto (KVM only when it really works here), kvm or tcg.")
        var accel: String = "auto"

        @Option(help: "microvm or pc.")
        var machine: String = "microvm"

        @Option(help: "qemu (QEMU started directly) or libvirt (a transient libvirt domain).")
        var backend: String = "qemu"

        @Option(help: "libvirt connection URI, e.g. qemu+ssh://host/system (libvirt backend).")
        var connect: String = "qemu:///system"

        @Option(help: "Data volume (raw ext4) to attach instead of the image's own.")
        var data: String?

        @Option(help: "Keep the serial console in this file (default: a temporary directory).")
        var console: String?

        @Option(help: "Seconds to wait for the server to answer PING.")
        var readyTimeout: Double = 120

        @Option(help: ArgumentHelp("Kernel parameters to add, e.g. 'swiftlet.port=7001 swiftlet.requirepass=secret' (overrides the image's configuration).",
                                   valueName: "PARAMETERS"))
        var append: String?

        @Option(help: "Directory for the QMP socket and QEMU's log (default: a new temporary directory).")
        var workDir: String?

        @Option(help: ArgumentHelp("Also boot N replica guests of this one, on host ports PORT+1 ... PORT+N; each replicates the first guest through its forwarded port (10.0.2.2:PORT from inside). All stop together.",
                                   valueName: "N"))
        var replicas: Int = 0

        @Flag(name: .customLong("no-sandbox"),
              help: "Start QEMU without its seccomp sandbox (-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny, the default). Only for a QEMU built without seccomp support, which refuses -sandbox, or to tell whether the sandbox is what stops a guest from booting. With --backend libvirt the sandbox is libvirtd's setting (qemu.conf seccomp_sandbox), not the run's.")
        var noSandbox = false

        @Flag(help: "Print the QEMU program and arguments this run would start, as JSON, and exit without booting (pinning is applied after start, through QMP).")
        var printQemuArgs = false

        func run() throws {
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            let image = try imageDir.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL } ?? Self.defaultImage(cwd: cwd, progressTo: printQemuArgs ? .standardError : .standardOutput)
            let work = workDir.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-run-\(getpid())")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let say: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }

            guard (0...8).contains(replicas) else { throw ValidationError("--replicas must be between 0 and 8") }
            guard port + replicas <= 65535 else { throw ValidationError("--port \(port) leaves no room for \(replicas) replica ports above it") }
            var spec = try VMSpec(imageDirectory: image, hostPort: port, workDirectory: work,
                                  consolePath: console.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL })
            if let append { spec.extraKernelParameters = append }
            if let vcpus { spec.vcpus = vcpus }
            if let memory { spec.memoryMiB = memory }
            if let data { spec.dataVolume = URL(fileURLWithPath: data, relativeTo: cwd).standardizedFileURL }
            guard let machine = VMSpec.Machine(rawValue: machine) else { throw ValidationError("--machine must be microvm or pc") }
            spec.machine = machine
            spec.sandbox = !noSandbox
            if let pin {
                spec.vcpuPins = try Pinning.parseList(pin)
                guard spec.vcpuPins.count == spec.vcpus else {
                    throw ValidationError("--pin lists \(spec.vcpuPins.count) CPUs for \(spec.vcpus) vCPUs: give one host CPU per vCPU")
                }
            }
            if let emulatorPin { spec.emulatorPins = try Pinning.parseList(emulatorPin) }
            guard let decision = AcceleratorChoice.resolve(accel) else { throw ValidationError("--accel must be auto, kvm or tcg") }
            spec.accelerator = decision.accelerator
            if printQemuArgs {
                try Self.printLaunch(spec)
                return
            }
            defer { try? FileManager.default.removeItem(at: work.appendingPathComponent("qmp.sock")) }
            if let reason = decision.reason { say(reason) }
            if backend == "qemu" {
                say(spec.sandbox ? "QEMU sandbox: -sandbox \(VMSpec.sandboxOptions)" : "QEMU sandbox: off (--no-sandbox)")
            }

            // Ctrl-C and SIGTERM ask for an orderly stop; QEMU is in its own process group and
            // does not see the terminal's Ctrl-C itself.
            let stop = StopFlag()
            var sources: [DispatchSourceSignal] = []
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { stop.set() }
                source.resume()
                sources.append(source)
            }

            let session = try makeSession(spec)
            guard let ready = boot(session, spec, probeKVM: decision.probeKVM, say: say) else { throw ExitCode.failure }
            say("ready 127.0.0.1:\(port) in \(ready.bootMillis) ms (accel=\(ready.accelerator.rawValue), \(Self.describePinning(ready)))")

            // Replica guests: the same image, each on the next host port, replicating the first
            // guest through its forward (QEMU's user network reaches the host's loopback at
            // 10.0.2.2). They boot after it, and stop before it.
            var replicaSessions: [VMSession] = []
            for i in 1...max(1, replicas) where replicas > 0 {
                var replicaSpec = spec
                replicaSpec.hostPort = port + i
                let replicaWork = work.appendingPathComponent("replica-\(i)")
                replicaSpec.qmpSocketPath = replicaWork.appendingPathComponent("qmp.sock")
                replicaSpec.consolePath = replicaWork.appendingPathComponent("console.log")
                replicaSpec.extraKernelParameters = [append, "swiftlet.replicaof=\"10.0.2.2 \(port)\""].compactMap { $0 }.joined(separator: " ")
                try FileManager.default.createDirectory(at: replicaWork, withIntermediateDirectories: true)
                // A data volume belongs to one guest: each replica gets a copy of the image's
                // pristine one (its data then comes from the master's full sync).
                if let pristine = try VMSpec(imageDirectory: image, hostPort: port + i, workDirectory: replicaWork).dataVolume {
                    let copy = replicaWork.appendingPathComponent("data.img")
                    try? FileManager.default.removeItem(at: copy)
                    try FileManager.default.copyItem(at: pristine, to: copy)
                    replicaSpec.dataVolume = copy
                } else {
                    replicaSpec.dataVolume = nil
                }
                let replicaSession = try makeSession(replicaSpec)
                guard let replicaReady = boot(replicaSession, replicaSpec, probeKVM: false, say: say) else {
                    for s in replicaSessions.reversed() + [session] { _ = s.shutdown(graceSeconds: 20) }
                    throw ExitCode.failure
                }
                replicaSessions.append(replicaSession)
                say("replica \(i) ready 127.0.0.1:\(port + i) in \(replicaReady.bootMillis) ms, replicating 127.0.0.1:\(port) (\(Self.describePinning(replicaReady)))")
            }

            if let status = session.waitForExit(stopRequested: stop.isSet) {
                say("guest stopped (QEMU exit status \(status))")
                for (i, s) in replicaSessions.enumerated().reversed() {
                    say("replica \(i + 1) stopped (QEMU exit status \(s.shutdown(graceSeconds: 20)))")
                }
                return
            }
            for (i, s) in replicaSessions.enumerated().reversed() {
                say("replica \(i + 1) stopped (QEMU exit status \(s.shutdown(graceSeconds: 20)))")
            }
            let status = session.shutdown(graceSeconds: 20)
            say("stopped (QEMU exit status \(status))")
            _ = sources
        }

        private func makeSession(_ spec: VMSpec) throws -> VMSession {
            let say: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
            switch backend {
            case "qemu": return try RunSession(spec: spec, log: say)
            case "libvirt": return LibvirtSession(spec: spec, uri: connect, log: say)
            default: throw ValidationError("--backend must be qemu or libvirt")
            }
        }

        /// Starts one guest and prints its console and pinning; nil (after printing why) when it
        /// did not become ready.
        private func boot(_ session: VMSession, _ spec: VMSpec, probeKVM: Bool, say: (String) -> Void) -> VMReady? {
            say("console: \(spec.consolePath.path)")
            do {
                let ready = try session.start(readyTimeout: readyTimeout, probeKVM: probeKVM)
                for thread in ready.pinning.threads {
                    say("pinned \(thread.role) (tid \(thread.tid)) -> cpu \(thread.allowed)")
                }
                return ready
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n\(session.failureDetails())\n".utf8))
                return nil
            }
        }

        static func describePinning(_ ready: VMReady) -> String {
            let mapping = ready.pinning.threads.filter { $0.role.hasPrefix("vcpu") }.map { "\($0.role)->cpu\($0.allowed)" }
            return mapping.isEmpty ? "unpinned" : mapping.joined(separator: ", ")
        }

        /// `--print-qemu-args`: what the test helpers and scripts start instead of building their
        /// own QEMU command line (one definition of the VM, here in VMSpec).
        static func printLaunch(_ spec: VMSpec) throws {
            let launch: [String: Any] = [
                "program": try RunSession.qemuProgram(),
                "arguments": try spec.qemuArguments(),
                "console": spec.consolePath.path,
                "qmp": spec.qmpSocketPath.path,
                "host_port": spec.hostPort,
                "guest_port": spec.guestPort,
                "ready_line": spec.readyLine,
            ]
            let data = try JSONSerialization.data(withJSONObject: launch, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }

        /// Builds the memonly image, or reuses it when nothing it is made of changed (the build
        /// is incremental: cached kernel, up-to-date server, deterministic initramfs).
        static func defaultImage(cwd: URL, progressTo progress: FileHandle = .standardOutput) throws -> URL {
            guard let root = Image.Build.findPackageRoot(from: cwd) else {
                throw ValidationError("no IMAGE_DIR given and not inside the Swiftlet package to build the default image")
            }
            let output = root.appendingPathComponent(".build-image/memonly")
            let options = ImageBuild.Options(packageRoot: root, recipe: root.appendingPathComponent("Images/memonly.toml"),
                                             output: output, cacheRoot: ImageBuild.defaultCacheRoot)
            _ = try ImageBuild(options: options).run { progress.write(Data(($0 + "\n").utf8)) }
            return output
        }
    }
}

/// Set from a signal handler's queue, read by the main thread.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    func isSet() -> Bool { lock.lock(); defer { lock.unlock() }; return value }
}
