import CSwiftletHost
import Foundation

/// Widens the listen backlog of QEMU's user-mode port forward.
///
/// libslirp's `tcp_listen` listens on the forwarded host port with a backlog of 1. When a client
/// such as redis-benchmark opens 50 connections at once, the host kernel drops most of the SYNs;
/// those clients retry after 1, 3, 7 ... seconds, and a benchmark stalls (measured: whole
/// redis-benchmark runs waiting for minutes on connections that never got through). The runner
/// therefore takes a duplicate of QEMU's listening descriptor (pidfd_getfd) and calls `listen`
/// again with Redis's own default backlog; nothing else about the socket changes.
enum ForwardBacklog {
    static let backlog: Int32 = 511

    /// Finds QEMU's socket listening on 127.0.0.1:`port` and re-listens it with `backlog`.
    static func widen(pid: Int32, port: Int) throws {
        guard let inode = listeningInode(port: port) else {
            throw RunnerError("no socket listens on 127.0.0.1:\(port)")
        }
        let fdDirectory = "/proc/\(pid)/fd"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
            guard let fd = Int32(entry),
                  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(entry)"),
                  target == "socket:[\(inode)]" else { continue }
            guard swiftlet_relisten(pid, fd, backlog) == 0 else {
                throw RunnerError("cannot widen the backlog of QEMU's port forward: \(String(cString: strerror(errno)))")
            }
            return
        }
        throw RunnerError("QEMU (pid \(pid)) holds no descriptor for the socket listening on 127.0.0.1:\(port)")
    }

    /// The inode of the IPv4 socket in LISTEN state on 127.0.0.1:`port`, from /proc/net/tcp.
    static func listeningInode(port: Int) -> String? {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return nil }
        let local = "0100007F:" + String(format: "%04X", port)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            if fields.count > 9, fields[1] == local, fields[3] == "0A" { return String(fields[9]) }
        }
        return nil
    }
}
