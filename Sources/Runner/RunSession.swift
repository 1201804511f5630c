import CSwiftletHost
import Foundation

/// One VM from start to stop: launches QEMU tied to this process, pins its threads, waits
/// until the server answers PING, and shuts it down in order (SHUTDOWN over RESP so the guest
/// powers off, then QMP `quit`, then SIGKILL). QEMU is started with a parent-death signal, so
/// it cannot outlive the runner even if the runner crashes.
public final class RunSession: VMSession {
    public private(set) var spec: VMSpec
    private let qemu: String
    private let log: (String) -> Void
    public private(set) var pid: pid_t = -1
    private var qmp: QMPClient?
    private var exitStatus: Int32?

    public init(spec: VMSpec, log: @escaping (String) -> Void) throws {
        self.spec = spec
        self.log = log
        qemu = try RunSession.qemuProgram()
    }

    /// The QEMU binary on PATH, or an error naming the package to install.
    public static func qemuProgram() throws -> String {
        guard let qemu = TiedProcess.findProgram("qemu-system-x86_64") else {
            throw RunnerError("qemu-system-x86_64 not found: install the Debian package qemu-system-x86 (or run Scripts/setup-debian.sh)")
        }
        return qemu
    }

    deinit { killNow() }

    /// Boots and waits for PONG. `probeKVM`: on a guest that does not become ready under KVM
    /// within `probeSeconds`, kill it and boot again under TCG (the `--accel auto` fallback).
    public func start(readyTimeout: TimeInterval, probeKVM: Bool) throws -> VMReady {
        try start(readyTimeout: readyTimeout, probeKVM: probeKVM, probeSeconds: 15)
    }

    public func start(readyTimeout: TimeInterval, probeKVM: Bool, probeSeconds: TimeInterval) throws -> VMReady {
        try Loopback.checkPortFree(spec.hostPort)
        if spec.accelerator == .kvm && probeKVM {
            do {
                return try boot(timeout: probeSeconds)
            } catch let error as VMNotReady {
                log("KVM guest not ready within \(Int(probeSeconds)) s (\(error.summary)): falling back to TCG")
                killNow()
                spec.accelerator = .tcg
            }
        }
        do {
            return try boot(timeout: readyTimeout)
        } catch let error as VMNotReady {
            throw RunnerError("the guest did not become ready within \(Int(readyTimeout)) s: \(error.summary)")
        }
    }

    private func boot(timeout: TimeInterval) throws -> VMReady {
        try? FileManager.default.removeItem(at: spec.consolePath)
        try? FileManager.default.removeItem(at: spec.qmpSocketPath)
        let qemuLog = qemuLogPath
        let outputFD = open(qemuLog.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { if outputFD >= 0 { close(outputFD) } }
        let argv = [qemu] + (try spec.qemuArguments())
        let started = Date()
        pid = TiedProcess.spawn(argv, outputFD: outputFD)
        guard pid > 0 else { throw RunnerError("cannot start \(qemu): \(String(cString: strerror(errno)))") }
        exitStatus = nil
        do {
            let client = try QMPClient(socketPath: spec.qmpSocketPath.path)
            qmp = client
            // QEMU is up, so is its port forward (see ForwardBacklog for why this matters).
            do { try ForwardBacklog.widen(pid: pid, port: spec.hostPort) } catch { log("warning: \(error); many simultaneous connections may stall") }
            let threads = try client.vcpuThreads()
            let report = try Pinning.apply(pid: pid, vcpuThreads: threads, vcpuPins: spec.vcpuPins, emulatorPins: spec.emulatorPins)
            try waitReady(until: started.addingTimeInterval(timeout))
            return VMReady(bootMillis: Int(Date().timeIntervalSince(started) * 1000), accelerator: spec.accelerator, pinning: report)
        } catch {
            killNow()
            throw error
        }
    }

    /// QEMU's own messages (next to the QMP socket, in the run's work directory).
    public var qemuLogPath: URL { spec.qmpSocketPath.deletingLastPathComponent().appendingPathComponent("qemu.log") }
    public var hypervisorLogPath: URL? { qemuLogPath }
    public var launched: Bool { pid > 0 }

    public func endedStatus() -> String? { reap().map { "QEMU exit status \($0)" } }

    /// Nil while QEMU runs, else its exit status (collected once).
    @discardableResult
    public func reap() -> Int32? {
        if let exitStatus { return exitStatus }
        guard pid > 0 else { return nil }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
        exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        qmp = nil
        return exitStatus
    }

    /// Waits for QEMU to end by itself (the guest powered off) or until `stopRequested` says so.
    public func waitForExit(stopRequested: () -> Bool) -> Int32? {
        while true {
            if let status = reap() { return status }
            if stopRequested() { return nil }
            usleep(50_000)
        }
    }

    /// SHUTDOWN over RESP (the guest saves if its rules say so and powers off), then QMP `quit`,
    /// then SIGKILL; each step bounded. Returns QEMU's exit status.
    @discardableResult
    public func shutdown(graceSeconds: TimeInterval = 20) -> Int32 {
        if reap() == nil {
            log("stopping: SHUTDOWN to the guest")
            Loopback.sendShutdown(port: spec.hostPort)
            if let status = waitExit(seconds: graceSeconds) { return status }
            log("guest still running after \(Int(graceSeconds)) s: QMP quit")
            _ = try? qmp?.execute("quit")
            if let status = waitExit(seconds: 5) { return status }
            log("QEMU still running: killing it")
        }
        killNow()
        return exitStatus ?? -1
    }

    private func waitExit(seconds: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let status = reap() { return status }
            usleep(50_000)
        }
        return nil
    }

    private func killNow() {
        guard pid > 0, reap() == nil else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        exitStatus = 128 + SIGKILL
        qmp = nil
    }
}
