import Atomics
import NIOConcurrencyHelpers
import NIOCore
import RESP

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

/// A configuration error, formatted for a human the way redis-server reports it.
public struct ConfigError: Error, CustomStringConvertible {
    public let source: String
    public let line: Int
    public let text: String
    public let reason: String
    public var description: String {
        """
        *** FATAL CONFIG FILE ERROR (Swiftlet \(SwiftletVersion.server), Redis \(SwiftletVersion.redisCompat) compatible) ***
        Reading the configuration file \(source), at line \(line)
        >>> '\(text)'
        \(reason)
        """
    }
}

/// The server's configuration: the directive table (data) and the current values.
///
/// Values are kept as normalised strings (what CONFIG GET prints) and read through typed
/// accessors. Thread-safe: CONFIG SET may run on any event loop.
public final class Config: Sendable {
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
        Directive("appendonly", .bool, "no"),
        Directive("appendfsync", .oneOf(["always", "everysec", "no"]), "everysec"),
        Directive("appendfilename", .string, "appendonly.aof", mutable: false),
        Directive("daemonize", .bool, "no", mutable: false),
        Directive("protected-mode", .bool, "yes"),
        Directive("maxmemory", .memory, "0"),
        Directive("maxmemory-policy", .oneOf(["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu",
                                               "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"]), "noeviction"),
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
        Directive("notify-keyspace-events", .string, ""),
        Directive("list-max-listpack-size", .integer(min: Int(Int32.min), max: Int(Int32.max)), "-2"),
        Directive("hash-max-listpack-entries", .integer(min: 0, max: Int.max), "128"),
        Directive("set-max-intset-entries", .integer(min: 0, max: Int.max), "512"),
        Directive("zset-max-listpack-entries", .integer(min: 0, max: Int.max), "128"),
        Directive("replica-read-only", .bool, "yes"),
        Directive("always-show-logo", .bool, "no", mutable: false),
        Directive("enable-debug-command", .oneOf(["yes", "no", "local"]), "local", mutable: false),
    ]
    static let byName: [String: Directive] = Dictionary(uniqueKeysWithValues: directives.map { ($0.name, $0) })
    /// Names Redis accepts as aliases.
    static let aliases: [String: String] = ["hash-max-ziplist-entries": "hash-max-listpack-entries",
                                            "zset-max-ziplist-entries": "zset-max-listpack-entries",
                                            "list-max-ziplist-size": "list-max-listpack-size"]

    private let values: NIOLockedValueBox<[String: String]>
    /// Bumped by every change, so hot paths can cache derived values and notice staleness with one
    /// atomic load instead of re-reading (and re-parsing) the configuration per request.
    public let generation = ManagedAtomic<Int>(0)
    /// The file the configuration came from, for CONFIG REWRITE.
    public let configFile: String?

    public init(configFile: String? = nil) {
        var v: [String: String] = [:]
        for d in Config.directives { v[d.name] = d.defaultValue }
        values = NIOLockedValueBox(v)
        self.configFile = configFile
    }

    /// Builds the configuration from `redis-server`-style arguments: an optional config file
    /// path first, then `--directive value ...` pairs, which override the file (Redis appends
    /// them to the file's text; errors name the line in that combined text).
    public static func load(arguments: [String], readFile: (String) throws -> String) throws -> Config {
        var args = arguments[...]
        var file: String? = nil
        var lines: [(source: String, line: Int, text: String)] = []
        if let first = args.first, !first.hasPrefix("--") {
            file = first
            args = args.dropFirst()
            let text: String
            do { text = try readFile(first) } catch {
                throw ConfigError(source: first, line: 0, text: "", reason: "Can't open the configuration file: \(error)")
            }
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                lines.append((first, i + 1, String(line)))
            }
        }
        // Command-line options: `--name v1 v2 --other x` becomes lines "name v1 v2", "other x".
        var current: [String] = []
        var index = 0
        func flush() {
            guard !current.isEmpty else { return }
            index += 1
            lines.append(("(command line)", index, current.map(Config.quoteIfNeeded).joined(separator: " ")))
            current = []
        }
        for a in args {
            if a.hasPrefix("--") && a.count > 2 {
                flush()
                current = [String(a.dropFirst(2))]
            } else {
                if current.isEmpty {
                    throw ConfigError(source: "(command line)", line: index + 1, text: a, reason: "Invalid argument: options must start with --")
                }
                current.append(a)
            }
        }
        flush()
        let config = Config(configFile: file)
        for (source, number, text) in lines {
            let trimmed = text.trimmingCharacters(in: [" ", "\t", "\r"])
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let words = splitInlineArguments(ByteBuffer(string: trimmed)) else {
                throw ConfigError(source: source, line: number, text: trimmed, reason: "Unbalanced quotes in configuration line")
            }
            let name = words[0].string.lowercased()
            let rest = words.dropFirst().map(\.string)
            if let error = config.apply(name: name, words: rest, atStartup: true) {
                throw ConfigError(source: source, line: number, text: trimmed, reason: error)
            }
        }
        return config
    }

    private static func quoteIfNeeded(_ s: String) -> String {
        if s.isEmpty { return "\"\"" }
        if s.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "\\" }) {
            return "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
        }
        return s
    }

    /// Validates and stores a directive. Returns an error message (redis-server's wording) or nil.
    func apply(name rawName: String, words: [String], atStartup: Bool) -> String? {
        let name = Config.aliases[rawName] ?? rawName
        guard let d = Config.byName[name] else {
            return "Bad directive or wrong number of arguments"
        }
        if !atStartup && !d.mutable {
            return "ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config"
        }
        let joined = words.joined(separator: " ")
        let value: String
        switch d.type {
        case .words:
            value = joined
        default:
            guard words.count == 1 else {
                if words.isEmpty && d.type == .string { value = ""; break }
                return "wrong number of arguments"
            }
            guard let normalized = Config.normalize(words[0], as: d.type) else {
                return "argument couldn't be parsed into \(Config.describe(d.type)) - '\(name)'"
            }
            value = normalized
        }
        if let check = d.validate, let error = check(value) { return error }
        values.withLockedValue { $0[name] = value }
        generation.wrappingIncrement(ordering: .releasing)
        return nil
    }

    static func describe(_ type: DirectiveType) -> String {
        switch type {
        case .integer: return "an integer"
        case .memory: return "an integer"
        case .bool: return "a boolean (yes/no)"
        case .oneOf(let options): return "one of \(options.joined(separator: ", "))"
        case .string, .words: return "a string"
        }
    }

    static func normalize(_ raw: String, as type: DirectiveType) -> String? {
        switch type {
        case let .integer(min, max):
            guard let v = Int(raw), v >= min, v <= max else { return nil }
            return String(v)
        case .memory:
            guard let v = parseMemory(raw) else { return nil }
            return String(v)
        case .bool:
            switch raw.lowercased() {
            case "yes": return "yes"
            case "no": return "no"
            default: return nil
            }
        case .oneOf(let options):
            let lower = raw.lowercased()
            return options.contains(lower) ? lower : nil
        case .string, .words:
            return raw
        }
    }

    /// Redis's `memtoull`: 1k=1000, 1kb=1024, 1m=1000², 1mb=1024², 1g, 1gb.
    static func parseMemory(_ raw: String) -> Int? {
        let lower = raw.lowercased()
        let units: [(String, Int)] = [("kb", 1024), ("mb", 1024 * 1024), ("gb", 1024 * 1024 * 1024),
                                      ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000), ("b", 1)]
        for (suffix, multiplier) in units where lower.hasSuffix(suffix) {
            guard let n = Int(lower.dropLast(suffix.count)), n >= 0 else { return nil }
            return n.multipliedReportingOverflow(by: multiplier).overflow ? nil : n * multiplier
        }
        guard let n = Int(lower), n >= 0 else { return nil }
        return n
    }

    static func validateSave(_ value: String) -> String? {
        let parts = value.split(separator: " ")
        if parts.isEmpty { return nil }
        guard parts.count % 2 == 0, parts.allSatisfy({ Int($0) != nil && Int($0)! >= 0 }) else {
            return "Invalid save parameters"
        }
        return nil
    }

    static func validateOutputLimits(_ value: String) -> String? {
        let parts = value.split(separator: " ").map(String.init)
        guard parts.count % 4 == 0, !parts.isEmpty else { return "Wrong number of arguments in buffer limit configuration." }
        for i in stride(from: 0, to: parts.count, by: 4) {
            guard ["normal", "slave", "replica", "pubsub"].contains(parts[i].lowercased()) else {
                return "Invalid client class specified in buffer limit configuration."
            }
            guard parseMemory(parts[i + 1]) != nil, parseMemory(parts[i + 2]) != nil, Int(parts[i + 3]) != nil else {
                return "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            }
        }
        return nil
    }

    // MARK: reading

    public subscript(name: String) -> String {
        values.withLockedValue { $0[name] ?? "" }
    }

    public func int(_ name: String) -> Int { Int(self[name]) ?? 0 }
    public func bool(_ name: String) -> Bool { self[name] == "yes" }

    /// `save` as (seconds, changes) pairs.
    public var saveRules: [(seconds: Int, changes: Int)] {
        let parts = self["save"].split(separator: " ").compactMap { Int($0) }
        return stride(from: 0, to: parts.count - 1, by: 2).map { (parts[$0], parts[$0 + 1]) }
    }

    /// Hard/soft limits of one client class (`normal`, `pubsub`, `replica`).
    public func outputLimit(_ clientClass: String) -> (hard: Int, soft: Int, seconds: Int) {
        let parts = self["client-output-buffer-limit"].split(separator: " ").map(String.init)
        var result = (hard: 0, soft: 0, seconds: 0)
        for i in stride(from: 0, to: parts.count - 3, by: 4) {
            let name = parts[i].lowercased() == "replica" ? "slave" : parts[i].lowercased()
            if name == clientClass {
                result = (Config.parseMemory(parts[i + 1]) ?? 0, Config.parseMemory(parts[i + 2]) ?? 0, Int(parts[i + 3]) ?? 0)
            }
        }
        return result
    }

    /// CONFIG GET: every directive whose name matches one of the glob patterns.
    public func get(_ patterns: [String]) -> [(String, String)] {
        let snapshot = values.withLockedValue { $0 }
        var out: [(String, String)] = []
        for d in Config.directives {
            if patterns.contains(where: { Array($0.lowercased().utf8).globMatches(Array(d.name.utf8)) }) {
                out.append((d.name, snapshot[d.name] ?? ""))
            }
        }
        return out
    }

    /// CONFIG SET with one or more pairs, all or nothing.
    public func set(_ pairs: [(String, String)]) -> String? {
        let before = values.withLockedValue { $0 }
        for (name, value) in pairs {
            let lower = name.lowercased()
            let words: [String]
            if let d = Config.byName[Config.aliases[lower] ?? lower], case .words = d.type {
                words = value.split(separator: " ").map(String.init)
            } else {
                words = [value]
            }
            if let error = apply(name: lower, words: words, atStartup: false) {
                values.withLockedValue { $0 = before }
                generation.wrappingIncrement(ordering: .releasing)
                if error.hasPrefix("ERR") { return error }
                if error == "Bad directive or wrong number of arguments" {
                    return "ERR Unknown option or number of arguments for CONFIG SET - '\(name)'"
                }
                return "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(error)"
            }
        }
        return nil
    }

    /// The whole configuration as redis.conf text (CONFIG REWRITE writes it).
    public func render() -> String {
        let snapshot = values.withLockedValue { $0 }
        var text = "# Written by Swiftlet CONFIG REWRITE\n"
        for d in Config.directives {
            let v = snapshot[d.name] ?? ""
            if case .words = d.type {
                text += "\(d.name) \(v.isEmpty ? "\"\"" : v)\n"
            } else {
                text += "\(d.name) \(Config.quoteIfNeeded(v))\n"
            }
        }
        return text
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Versions reported to clients.
public enum SwiftletVersion {
    public static let server = "0.1.0"
    /// The Redis version whose behaviour Swiftlet follows; INFO and HELLO report it as
    /// `redis_version` so clients enable the right features.
    public static let redisCompat = "7.0.15"
}
