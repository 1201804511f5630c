import NIOCore

/// What kind of value a directive takes; decides how it is parsed, validated, printed by
/// CONFIG GET and written by CONFIG REWRITE. The kinds are Redis 7.0's (config.c): each parses
/// and words its errors as redis-server does.
enum DirectiveType: Sendable, Equatable {
    /// `yes` / `no`.
    case bool
    /// A whole number in `min...max` (Redis's `string2ll`).
    case integer(min: Int, max: Int)
    /// A byte count with Redis's units (1k = 1000, 1kb = 1024, mb, gb, ...) in `min...max`;
    /// CONFIG REWRITE writes it back in the largest whole unit (`100mb`).
    case memory(min: UInt64, max: UInt64)
    /// A byte count, or a percentage written `N%` (stored as "N%"); only `maxmemory-clients`.
    case memoryOrPercent(maxPercent: Int, max: UInt64)
    /// An octal number (`unixsocketperm`).
    case octal(min: Int, max: Int)
    /// One word of a fixed list (case-insensitive, stored lower-case).
    case oneOf([String])
    /// One or more words of a fixed list, in one argument (`shutdown-on-sigint "save now"`).
    case flags([String])
    /// Any single argument; an empty value is kept (and rewritten as `""`).
    case string
    /// Any single argument; empty means unset, and CONFIG REWRITE drops the directive.
    case optionalString
    /// A directive with rules of its own (see `Special`), parsed from all its words.
    case special(Special)
}

/// The directives whose values are not one plain word.
enum Special: Sendable, Equatable {
    case save, clientOutputBufferLimit, oomScoreAdjValues, notifyKeyspaceEvents, bind, replicaOf,
         latencyPercentiles, dir
}

/// Whether Swiftlet does what Redis documents for a directive. Every directive is one or the
/// other; Docs/configuration.md lists each with the same status (a unit test compares them).
enum DirectiveStatus: Sendable, Equatable {
    case supported
    /// Accepted, kept and reported by CONFIG GET, but it governs a part of Redis Swiftlet does
    /// differently; the reason is one short phrase (logged at start-up when the user set it).
    case noEffect(String)
}

/// One row of the configuration table.
struct Directive: Sendable {
    let name: String
    /// Older names that mean the same directive (`slave-read-only`, `hash-max-ziplist-entries`).
    let aliases: [String]
    let type: DirectiveType
    /// The value when nothing sets it, normalised (as CONFIG GET prints it).
    let defaultValue: String
    /// May CONFIG SET change it while running?
    let mutable: Bool
    /// Hidden directives (Redis's test aids) answer CONFIG GET only when named exactly.
    let hidden: Bool
    let status: DirectiveStatus
    /// A further check after the type's: the error message for a value Swiftlet refuses.
    let refuse: (@Sendable (String) -> String?)?

    init(_ name: String, _ type: DirectiveType, _ defaultValue: String, _ status: DirectiveStatus,
         aliases: [String] = [], immutable: Bool = false, hidden: Bool = false,
         refuse: (@Sendable (String) -> String?)? = nil) {
        self.name = name
        self.aliases = aliases
        self.type = type
        self.defaultValue = defaultValue
        self.mutable = !immutable
        self.hidden = hidden
        self.status = status
        self.refuse = refuse
    }
}

// Ranges of Redis's C types, as its messages print them.
private let intMax = Int(Int32.max)
private let intMin = Int(Int32.min)
private let longMax = Int.max
private let memoryMax = UInt64(Int.max)
/// `unsigned long long` directives (maxmemory): Redis takes any 64-bit byte count.
private let ullMax = UInt64.max
private let uintMax = Int(UInt32.max)

/// Shorthands for the table.
private let ok = DirectiveStatus.supported
private func none(_ why: String) -> DirectiveStatus { .noEffect(why) }
private let cluster = DirectiveStatus.noEffect("no cluster mode")
private let tls = DirectiveStatus.noEffect("no TLS listener yet")
private let defrag = DirectiveStatus.noEffect("no active defragmenter (not jemalloc)")
private let cpus = DirectiveStatus.noEffect("no forked children or bio threads to pin")
private let encodings = DirectiveStatus.noEffect("encodings use fixed thresholds")
private let lazyfree = DirectiveStatus.noEffect("values are freed where they are deleted")

extension Config {
    /// Every directive of Redis 7.0.15 (its `CONFIG GET *` plus the hidden test aids), plus
    /// Swiftlet's own `appendfsync-max-unsynced`, `http-port`, `http-bind`, `keyspace-shards` and `seccomp`. Types, ranges,
    /// defaults and mutability are Redis's unless a comment says why not; Docs/configuration.md
    /// explains each status.
    static let directives: [Directive] = [
        // MARK: Network and clients
        // `port` and `bind` are changeable at run time in Redis 7.0; Swiftlet binds its listeners
        // once, at start-up.
        Directive("port", .integer(min: 0, max: 65535), "6379", ok, immutable: true),
        Directive("bind", .special(.bind), "* -::*", ok, immutable: true),
        Directive("bind-source-addr", .optionalString, "", none("outgoing connections use the system's choice")),
        Directive("unixsocket", .optionalString, "", none("no Unix socket listener"), immutable: true),
        Directive("unixsocketperm", .octal(min: 0, max: 0o777), "0", none("no Unix socket listener"), immutable: true),
        // Swiftlet has no protected mode: `protected-mode yes` would promise that remote clients
        // are refused while no password is set, which Swiftlet does not do.
        Directive("protected-mode", .bool, "no", ok,
                  refuse: { $0 == "yes" ? "protected-mode yes is not supported: Swiftlet has no protected mode (bind to 127.0.0.1 or set requirepass instead)" : nil }),
        Directive("tcp-backlog", .integer(min: 0, max: intMax), "511", ok, immutable: true),
        Directive("tcp-keepalive", .integer(min: 0, max: intMax), "300", ok),
        Directive("socket-mark-id", .integer(min: 0, max: uintMax), "0", none("sockets are not marked"), immutable: true),
        Directive("timeout", .integer(min: 0, max: intMax), "0", ok),
        Directive("maxclients", .integer(min: 1, max: uintMax), "10000", ok),
        Directive("requirepass", .optionalString, "", ok),
        Directive("databases", .integer(min: 1, max: intMax), "16", ok, immutable: true),
        // Swiftlet's meaning: the number of event loops (default: one per core); reads and writes
        // always run on them, so `io-threads-do-reads` has nothing to switch.
        Directive("io-threads", .integer(min: 1, max: 128), String(System.coreCount), ok, immutable: true),
        Directive("io-threads-do-reads", .bool, "no", none("every event loop always reads and writes"), immutable: true),
        Directive("proto-max-bulk-len", .memory(min: 1024 * 1024, max: memoryMax), "536870912", ok),
        Directive("client-query-buffer-limit", .memory(min: 1024 * 1024, max: memoryMax), "1073741824", ok),
        Directive("client-output-buffer-limit", .special(.clientOutputBufferLimit),
                  "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", ok),
        Directive("maxmemory-clients", .memoryOrPercent(maxPercent: 100, max: memoryMax), "0", none("clients are not evicted")),
        Directive("tracking-table-max-keys", .integer(min: 0, max: longMax), "1000000", none("no client-side caching")),
        Directive("hz", .integer(min: 0, max: intMax), "10", ok),
        Directive("dynamic-hz", .bool, "yes", none("the expiry cycle runs at hz")),
        Directive("busy-reply-threshold", .integer(min: 0, max: longMax), "5000", none("no scripts or functions"),
                  aliases: ["lua-time-limit"]),

        // MARK: Process and logging
        Directive("daemonize", .bool, "no", none("runs in the foreground (an appliance has no terminal)"), immutable: true),
        Directive("supervised", .oneOf(["upstart", "systemd", "auto", "no"]), "no", none("no supervisor notifications"), immutable: true),
        Directive("pidfile", .optionalString, "", none("no pid file is written"), immutable: true),
        Directive("loglevel", .oneOf(["debug", "verbose", "notice", "warning"]), "notice", ok),
        Directive("logfile", .string, "", ok, immutable: true),
        Directive("syslog-enabled", .bool, "no", none("logs go to the log file or stdout"), immutable: true),
        Directive("syslog-ident", .string, "redis", none("logs go to the log file or stdout"), immutable: true),
        Directive("syslog-facility", .oneOf(["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]),
                  "local0", none("logs go to the log file or stdout"), immutable: true),
        Directive("crash-log-enabled", .bool, "yes", none("no crash report (Swift traps)")),
        Directive("crash-memcheck-enabled", .bool, "yes", none("no crash report (Swift traps)")),
        Directive("always-show-logo", .bool, "no", none("no ASCII logo"), immutable: true),
        Directive("set-proc-title", .bool, "yes", none("the process title is not changed"), immutable: true),
        Directive("proc-title-template", .string, "{title} {listen-addr} {server-mode}", none("the process title is not changed"),
                  refuse: Config.validateProcTitle),
        Directive("disable-thp", .bool, "yes", none("transparent huge pages are left as the system sets them"), immutable: true),
        Directive("oom-score-adj", .oneOf(["no", "yes", "relative", "absolute"]), "no", none("oom_score_adj is not changed")),
        Directive("oom-score-adj-values", .special(.oomScoreAdjValues), "0 200 800", none("oom_score_adj is not changed")),
        Directive("shutdown-on-sigint", .flags(["default", "save", "nosave", "now", "force"]), "default", none("SIGINT shuts down as by default")),
        Directive("shutdown-on-sigterm", .flags(["default", "save", "nosave", "now", "force"]), "default", none("SIGTERM shuts down as by default")),
        Directive("shutdown-timeout", .integer(min: 0, max: intMax), "10", none("shutdown does not wait for replicas")),
        Directive("ignore-warnings", .string, "", none("no start-up system warnings to silence")),
        Directive("enable-protected-configs", .oneOf(["no", "yes", "local"]), "no", none("dir and dbfilename are always settable"), immutable: true),
        Directive("enable-debug-command", .oneOf(["no", "yes", "local"]), "no", none("DEBUG is always available"), immutable: true),
        Directive("enable-module-command", .oneOf(["no", "yes", "local"]), "no", none("no modules"), immutable: true),
        Directive("jemalloc-bg-thread", .bool, "yes", none("not jemalloc")),
        Directive("server_cpulist", .optionalString, "", cpus, immutable: true),
        Directive("bio_cpulist", .optionalString, "", cpus, immutable: true),
        Directive("aof_rewrite_cpulist", .optionalString, "", cpus, immutable: true),
        Directive("bgsave_cpulist", .optionalString, "", cpus, immutable: true),

        // MARK: Snapshots
        Directive("save", .special(.save), "3600 1 300 100 60 10000", ok),
        Directive("dbfilename", .string, "dump.rdb", ok,
                  refuse: { $0.contains("/") ? "dbfilename can't be a path, just a filename" : nil }),
        Directive("dir", .special(.dir), "", ok),
        Directive("rdbcompression", .bool, "yes", ok),
        Directive("rdbchecksum", .bool, "yes", ok, immutable: true),
        Directive("stop-writes-on-bgsave-error", .bool, "yes", ok),
        Directive("rdb-save-incremental-fsync", .bool, "yes", none("snapshots are synced once, when complete")),
        Directive("rdb-del-sync-files", .bool, "no", none("diskless full syncs leave no files")),
        Directive("sanitize-dump-payload", .oneOf(["no", "yes", "clients"]), "no", none("no RESTORE")),
        // Test aid from Redis: microseconds to sleep after each key a save writes, so tests can
        // observe a save in progress.
        Directive("rdb-key-save-delay", .integer(min: intMin, max: intMax), "0", ok, hidden: true),
        Directive("key-load-delay", .integer(min: intMin, max: intMax), "0", none("loading is not slowed"), hidden: true),
        Directive("loading-process-events-interval-bytes", .integer(min: 1024, max: intMax), "2097152",
                  none("loading does not serve clients"), hidden: true),

        // MARK: Append-only file (Server/AppendOnly.swift, Docs/persistence.md)
        // `bounded` and `appendfsync-max-unsynced` are Swiftlet's own: replies may leave before
        // the sync, but never more than N acknowledged writes are un-synced.
        Directive("appendonly", .bool, "no", ok),
        Directive("appendfilename", .string, "appendonly.aof", ok, immutable: true, refuse: {
            $0.isEmpty ? "appendfilename can't be empty" : $0.contains("/") ? "appendfilename can't be a path, just a filename" : nil
        }),
        Directive("appenddirname", .string, "appendonlydir", ok, immutable: true, refuse: {
            $0.isEmpty ? "appenddirname can't be empty" : $0.contains("/") ? "appenddirname can't be a path, just a dirname" : nil
        }),
        Directive("appendfsync", .oneOf(["everysec", "always", "no", "bounded"]), "everysec", ok),
        Directive("appendfsync-max-unsynced", .integer(min: 1, max: 1_000_000), "2", ok),
        Directive("no-appendfsync-on-rewrite", .bool, "no", ok),
        Directive("auto-aof-rewrite-percentage", .integer(min: 0, max: intMax), "100", ok),
        Directive("auto-aof-rewrite-min-size", .memory(min: 0, max: memoryMax), "67108864", ok),
        Directive("aof-load-truncated", .bool, "yes", ok),
        // The base is always an RDB here; a base of commands is not written (yet).
        Directive("aof-use-rdb-preamble", .bool, "yes", ok,
                  refuse: { $0 == "no" ? "aof-use-rdb-preamble no is not supported: Swiftlet writes the AOF base as an RDB (it loads either kind)" : nil }),
        Directive("aof-rewrite-incremental-fsync", .bool, "yes", none("the rewrite's base is synced once, when complete")),
        Directive("aof-timestamp-enabled", .bool, "no", none("no timestamp annotations are written")),
        Directive("aof-disable-auto-gc", .bool, "no", none("history files are always deleted after a rewrite")),

        // MARK: Memory limit and eviction (Commands/Eviction.swift, Docs/memory.md)
        Directive("maxmemory", .memory(min: 0, max: ullMax), "0", ok),
        Directive("maxmemory-policy", .oneOf(["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                              "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]), "noeviction", ok),
        Directive("maxmemory-samples", .integer(min: 1, max: intMax), "5", ok),
        Directive("maxmemory-eviction-tenacity", .integer(min: 0, max: 100), "10", ok),
        Directive("lfu-log-factor", .integer(min: 0, max: intMax), "10", ok),
        Directive("lfu-decay-time", .integer(min: 0, max: intMax), "1", ok),
        Directive("replica-ignore-maxmemory", .bool, "yes", ok, aliases: ["slave-ignore-maxmemory"]),
        Directive("active-expire-effort", .integer(min: 1, max: 10), "1", none("the expiry cycle has a fixed effort")),
        Directive("activerehashing", .bool, "yes", none("Swift dictionaries grow in one step")),
        Directive("lazyfree-lazy-eviction", .bool, "no", lazyfree),
        Directive("lazyfree-lazy-expire", .bool, "no", lazyfree),
        Directive("lazyfree-lazy-server-del", .bool, "no", lazyfree),
        Directive("lazyfree-lazy-user-del", .bool, "no", lazyfree),
        Directive("lazyfree-lazy-user-flush", .bool, "no", lazyfree),
        // Redis refuses `activedefrag yes` unless built with its own jemalloc (as Debian's
        // redis-server is not); Swiftlet has no defragmenter either, so it refuses the same way.
        Directive("activedefrag", .bool, "no", defrag, refuse: {
            $0 == "yes" ? "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution" : nil
        }),
        Directive("active-defrag-ignore-bytes", .memory(min: 1, max: memoryMax), "104857600", defrag),
        Directive("active-defrag-threshold-lower", .integer(min: 0, max: 1000), "10", defrag),
        Directive("active-defrag-threshold-upper", .integer(min: 0, max: 1000), "100", defrag),
        Directive("active-defrag-cycle-min", .integer(min: 1, max: 99), "1", defrag),
        Directive("active-defrag-cycle-max", .integer(min: 1, max: 99), "25", defrag),
        Directive("active-defrag-max-scan-fields", .integer(min: 1, max: longMax), "1000", defrag),

        // MARK: Encodings (Keyspace/Value.swift: fixed thresholds, those of redis.conf)
        Directive("hash-max-listpack-entries", .integer(min: 0, max: longMax), "512", encodings, aliases: ["hash-max-ziplist-entries"]),
        Directive("hash-max-listpack-value", .memory(min: 0, max: memoryMax), "64", encodings, aliases: ["hash-max-ziplist-value"]),
        Directive("list-max-listpack-size", .integer(min: intMin, max: intMax), "-2", encodings, aliases: ["list-max-ziplist-size"]),
        Directive("list-compress-depth", .integer(min: 0, max: intMax), "0", encodings),
        Directive("set-max-intset-entries", .integer(min: 0, max: longMax), "512", encodings),
        Directive("zset-max-listpack-entries", .integer(min: 0, max: longMax), "128", encodings, aliases: ["zset-max-ziplist-entries"]),
        Directive("zset-max-listpack-value", .memory(min: 0, max: memoryMax), "64", encodings, aliases: ["zset-max-ziplist-value"]),
        Directive("hll-sparse-max-bytes", .memory(min: 0, max: memoryMax), "3000", none("no HyperLogLog")),
        Directive("stream-node-max-bytes", .memory(min: 0, max: memoryMax), "4096", none("no streams")),
        Directive("stream-node-max-entries", .integer(min: 0, max: longMax), "100", none("no streams")),

        // MARK: Observability
        // SLOWLOG, LATENCY and INFO latencystats (Server/Observability.swift, Docs/observability.md).
        Directive("slowlog-log-slower-than", .integer(min: -1, max: longMax), "10000", ok),
        Directive("slowlog-max-len", .integer(min: 0, max: longMax), "128", ok),
        Directive("latency-monitor-threshold", .integer(min: 0, max: longMax), "0", ok),
        Directive("latency-tracking", .bool, "yes", ok),
        Directive("latency-tracking-info-percentiles", .special(.latencyPercentiles), "50 99 99.9", ok),
        // Swiftlet's own: the HTTP endpoint (/health, /metrics; Server/HTTPEndpoint.swift), off at 0.
        Directive("http-port", .integer(min: 0, max: 65535), "0", ok, immutable: true),
        Directive("http-bind", .string, "127.0.0.1", ok, immutable: true),
        // Swiftlet's own: the keyspace's shard locks (a power of two up to 64, one bit each in a
        // command's lock mask; Docs/design.md, Docs/benchmarks.md "Tuning knobs").
        Directive("keyspace-shards", .integer(min: 1, max: 64), "64", ok, immutable: true,
                  refuse: { v in Int(v).flatMap { $0 & ($0 - 1) == 0 ? nil : "keyspace-shards must be a power of two between 1 and 64" } }),
        // Swiftlet's own: the seccomp allowlist (Sources/CSwiftletSeccomp/allowlist.def), installed
        // once start-up has opened its listeners and files; `log` lets every call through and has
        // the kernel log those outside the list. A filter cannot be removed, hence start-up only.
        // Off by default on the host, on in the appliance recipes (Images/*.toml).
        Directive("seccomp", .oneOf(["yes", "no", "log"]), "no", ok, immutable: true),
        // Keyspace notifications (Commands/KeyspaceEvents.swift, Docs/observability.md).
        Directive("notify-keyspace-events", .special(.notifyKeyspaceEvents), "", ok),
        Directive("watchdog-period", .integer(min: 0, max: intMax), "0", none("no software watchdog"), hidden: true),
        Directive("use-exit-on-panic", .bool, "no", none("no panic handler"), hidden: true),

        // MARK: Scripting, ACL, modules
        Directive("aclfile", .string, "", ok, immutable: true),
        Directive("acllog-max-len", .integer(min: 0, max: longMax), "128", ok),
        Directive("acl-pubsub-default", .oneOf(["allchannels", "resetchannels"]), "resetchannels", ok),

        // MARK: Replication (Server/Replication*.swift, Docs/replication.md)
        // `replicaof` changes at run time only through REPLICAOF, as in Redis.
        Directive("replicaof", .special(.replicaOf), "", ok, aliases: ["slaveof"], immutable: true),
        Directive("masterauth", .optionalString, "", ok),
        Directive("masteruser", .optionalString, "", ok),
        Directive("replica-read-only", .bool, "yes", ok, aliases: ["slave-read-only"]),
        Directive("replica-serve-stale-data", .bool, "yes", ok, aliases: ["slave-serve-stale-data"]),
        Directive("replica-priority", .integer(min: 0, max: intMax), "100", ok, aliases: ["slave-priority"]),
        Directive("replica-announced", .bool, "yes", none("no Sentinel")),
        Directive("replica-announce-ip", .optionalString, "", none("the master sees the connection's address"), aliases: ["slave-announce-ip"]),
        Directive("replica-announce-port", .integer(min: 0, max: 65535), "0", none("the master sees the listening port"), aliases: ["slave-announce-port"]),
        Directive("replica-lazy-flush", .bool, "no", lazyfree, aliases: ["slave-lazy-flush"]),
        Directive("replica-ignore-disk-write-errors", .bool, "no", none("a replica does not persist the stream itself")),
        Directive("repl-diskless-sync", .bool, "yes", ok),
        Directive("repl-diskless-sync-delay", .integer(min: 0, max: intMax), "5", ok),
        Directive("repl-diskless-sync-max-replicas", .integer(min: 0, max: intMax), "0", ok),
        Directive("repl-diskless-load", .oneOf(["disabled", "on-empty-db", "swapdb"]), "disabled", ok),
        Directive("repl-disable-tcp-nodelay", .bool, "no", none("the replication link always sets TCP_NODELAY")),
        Directive("repl-backlog-size", .memory(min: 1, max: memoryMax), "1048576", ok),
        Directive("repl-backlog-ttl", .integer(min: 0, max: longMax), "3600", ok),
        Directive("repl-timeout", .integer(min: 1, max: intMax), "60", ok),
        Directive("repl-ping-replica-period", .integer(min: 1, max: intMax), "10", ok, aliases: ["repl-ping-slave-period"]),
        Directive("min-replicas-to-write", .integer(min: 0, max: intMax), "0", ok, aliases: ["min-slaves-to-write"]),
        Directive("min-replicas-max-lag", .integer(min: 0, max: intMax), "10", ok, aliases: ["min-slaves-max-lag"]),
        Directive("propagation-error-behavior", .oneOf(["ignore", "panic", "panic-on-replicas"]), "ignore",
                  none("a replica stops on a command it cannot apply")),

        // MARK: Cluster
        Directive("cluster-enabled", .bool, "no", cluster, immutable: true),
        Directive("cluster-config-file", .string, "nodes.conf", cluster, immutable: true),
        Directive("cluster-port", .integer(min: 0, max: 65535), "0", cluster, immutable: true),
        Directive("cluster-node-timeout", .integer(min: 0, max: longMax), "15000", cluster),
        Directive("cluster-replica-validity-factor", .integer(min: 0, max: intMax), "10", cluster, aliases: ["cluster-slave-validity-factor"]),
        Directive("cluster-migration-barrier", .integer(min: 0, max: intMax), "1", cluster),
        Directive("cluster-allow-replica-migration", .bool, "yes", cluster),
        Directive("cluster-require-full-coverage", .bool, "yes", cluster),
        Directive("cluster-replica-no-failover", .bool, "no", cluster, aliases: ["cluster-slave-no-failover"]),
        Directive("cluster-allow-reads-when-down", .bool, "no", cluster),
        Directive("cluster-allow-pubsubshard-when-down", .bool, "yes", cluster),
        Directive("cluster-announce-ip", .optionalString, "", cluster),
        Directive("cluster-announce-hostname", .optionalString, "", cluster, refuse: Config.validateHostname),
        Directive("cluster-announce-port", .integer(min: 0, max: 65535), "0", cluster),
        Directive("cluster-announce-bus-port", .integer(min: 0, max: 65535), "0", cluster),
        Directive("cluster-announce-tls-port", .integer(min: 0, max: 65535), "0", cluster),
        Directive("cluster-preferred-endpoint-type", .oneOf(["ip", "hostname", "unknown-endpoint"]), "ip", cluster),
        Directive("cluster-link-sendbuf-limit", .memory(min: 0, max: ullMax), "0", cluster),

        // MARK: TLS
        Directive("tls-port", .integer(min: 0, max: 65535), "0", tls),
        Directive("tls-cert-file", .optionalString, "", tls),
        Directive("tls-key-file", .optionalString, "", tls),
        Directive("tls-key-file-pass", .optionalString, "", tls),
        Directive("tls-client-cert-file", .optionalString, "", tls),
        Directive("tls-client-key-file", .optionalString, "", tls),
        Directive("tls-client-key-file-pass", .optionalString, "", tls),
        Directive("tls-dh-params-file", .optionalString, "", tls),
        Directive("tls-ca-cert-file", .optionalString, "", tls),
        Directive("tls-ca-cert-dir", .optionalString, "", tls),
        Directive("tls-protocols", .optionalString, "", tls),
        Directive("tls-ciphers", .optionalString, "", tls),
        Directive("tls-ciphersuites", .optionalString, "", tls),
        Directive("tls-prefer-server-ciphers", .bool, "no", tls),
        Directive("tls-auth-clients", .oneOf(["no", "yes", "optional"]), "yes", tls),
        Directive("tls-replication", .bool, "no", tls),
        Directive("tls-cluster", .bool, "no", tls),
        Directive("tls-session-caching", .bool, "yes", tls),
        Directive("tls-session-cache-size", .integer(min: 0, max: intMax), "20480", tls),
        Directive("tls-session-cache-timeout", .integer(min: 0, max: intMax), "300", tls),
    ]

    static let byName: [String: Directive] = Dictionary(uniqueKeysWithValues: directives.map { ($0.name, $0) })

    /// Old names, each to the directive it stands for.
    static let aliases: [String: String] = Dictionary(uniqueKeysWithValues: directives.flatMap { d in d.aliases.map { ($0, d.name) } })

    /// Directives Redis 7.0 still reads from a config file but ignores (each with its number of
    /// arguments); Swiftlet takes them too, and says at start-up that they have no effect.
    static let deprecatedDirectives: [String: Int] = ["list-max-ziplist-entries": 1, "list-max-ziplist-value": 1,
                                                      "lua-replicate-commands": 1]
}
