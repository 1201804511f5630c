/// A directive with the type the server reads it as: `config[.port]` is an `Int`,
/// `config[.requirePass]` a `String`. Values are stored normalised (validated when set), so
/// reading cannot fail; the names are the table's (Directives.swift), in one place.
public struct Setting<Value>: Sendable {
    public let name: String
    let read: @Sendable (String) -> Value

    init(_ name: String, read: @escaping @Sendable (String) -> Value) {
        self.name = name
        self.read = read
    }
}

extension Setting where Value == Int {
    /// Integer and byte-count directives (byte counts are stored as plain numbers).
    init(_ name: String) { self.init(name) { Int($0) ?? 0 } }

    public static var aclLogMaxLen: Self { .init("acllog-max-len") }
    public static var port: Self { .init("port") }
    public static var databases: Self { .init("databases") }
    public static var maxClients: Self { .init("maxclients") }
    public static var timeout: Self { .init("timeout") }
    public static var tcpKeepalive: Self { .init("tcp-keepalive") }
    public static var tcpBacklog: Self { .init("tcp-backlog") }
    public static var ioThreads: Self { .init("io-threads") }
    public static var hz: Self { .init("hz") }
    public static var protoMaxBulkLen: Self { .init("proto-max-bulk-len") }
    public static var clientQueryBufferLimit: Self { .init("client-query-buffer-limit") }
    /// Redis takes any 64-bit byte count; beyond `Int.max` it is as good as no limit.
    public static var maxMemory: Self { .init("maxmemory") { Int(clamping: UInt64($0) ?? 0) } }
    /// Redis takes negative delays too (a busy wait of that many nanoseconds); Swiftlet's save
    /// loops sleep whole microseconds, so below zero is no delay.
    public static var rdbKeySaveDelay: Self { .init("rdb-key-save-delay") { max(0, Int($0) ?? 0) } }
    public static var appendFsyncMaxUnsynced: Self { .init("appendfsync-max-unsynced") }
    public static var autoAOFRewritePercentage: Self { .init("auto-aof-rewrite-percentage") }
    public static var autoAOFRewriteMinSize: Self { .init("auto-aof-rewrite-min-size") }
    public static var replDisklessSyncDelay: Self { .init("repl-diskless-sync-delay") }
    public static var replDisklessSyncMaxReplicas: Self { .init("repl-diskless-sync-max-replicas") }
    public static var replBacklogSize: Self { .init("repl-backlog-size") }
    public static var replBacklogTTL: Self { .init("repl-backlog-ttl") }
    public static var replTimeout: Self { .init("repl-timeout") }
    public static var replPingReplicaPeriod: Self { .init("repl-ping-replica-period") }
    public static var minReplicasToWrite: Self { .init("min-replicas-to-write") }
    public static var minReplicasMaxLag: Self { .init("min-replicas-max-lag") }
    public static var replicaPriority: Self { .init("replica-priority") }
    public static var maxMemorySamples: Self { .init("maxmemory-samples") }
    public static var maxMemoryEvictionTenacity: Self { .init("maxmemory-eviction-tenacity") }
    public static var lfuLogFactor: Self { .init("lfu-log-factor") }
    public static var lfuDecayTime: Self { .init("lfu-decay-time") }
    public static var slowlogLogSlowerThan: Self { .init("slowlog-log-slower-than") }
    public static var slowlogMaxLen: Self { .init("slowlog-max-len") }
    public static var latencyMonitorThreshold: Self { .init("latency-monitor-threshold") }
    public static var httpPort: Self { .init("http-port") }
    public static var keyspaceShards: Self { .init("keyspace-shards") }
}

extension Setting where Value == Bool {
    init(_ name: String) { self.init(name) { $0 == "yes" } }

    public static var rdbCompression: Self { .init("rdbcompression") }
    public static var rdbChecksum: Self { .init("rdbchecksum") }
    public static var stopWritesOnBgsaveError: Self { .init("stop-writes-on-bgsave-error") }
    public static var appendOnly: Self { .init("appendonly") }
    public static var aofLoadTruncated: Self { .init("aof-load-truncated") }
    public static var noAppendfsyncOnRewrite: Self { .init("no-appendfsync-on-rewrite") }
    public static var replicaReadOnly: Self { .init("replica-read-only") }
    public static var replicaServeStaleData: Self { .init("replica-serve-stale-data") }
    public static var replDisklessSync: Self { .init("repl-diskless-sync") }
    public static var replicaIgnoreMaxMemory: Self { .init("replica-ignore-maxmemory") }
    public static var latencyTracking: Self { .init("latency-tracking") }
}

extension Setting where Value == String {
    init(_ name: String) { self.init(name) { $0 } }

    public static var bind: Self { .init("bind") }
    public static var requirePass: Self { .init("requirepass") }
    public static var aclFile: Self { .init("aclfile") }
    public static var aclPubsubDefault: Self { .init("acl-pubsub-default") }
    public static var logLevel: Self { .init("loglevel") }
    public static var logFile: Self { .init("logfile") }
    public static var dir: Self { .init("dir") }
    public static var dbFilename: Self { .init("dbfilename") }
    public static var maxMemoryPolicy: Self { .init("maxmemory-policy") }
    public static var appendFsync: Self { .init("appendfsync") }
    public static var appendFilename: Self { .init("appendfilename") }
    public static var appendDirname: Self { .init("appenddirname") }
    public static var replicaOf: Self { .init("replicaof") }
    public static var masterAuth: Self { .init("masterauth") }
    public static var masterUser: Self { .init("masteruser") }
    public static var replDisklessLoad: Self { .init("repl-diskless-load") }
    public static var latencyTrackingInfoPercentiles: Self { .init("latency-tracking-info-percentiles") }
    public static var httpBind: Self { .init("http-bind") }
    public static var notifyKeyspaceEvents: Self { .init("notify-keyspace-events") }
    /// `yes`, `no` or `log`.
    public static var seccomp: Self { .init("seccomp") }
}

/// The client classes of `client-output-buffer-limit` (Redis still spells the replica class
/// `slave` there).
public enum ClientClass: String, Sendable {
    case normal
    case replica = "slave"
    case pubsub
}
