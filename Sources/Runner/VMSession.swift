import Foundation

/// What a booted guest reports once its server answers.
public struct VMReady: Sendable {
    public let bootMillis: Int
    public let accelerator: VMSpec.Accelerator
    public let pinning: Pinning.Report
}

/// One appliance VM from start to stop, whichever way it is launched: QEMU directly
/// (`RunSession`) or a transient libvirt domain (`LibvirtSession`). `swiftlet run` and
/// `swiftlet bench` only talk to this; the pieces every backend shares (waiting for the server,
/// what to show when it does not come up) are below, once.
public protocol VMSession: AnyObject {
    var spec: VMSpec { get }
    /// Boots, pins and waits until the server answers PING (see `waitReady`).
    func start(readyTimeout: TimeInterval, probeKVM: Bool) throws -> VMReady
    /// Waits for the guest to end by itself (nil: `stopRequested` said stop first); its status.
    func waitForExit(stopRequested: () -> Bool) -> Int32?
    /// SHUTDOWN over RESP, then harder means, each bounded; the hypervisor's exit status.
    @discardableResult func shutdown(graceSeconds: TimeInterval) -> Int32
    /// Nil while the guest runs (or was never started); else how it ended, for error messages.
    func endedStatus() -> String?
    /// True once a guest was launched (so there are console lines worth showing).
    var launched: Bool { get }
    /// Where the hypervisor's own messages go, when that file is ours to read.
    var hypervisorLogPath: URL? { get }
}

/// The guest did not come up in time (a guest that ended is a `RunnerError` instead).
struct VMNotReady: Error {
    let summary: String
}

extension VMSession {
    public func consoleText() -> String {
        (try? String(contentsOf: spec.consolePath, encoding: .utf8)) ?? ""
    }

    /// What a user needs when a guest does not come up: the last console lines, where the whole
    /// console is, and the hypervisor's messages.
    public func failureDetails() -> String {
        guard launched else { return "" }
        let tail = consoleText().split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
        var text = "--- last console lines (\(spec.consolePath.path)) ---\n\(tail)"
        if let log = hypervisorLogPath, let q = try? String(contentsOf: log, encoding: .utf8), !q.isEmpty {
            text += "\n--- QEMU (\(log.path)) ---\n\(q)"
        }
        return text
    }

    /// The server's ready line (from the manifest) on the serial console, then a PONG through
    /// the forwarded port. The console line comes first because probing a forwarded port before
    /// the guest listens makes QEMU's user networking accept on the host side and stall; each
    /// PING is bounded (2 s) so a stalled forward cannot outlast the deadline by much.
    func waitReady(until deadline: Date) throws {
        while !consoleText().contains(spec.readyLine) {
            if let ended = endedStatus() {
                throw RunnerError("the guest ended (\(ended)) before the server was ready\n\(failureDetails())")
            }
            guard Date() < deadline else { throw VMNotReady(summary: "no \"\(spec.readyLine)\" line on the console") }
            usleep(10_000)
        }
        while !Loopback.ping(port: spec.hostPort) {
            if let ended = endedStatus() {
                throw RunnerError("the guest ended (\(ended)) before answering PING\n\(failureDetails())")
            }
            guard Date() < deadline else {
                throw VMNotReady(summary: "no PONG through 127.0.0.1:\(spec.hostPort) (forwarded to the guest's port \(spec.guestPort))")
            }
            usleep(50_000)
        }
    }
}
