import Foundation

/// The host side of a guest's forwarded port: 127.0.0.1 sockets for checking, probing and
/// stopping a server, without a client library.
public enum Loopback {
    /// A TCP socket and the address 127.0.0.1:`port` for `body`; the socket is closed after.
    /// Nil when no socket could be made.
    private static func withSocket<R>(port: Int, _ body: (Int32, UnsafeMutablePointer<sockaddr>, socklen_t) -> R) -> R? {
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
        guard withSocket(port: port, { bind($0, $1, $2) }) == 0 else {
            throw RunnerError("port 127.0.0.1:\(port) is not available (\(String(cString: strerror(errno)))): choose another with --port")
        }
    }

    /// A loopback port the kernel says is free right now (port 0 bound, then asked).
    public static func freePort() -> Int {
        withSocket(port: 0) { s, address, size in
            var length = size
            guard bind(s, address, length) == 0, getsockname(s, address, &length) == 0 else { return 0 }
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        } ?? 0
    }

    /// One inline command over RESP; returns the first reply line (nil on any failure, or when
    /// nothing came within `timeout` seconds).
    static func call(port: Int, _ command: String, timeout: Int = 2) -> String? {
        withSocket(port: port) { s, address, size -> String? in
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
