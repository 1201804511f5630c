/// Versions reported to clients.
public enum SwiftletVersion {
    public static let server = "0.1.0"
    /// The Redis version whose behaviour Swiftlet follows; INFO and HELLO report it as
    /// `redis_version` so clients enable the right features.
    public static let redisCompat = "7.0.15"
}

/// Log lines other programs wait for.
public enum ServerLog {
    /// Logged (as "Ready to accept connections tcp on host:port", like Redis 7) once the server
    /// listens. An appliance's runner waits for it on the serial console before it touches the
    /// forwarded port; image manifests record it.
    public static let ready = "Ready to accept connections"
}
