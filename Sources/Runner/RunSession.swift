import CSwiftletHost
import Foundation

/// One VM from start to stop: launches QEMU tied to this process, pins its threads, waits
/// until the server answers PING, and shuts it down in order (SHUTDOWN over RESP so the guest
/// powers off, then QMP `quit`, then SIGKILL). QEMU is started with a parent-death signal, so
/// it cannot outlive the runner even if the runner crashes.
public final class RunSession: VMSession {
    public struct Ready: Sendable {
        public let bootMillis: Int
        public let accelerator: VMSpec.Accelerator
        public let pinning: Pinning.Report
    }

    public private(set) var spec: VMSpec
    private let qemu: String
    private let log: (String) -> Void
    public private(set) var pid: pid_t = -1
    private var qmp: QMPClient?
    private var exitStatus: Int32?

    public static let readyLine = "Ready to accept connections"

    public init(spec: VMSpec, log: @escaping (String) -> Void) throws {
        self.spec = spec
        self.log = log
        guard let qemu = RunSession.findProgram("qemu-system-x86_64") else {
            throw RunnerError("qemu-system-x86_64 not found: install the Debian package qemu-system-x86 (or run Scripts/setup-debian.sh)")
        }
        self.qemu = qemu
    }

    deinit { killNow() }

    /// Boots and waits for PONG. `probeKVM`: on a guest that does not become ready under KVM
    /// within `probeSeconds`, kill it and boot again under TCG (the `--accel auto` fallback).
    public func start(readyTimeout: TimeInterval, probeKVM: Bool) throws -> Ready {
        try start(readyTimeout: readyTimeout, probeKVM: probeKVM, probeSeconds: 15)
    }

    public func start(readyTimeout: TimeInterval, probeKVM: Bool, probeSeconds: TimeInterval) throws -> Ready {
        try RunSession.checkPortFree(spec.hostPort)
        if spec.accelerator == .kvm && probeKVM {
            do {
                return try boot(timeout: probeSeconds)
            } catch let error as NotReady {
                log("KVM guest not ready within \(Int(probeSeconds)) s (\(error.summary)): falling back to TCG")
                killNow()
                spec.accelerator = .tcg
            }
        }
        do {
            return try boot(timeout: readyTimeout)
        } catch let error as NotReady {
            throw RunnerError("the guest did not become ready within \(Int(readyTimeout)) s: \(error.summary)")
        }
    }

    private struct NotReady: Error {
        let summary: String
    }

    private func boot(timeout: TimeInterval) throws -> Ready {
        try? FileManager.default.removeItem(at: spec.consolePath)
        try? FileManager.default.removeItem(at: spec.qmpSocketPath)
        let qemuLog = qemuLogPath
        let outputFD = open(qemuLog.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { if outputFD >= 0 { close(outputFD) } }
        let argv = [qemu] + (try spec.qemuArguments())
        let started = Date()
        pid = RunSession.spawn(argv, outputFD: outputFD)
        guard pid > 0 else { throw RunnerError("cannot start \(qemu): \(String(cString: strerror(errno)))") }
        exitStatus = nil
        do {
            let client = try QMPClient(socketPath: spec.qmpSocketPath.path)
            qmp = client
            // QEMU is up, so is its port forward (see ForwardBacklog for why this matters).
            do { try ForwardBacklog.widen(pid: pid, port: spec.hostPort) } catch { log("warning: \(error); many simultaneous connections may stall") }
            let threads = try client.vcpuThreads()
            let report = try Pinning.apply(pid: pid, vcpuThreads: threads, vcpuPins: spec.vcpuPins, emulatorPins: spec.emulatorPins)
            try waitReady(until: started.addingTimeInterval(timeout), qemuLog: qemuLog)
            return Ready(bootMillis: Int(Date().timeIntervalSince(started) * 1000), accelerator: spec.accelerator, pinning: report)
        } catch {
            killNow()
            throw error
        }
    }

    /// The server's "Ready to accept connections" on the serial console, then a PONG through the
    /// forwarded port. The console line comes first because probing a forwarded port before
    /// the guest listens makes QEMU's user networking accept on the host side and stall.
    private func waitReady(until deadline: Date, qemuLog: URL) throws {
        while !consoleText().contains(RunSession.readyLine) {
            if let status = reap() {
                throw RunnerError("QEMU exited (status \(status)) before the server was ready\n\(failureDetails(qemuLog: qemuLog))")
            }
            guard Date() < deadline else { throw NotReady(summary: "no ready line on the console") }
            usleep(10_000)
        }
        while !RunSession.ping(port: spec.hostPort) {
            if let status = reap() {
                throw RunnerError("QEMU exited (status \(status)) before answering PING\n\(failureDetails(qemuLog: qemuLog))")
            }
            guard Date() < deadline else { throw NotReady(summary: "no PONG through 127.0.0.1:\(spec.hostPort)") }
            usleep(50_000)
        }
    }

    /// What a user needs when a guest does not come up: the last console lines and where the
    /// whole console is.
    /// QEMU's own messages (next to the QMP socket, in the run's work directory).
    public var qemuLogPath: URL { spec.qmpSocketPath.deletingLastPathComponent().appendingPathComponent("qemu.log") }

    public func failureDetails() -> String { failureDetails(qemuLog: nil) }

    public func failureDetails(qemuLog: URL?) -> String {
        let qemuLog = qemuLog ?? qemuLogPath
        guard pid > 0 else { return "" }   // nothing was started
        let tail = consoleText().split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
        var text = "--- last console lines (\(spec.consolePath.path)) ---\n\(tail)"
        if let q = try? String(contentsOf: qemuLog, encoding: .utf8), !q.isEmpty {
            text += "\n--- QEMU (\(qemuLog.path)) ---\n\(q)"
        }
        return text
    }

    public func consoleText() -> String {
        (try? String(contentsOf: spec.consolePath, encoding: .utf8)) ?? ""
    }

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
            RunSession.sendShutdown(port: spec.hostPort)
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

    // MARK: Host helpers

    static func spawn(_ argv: [String], outputFD: Int32) -> pid_t {
        var cStrings = argv.map { strdup($0) }
        cStrings.append(nil)
        defer { for p in cStrings { free(p) } }
        return cStrings.withUnsafeMutableBufferPointer { swiftlet_spawn_tied($0.baseAddress!, outputFD) }
    }

    public static func findProgram(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// A TCP socket and the address 127.0.0.1:`port` for `body`; the socket is closed after.
    /// Nil when no socket could be made.
    private static func withLoopbackSocket<R>(port: Int, _ body: (Int32, UnsafeMutablePointer<sockaddr>, socklen_t) -> R) -> R? {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { return nil }
        defer { close(s) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// QEMU would only say "Could not set up host forwarding rule" after starting; say it first.
    public static func checkPortFree(_ port: Int) throws {
        guard withLoopbackSocket(port: port, { bind($0, $1, $2) }) == 0 else {
            throw RunnerError("port 127.0.0.1:\(port) is not available (\(String(cString: strerror(errno)))): choose another with --port")
        }
    }

    /// A loopback port the kernel says is free right now (port 0 bound, then asked).
    public static func freePort() -> Int {
        withLoopbackSocket(port: 0) { s, address, size in
            var length = size
            guard bind(s, address, length) == 0, getsockname(s, address, &length) == 0 else { return 0 }
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        } ?? 0
    }

    /// One inline command over RESP; returns the first reply line (nil on any failure).
    static func call(port: Int, _ command: String, timeout: Int = 2) -> String? {
        withLoopbackSocket(port: port) { s, address, size -> String? in
            var tv = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            guard connect(s, address, size) == 0 else { return nil }
            let bytes = Array((command + "\r\n").utf8)
            guard write(s, bytes, bytes.count) == bytes.count else { return nil }
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = read(s, &buffer, buffer.count)
            guard n > 0 else { return nil }
            return String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\r\n").first.map(String.init)
        } ?? nil
    }

    public static func ping(port: Int) -> Bool { call(port: port, "PING") == "+PONG" }

    static func sendShutdown(port: Int) { _ = call(port: port, "SHUTDOWN", timeout: 5) }
}
