import CSwiftletHost
import Foundation

/// A child process that cannot outlive this one (parent-death signal): QEMU under `swiftlet run`,
/// and the servers that `swiftlet bench` starts beside the VM.
public final class TiedProcess {
    public let pid: pid_t
    private var status: Int32?

    /// Starts `argv` (argv[0] looked up on PATH) with output to `logPath`.
    public init(_ argv: [String], logPath: URL) throws {
        guard let program = argv[0].contains("/") ? argv[0] : TiedProcess.findProgram(argv[0]) else {
            throw RunnerError("\(argv[0]) not found on PATH")
        }
        let fd = open(logPath.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { if fd >= 0 { close(fd) } }
        pid = TiedProcess.spawn([program] + argv.dropFirst(), outputFD: fd)
        guard pid > 0 else { throw RunnerError("cannot start \(program): \(String(cString: strerror(errno)))") }
    }

    deinit { stop() }

    /// The exit code once it has exited normally (nil while running or when killed by a signal).
    public var exitCode: Int32? {
        guard !isRunning, let status, status & 0x7f == 0 else { return nil }
        return (status >> 8) & 0xff
    }

    public var isRunning: Bool {
        guard status == nil else { return false }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid { status = s; return false }
        return true
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    public func stop(grace: TimeInterval = 10) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while isRunning && Date() < deadline { usleep(20_000) }
        if isRunning {
            kill(pid, SIGKILL)
            var s: Int32 = 0
            waitpid(pid, &s, 0)
            status = s
        }
    }

    /// Starts `argv` (argv[0] a path) in its own process group with a parent-death signal, stdout
    /// and stderr to `outputFD`; the pid, or -1 with errno set.
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
}
