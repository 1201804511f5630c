import NIOCore

/// What kind of value a directive takes; decides how it is parsed, validated and printed.
enum DirectiveType: Sendable, Equatable {
    case integer(min: Int, max: Int)
    /// Byte counts with Redis's units (1k = 1000, 1kb = 1024, mb, gb, ...).
    case memory
    case bool
    case string
    case oneOf([String])
    /// Free-form multi-word value (save, client-output-buffer-limit, bind), checked by `validate`.
    case words
}

/// One row of the configuration table.
struct Directive: Sendable {
    let name: String
    let type: DirectiveType
    let defaultValue: String
    /// May CONFIG SET change it while running?
    let mutable: Bool
    /// Extra validation: returns an error message for a bad value.
    let validate: (@Sendable (String) -> String?)?

    init(_ name: String, _ type: DirectiveType, _ defaultValue: String, mutable: Bool = true,
         validate: (@Sendable (String) -> String?)? = nil) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.mutable = mutable
        self.validate = validate
    }
}

extension Config {
    /// Every directive Swiftlet takes, with its type, default and whether CONFIG SET may change it.
    static let directives: [Directive] = [
        Directive("port", .integer(min: 0, max: 65535), "6379", mutable: false),
        Directive("bind", .words, "* -::*", mutable: false),
        Directive("requirepass", .string, ""),
        Directive("databases", .integer(min: 1, max: 1_000_000), "16", mutable: false),
        Directive("maxclients", .integer(min: 1, max: 1_000_000), "10000"),
        Directive("timeout", .integer(min: 0, max: Int(Int32.max)), "0"),
        Directive("tcp-keepalive", .integer(min: 0, max: Int(Int32.max)), "300"),
        Directive("tcp-backlog", .integer(min: 0, max: Int(Int32.max)), "511", mutable: false),
        Directive("loglevel", .oneOf(["debug", "verbose", "notice", "warning", "nothing"]), "notice"),
        Directive("logfile", .string, "", mutable: false),
        Directive("dir", .string, "", mutable: true),
        Directive("dbfilename", .string, "dump.rdb", validate: { $0.contains("/") ? "dbfilename can't be a path, just a filename" : nil }),
        Directive("save", .words, "3600 1 300 100 60 10000", validate: Config.validateSave),
        Directive("io-threads", .integer(min: 1, max: 128), String(System.coreCount), mutable: false),
        Directive("proto-max-bulk-len", .memory, "536870912"),
        Directive("client-query-buffer-limit", .memory, "1073741824"),
        Directive("client-output-buffer-limit", .words,
                  "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
                  validate: Config.validateOutputLimits),
        Directive("hz", .integer(min: 1, max: 500), "10"),
        // The append-only file (Server/AppendOnly.swift, Docs/persistence.md). `bounded` and
        // `appendfsync-max-unsynced` are Swiftlet's own: replies may leave before the sync, but
        // never more than N acknowledged writes are un-synced.
        Directive("appendonly", .bool, "no"),
        Directive("appendfsync", .oneOf(["always", "everysec", "no", "bounded"]), "everysec"),
        Directive("appendfsync-max-unsynced", .integer(min: 1, max: 1_000_000), "2"),
        Directive("appendfilename", .string, "appendonly.aof", mutable: false,
                  validate: { $0.contains("/") ? "appendfilename can't be a path, just a filename" : nil }),
        Directive("appenddirname", .string, "appendonlydir", mutable: false,
                  validate: { $0.contains("/") ? "appenddirname can't be a path, just a dirname" : nil }),
        Directive("aof-load-truncated", .bool, "yes"),
        // The base is always an RDB here; a base of commands is not written (yet).
        Directive("aof-use-rdb-preamble", .bool, "yes",
                  validate: { $0 == "no" ? "aof-use-rdb-preamble no is not supported: Swiftlet writes the AOF base as an RDB (it loads either kind)" : nil }),
        Directive("auto-aof-rewrite-percentage", .integer(min: 0, max: Int(Int32.max)), "100"),
        Directive("auto-aof-rewrite-min-size", .memory, "67108864"),
        Directive("no-appendfsync-on-rewrite", .bool, "no"),
        Directive("daemonize", .bool, "no", mutable: false),
        Directive("protected-mode", .bool, "yes"),
        Directive("maxmemory", .memory, "0"),
        Directive("maxmemory-policy", .oneOf(["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                               "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]), "noeviction"),
        // Eviction (Commands/Eviction.swift, Docs/configuration.md "Memory limit").
        Directive("maxmemory-samples", .integer(min: 1, max: Int(Int32.max)), "5"),
        Directive("maxmemory-eviction-tenacity", .integer(min: 0, max: 100), "10"),
        Directive("lfu-log-factor", .integer(min: 0, max: Int(Int32.max)), "10"),
        Directive("lfu-decay-time", .integer(min: 0, max: Int(Int32.max)), "1"),
        Directive("replica-ignore-maxmemory", .bool, "yes"),
        Directive("rdbcompression", .bool, "yes"),
        Directive("rdbchecksum", .bool, "yes"),
        // Test aid from Redis: microseconds to sleep after each key a save writes, so tests can
        // observe a save in progress.
        Directive("rdb-key-save-delay", .integer(min: 0, max: 10_000_000), "0"),
        Directive("stop-writes-on-bgsave-error", .bool, "yes"),
        Directive("lazyfree-lazy-user-flush", .bool, "no"),
        Directive("pidfile", .string, "", mutable: false),
        Directive("supervised", .oneOf(["no", "upstart", "systemd", "auto"]), "no", mutable: false),
        Directive("active-expire-effort", .integer(min: 1, max: 10), "1"),
        Directive("slowlog-log-slower-than", .integer(min: -1, max: Int.max), "10000"),
        Directive("slowlog-max-len", .integer(min: 0, max: Int(Int32.max)), "128"),
        Directive("latency-monitor-threshold", .integer(min: 0, max: Int.max), "0"),
        // Per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).
        Directive("latency-tracking", .bool, "yes"),
        // Swiftlet's own: the HTTP endpoint (/health, /metrics; Server/HTTPEndpoint.swift), off at 0.
        Directive("http-port", .integer(min: 0, max: 65535), "0", mutable: false),
        Directive("http-bind", .string, "127.0.0.1", mutable: false),
        // Swiftlet's own: the keyspace's shard locks (a power of two up to 64; Docs/design.md).
        Directive("keyspace-shards", .integer(min: 1, max: 64), "64", mutable: false,
                  validate: { v in Int(v).flatMap { $0 & ($0 - 1) == 0 ? nil : "keyspace-shards must be a power of two between 1 and 64" } }),
        Directive("latency-tracking-info-percentiles", .words, "50 99 99.9", validate: Config.validatePercentiles),
        Directive("notify-keyspace-events", .string, ""),
        Directive("list-max-listpack-size", .integer(min: Int(Int32.min), max: Int(Int32.max)), "-2"),
        Directive("hash-max-listpack-entries", .integer(min: 0, max: Int.max), "128"),
        Directive("set-max-intset-entries", .integer(min: 0, max: Int.max), "512"),
        Directive("zset-max-listpack-entries", .integer(min: 0, max: Int.max), "128"),
        // Replication (Server/Replication*.swift, Docs/replication.md). `replicaof` changes at
        // run time only through REPLICAOF, as in Redis.
        Directive("replicaof", .words, "", mutable: false, validate: Config.validateReplicaOf),
        Directive("masterauth", .string, ""),
        Directive("masteruser", .string, ""),
        Directive("replica-read-only", .bool, "yes"),
        Directive("replica-serve-stale-data", .bool, "yes"),
        Directive("replica-priority", .integer(min: 0, max: Int(Int32.max)), "100"),
        Directive("repl-diskless-sync", .bool, "yes"),
        Directive("repl-diskless-sync-delay", .integer(min: 0, max: Int(Int32.max)), "5"),
        Directive("repl-diskless-sync-max-replicas", .integer(min: 0, max: Int(Int32.max)), "0"),
        Directive("repl-diskless-load", .oneOf(["disabled", "on-empty-db", "swapdb"]), "disabled"),
        Directive("repl-backlog-size", .memory, "1048576",
                  validate: { (Int($0) ?? 0) < 1 ? "argument must be a memory value" : nil }),
        Directive("repl-backlog-ttl", .integer(min: 0, max: Int(Int32.max)), "3600"),
        Directive("repl-timeout", .integer(min: 1, max: Int(Int32.max)), "60"),
        Directive("repl-ping-replica-period", .integer(min: 1, max: Int(Int32.max)), "10"),
        Directive("min-replicas-to-write", .integer(min: 0, max: Int(Int32.max)), "0"),
        Directive("min-replicas-max-lag", .integer(min: 0, max: Int(Int32.max)), "10"),
        Directive("always-show-logo", .bool, "no", mutable: false),
        Directive("enable-debug-command", .oneOf(["yes", "no", "local"]), "local", mutable: false),
    ]
    static let byName: [String: Directive] = Dictionary(uniqueKeysWithValues: directives.map { ($0.name, $0) })
    /// Names Redis accepts as aliases.
    static let aliases: [String: String] = ["hash-max-ziplist-entries": "hash-max-listpack-entries",
                                            "zset-max-ziplist-entries": "zset-max-listpack-entries",
                                            "list-max-ziplist-size": "list-max-listpack-size",
                                            "slaveof": "replicaof",
                                            "slave-read-only": "replica-read-only",
                                            "slave-serve-stale-data": "replica-serve-stale-data",
                                            "slave-priority": "replica-priority",
                                            "slave-ignore-maxmemory": "replica-ignore-maxmemory",
                                            "repl-ping-slave-period": "repl-ping-replica-period",
                                            "min-slaves-to-write": "min-replicas-to-write",
                                            "min-slaves-max-lag": "min-replicas-max-lag"]
}
