import Atomics
import Basics
import NIOConcurrencyHelpers
import NIOCore
import RESP

/// The server's configuration: the directive table (data) and the current values.
///
/// Values are kept as normalised strings (what CONFIG GET prints) and read through typed
/// accessors. Thread-safe: CONFIG SET may run on any event loop.
public final class Config: Sendable {
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
            let name = String(buffer: words[0]).lowercased()
            let rest = words.dropFirst().map { String(buffer: $0) }
            if let problem = config.apply(name: name, words: rest, atStartup: true) {
                throw ConfigError(source: source, line: number, text: trimmed, reason: problem.inFile)
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

    /// Validates and stores a directive; nil when it was taken, else what is wrong with it.
    func apply(name rawName: String, words: [String], atStartup: Bool) -> ConfigProblem? {
        let name = Config.aliases[rawName] ?? rawName
        guard let d = Config.byName[name] else { return .unknownDirective }
        if !atStartup && !d.mutable { return .immutable }
        let value: String
        switch d.type {
        case .words:
            value = words.joined(separator: " ")
        default:
            guard words.count == 1 else {
                if words.isEmpty && d.type == .string { value = ""; break }
                return .wrongArgumentCount
            }
            guard let normalized = Config.normalize(words[0], as: d.type) else {
                return .invalid(Config.rejection(words[0], as: d.type))
            }
            value = normalized
        }
        if let check = d.validate, let error = check(value) { return .invalid(error) }
        values.withLockedValue { $0[name] = value }
        generation.wrappingIncrement(ordering: .releasing)
        return nil
    }

    /// Why `raw` is not a value of `type`, in redis-server 7.0's words (config.c).
    static func rejection(_ raw: String, as type: DirectiveType) -> String {
        switch type {
        case let .integer(min, max):
            guard parseStrictInt64(raw) != nil else { return "argument couldn't be parsed into an integer" }
            return "argument must be between \(min) and \(max) inclusive"
        case .memory: return "argument must be a memory value"
        case .bool: return "argument must be 'yes' or 'no'"
        case .oneOf(let options): return "argument(s) must be one of the following: \(options.joined(separator: ", "))"
        case .string, .words: return "argument couldn't be parsed"
        }
    }

    static func normalize(_ raw: String, as type: DirectiveType) -> String? {
        switch type {
        case let .integer(min, max):
            guard let v = parseStrictInt64(raw).map({ Int($0) }), v >= min, v <= max else { return nil }
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

    /// `latency-tracking-info-percentiles`: numbers between 0 and 100 (Redis's messages).
    static func validatePercentiles(_ value: String) -> String? {
        for word in value.split(separator: " ") {
            guard let p = Double(word) else { return "Invalid latency-tracking-info-percentiles parameters" }
            guard p >= 0 && p <= 100 else { return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]" }
        }
        return nil
    }

    /// `replicaof <host> <port>` (empty: this server is a master).
    static func validateReplicaOf(_ value: String) -> String? {
        let parts = value.split(separator: " ")
        if parts.isEmpty { return nil }
        guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) else {
            return "replicaof takes a host and a port, as in 'replicaof 127.0.0.1 6379'"
        }
        return nil
    }

    /// The master named by `replicaof`, if any.
    public var replicaOf: (host: String, port: Int)? {
        let parts = self[.replicaOf].split(separator: " ")
        guard parts.count == 2, let port = Int(parts[1]) else { return nil }
        return (String(parts[0]), port)
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

    /// A directive's current value, typed (`config[.port]`); see Settings.swift.
    public subscript<Value>(_ setting: Setting<Value>) -> Value {
        setting.read(self[setting.name])
    }

    /// `save` as (seconds, changes) pairs.
    public var saveRules: [(seconds: Int, changes: Int)] {
        let parts = self["save"].split(separator: " ").compactMap { Int($0) }
        return stride(from: 0, to: parts.count - 1, by: 2).map { (parts[$0], parts[$0 + 1]) }
    }

    /// Hard/soft limits of one client class.
    public func outputLimit(_ clientClass: ClientClass) -> (hard: Int, soft: Int, seconds: Int) {
        let parts = self["client-output-buffer-limit"].split(separator: " ").map(String.init)
        var result = (hard: 0, soft: 0, seconds: 0)
        for i in stride(from: 0, to: parts.count - 3, by: 4) {
            let name = parts[i].lowercased() == "replica" ? "slave" : parts[i].lowercased()
            if name == clientClass.rawValue {
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
            if let problem = apply(name: lower, words: words, atStartup: false) {
                values.withLockedValue { $0 = before }
                generation.wrappingIncrement(ordering: .releasing)
                return problem.inConfigSet(name: name)
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
