import Foundation

/// A minimal QMP (QEMU Machine Protocol) client over QEMU's Unix socket: JSON objects, one per
/// line. Enough for what the runner asks: `query-cpus-fast` (vCPU thread ids) and `quit`.
final class QMPClient {
    private let fd: Int32
    private var pending = Data()

    /// Connects (retrying while QEMU creates the socket) and negotiates capabilities.
    init(socketPath: String, timeout: TimeInterval = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var connected: Int32 = -1
        while connected < 0 {
            let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard s >= 0 else { throw RunnerError("QMP: socket: \(String(cString: strerror(errno)))") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let pathBytes = Array(socketPath.utf8)
            guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                close(s)
                throw RunnerError("QMP socket path too long: \(socketPath)")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: pathBytes)
                raw[pathBytes.count] = 0
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if result == 0 {
                connected = s
            } else {
                close(s)
                guard Date() < deadline else { throw RunnerError("QMP: cannot connect to \(socketPath): \(String(cString: strerror(errno)))") }
                usleep(20_000)
            }
        }
        fd = connected
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = try readMessage()                       // the greeting
        _ = try execute("qmp_capabilities")
    }

    deinit { close(fd) }

    /// Runs a command and returns its `return` value; throws QEMU's error description.
    func execute(_ command: String, arguments: [String: Any]? = nil) throws -> Any {
        var message: [String: Any] = ["execute": command]
        if let arguments { message["arguments"] = arguments }
        var bytes = try JSONSerialization.data(withJSONObject: message)
        bytes.append(contentsOf: [13, 10])
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                guard n > 0 else { throw RunnerError("QMP: write failed: \(String(cString: strerror(errno)))") }
                offset += n
            }
        }
        while true {
            let reply = try readMessage()
            if reply["event"] != nil { continue }   // asynchronous events interleave with replies
            if let error = reply["error"] as? [String: Any] {
                throw RunnerError("QMP \(command): \(error["desc"] ?? error)")
            }
            return reply["return"] ?? [:]
        }
    }

    /// vCPU index → host thread id.
    func vcpuThreads() throws -> [Int: Int] {
        guard let cpus = try execute("query-cpus-fast") as? [[String: Any]] else {
            throw RunnerError("QMP query-cpus-fast: unexpected reply")
        }
        var threads: [Int: Int] = [:]
        for cpu in cpus {
            if let index = cpu["cpu-index"] as? Int, let tid = cpu["thread-id"] as? Int { threads[index] = tid }
        }
        return threads
    }

    private func readMessage() throws -> [String: Any] {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                guard !line.allSatisfy({ $0 == 13 || $0 == 32 }) else { continue }
                guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw RunnerError("QMP: not a JSON object: \(String(decoding: line, as: UTF8.self))")
                }
                return object
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { throw RunnerError(n == 0 ? "QMP: QEMU closed the connection" : "QMP: read failed: \(String(cString: strerror(errno)))") }
            pending.append(contentsOf: buffer[0..<n])
        }
    }
}
