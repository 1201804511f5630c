/// Versions reported to clients.
public enum SwiftletVersion {
    public static let server = "0.1.0"
    /// The Redis version whose behaviour Swiftlet follows; INFO and HELLO report it as
    /// `redis_version` so clients enable the right features.
    public static let redisCompat = "7.0.15"
}
