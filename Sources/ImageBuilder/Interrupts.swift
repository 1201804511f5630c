import Dispatch
import Foundation

/// What an interrupted build (Ctrl-C, SIGTERM) must clean up.
///
/// Foundation's `Process` starts every child in a process group of its own, so the terminal's
/// SIGINT never reaches a running `make -j` or `swift build`: left alone they would go on for
/// minutes after the tool is gone, and the kernel's multi-gigabyte work tree would stay in /tmp.
/// On SIGINT or SIGTERM the tool terminates the children's groups, removes registered temporary
/// paths, and exits with 128 + the signal.
public final class Interrupts: @unchecked Sendable {
    public static let shared = Interrupts()

    private let lock = NSLock()
    private var children: Set<Int32> = []
    private var paths: Set<String> = []
    private var sources: [DispatchSourceSignal] = []

    /// Installs the SIGINT and SIGTERM handlers (the CLI calls this once).
    public func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in interrupted(by: sig) }
            source.resume()
            lock.withLock { sources.append(source) }
        }
    }

    func register(child pid: Int32) { _ = lock.withLock { children.insert(pid) } }
    func unregister(child pid: Int32) { _ = lock.withLock { children.remove(pid) } }
    func register(temporary path: String) { _ = lock.withLock { paths.insert(path) } }
    func unregister(temporary path: String) { _ = lock.withLock { paths.remove(path) } }

    private func interrupted(by sig: Int32) -> Never {
        let (pids, temporaries) = lock.withLock { (children, paths) }
        for pid in pids { kill(-pid, SIGTERM) }
        // Give `make` a moment to stop writing into the tree before it is removed.
        if !pids.isEmpty { usleep(300_000) }
        for path in temporaries { try? FileManager.default.removeItem(atPath: path) }
        FileHandle.standardError.write(Data("interrupted: stopped the build and removed its temporary files\n".utf8))
        exit(128 + sig)
    }
}
