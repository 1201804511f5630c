import Atomics
import Basics
import NIOConcurrencyHelpers
import NIOCore
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// The server's configuration: the directive table (data) and the current values.
///
/// Values are kept as normalised strings (what CONFIG GET prints) and read through typed
/// accessors. Thread-safe: CONFIG SET may run on any event loop.
public final class Config: Sendable {
    let values: NIOLockedValueBox<[String: String]>
    /// Bumped by every change, so hot paths can cache derived values and notice staleness with one
    /// atomic load instead of re-reading (and re-parsing) the configuration per request.
    public let generation = ManagedAtomic<Int>(0)
    /// The file the configuration came from, for CONFIG REWRITE.
    public let configFile: String?
    /// Serialises CONFIG SETs, so one that fails and restores the values it found cannot undo
    /// another that ran meanwhile.
    private let setLock = NIOLock()
    /// The directives a config file or the command line named, in order, once each.
    private let explicitlySet = NIOLockedValueBox<[String]>([])
    /// The `user <name> <rules...>` lines of the configuration file, in order (ACL users; the
    /// server applies them at start-up, Server/Users.swift).
    public var userDefinitions: [[String]] { users.withLockedValue { $0 } }
    private let users = NIOLockedValueBox<[[String]]>([])

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
            lines = numberedLines(text, source: first)
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
        var saveLoaded = false
        func read(_ lines: [(source: String, line: Int, text: String)], depth: Int) throws {
            for (source, number, text) in lines {
                let trimmed = text.trimmingCharacters(in: [" ", "\t", "\r"])
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                guard let words = splitInlineArguments(ByteBuffer(string: trimmed)), !words.isEmpty else {
                    throw ConfigError(source: source, line: number, text: trimmed, reason: "Unbalanced quotes in configuration line")
                }
                let name = String(buffer: words[0]).lowercased()
                let rest = words.dropFirst().map { String(buffer: $0) }
                func fail(_ reason: String) -> ConfigError { ConfigError(source: source, line: number, text: trimmed, reason: reason) }
                if let count = deprecatedDirectives[name], rest.count == count {
                    config.noteExplicit(name)
                    continue
                }
                if name == "include" && rest.count == 1 {
                    // Redis reads the named file at this point, as if its lines were here.
                    guard depth < 16 else { throw fail("include nesting too deep") }
                    let included: String
                    do { included = try readFile(rest[0]) } catch { throw fail("Can't open the configuration file '\(rest[0])': \(error)") }
                    try read(Config.numberedLines(included, source: rest[0]), depth: depth + 1)
                    continue
                }
                if name == "user" {
                    guard !rest.isEmpty else { throw fail("wrong number of arguments") }
                    config.users.withLockedValue { $0.append(rest) }
                    continue
                }
                if let reason = Config.fileOnlyRefusals[name] { throw fail(reason) }
                if let problem = config.apply(name: name, words: rest, atStartup: true, appendSave: saveLoaded) {
                    throw fail(problem.inFile)
                }
                if Config.canonicalName(name) == "save" { saveLoaded = true }
                config.noteExplicit(Config.canonicalName(name))
            }
        }
        try read(lines, depth: 0)
        return config
    }

    private static func numberedLines(_ text: String, source: String) -> [(source: String, line: Int, text: String)] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { (source, $0.offset + 1, String($0.element)) }
    }

    /// Redis's config-file-only directives Swiftlet cannot honour, each with why.
    static let fileOnlyRefusals: [String: String] = [
        "rename-command": "rename-command is not supported: Swiftlet's command table is fixed",
        "loadmodule": "loadmodule is not supported: Swiftlet has no modules",
        "sentinel": "sentinel is not supported: Swiftlet has no Sentinel mode",
    ]

    private func noteExplicit(_ name: String) {
        explicitlySet.withLockedValue { if !$0.contains(name) { $0.append(name) } }
    }

    private static func quoteIfNeeded(_ s: String) -> String {
        if s.isEmpty { return "\"\"" }
        if s.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "\\" }) {
            return "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
        }
        return s
    }

    /// Validates and stores a directive; nil when it was taken, else what is wrong with it.
    /// `appendSave`: a config file's second and later `save` lines add rules to the first's
    /// (Redis 7.0 reads them so); `save ""` still clears them all.
    func apply(name rawName: String, words: [String], atStartup: Bool, appendSave: Bool = false) -> ConfigProblem? {
        let name = Config.aliases[rawName] ?? rawName
        guard let d = Config.byName[name] else { return .unknownDirective }
        if !atStartup && !d.mutable { return .immutable }
        let current = self[name]
        let value: String
        switch Config.parse(words, for: d, current: current) {
        case .failure(let problem): return problem
        case .success(let parsed): value = parsed
        }
        if case .special(.dir) = d.type, !atStartup, chdir(value) != 0 {
            // As Redis: CONFIG SET dir enters the directory at once (start-up leaves that to the
            // server, which reports a directory it cannot enter before it serves).
            return .invalid(String(cString: strerror(errno)))
        }
        var stored = value
        if appendSave && name == "save" && !value.isEmpty { stored = [current, value].filter { !$0.isEmpty }.joined(separator: " ") }
        values.withLockedValue { $0[name] = stored }
        generation.wrappingIncrement(ordering: .releasing)
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
                result = (Int(parts[i + 1]) ?? 0, Int(parts[i + 2]) ?? 0, Int(parts[i + 3]) ?? 0)
            }
        }
        return result
    }

    /// CONFIG GET: every directive (or old name) that one of the glob patterns matches, in table
    /// order, each once. Hidden directives answer only to their exact name, as in Redis.
    public func get(_ patterns: [String]) -> [(String, String)] {
        let snapshot = values.withLockedValue { $0 }
        let globs = patterns.map { Array($0.lowercased().utf8) }
        var out: [(String, String)] = []
        for d in Config.directives {
            for name in [d.name] + d.aliases {
                let bytes = Array(name.utf8)
                let matched = globs.contains { d.hidden ? $0 == bytes : $0.globMatches(bytes, nocase: true) }
                guard matched else { continue }
                let value = snapshot[d.name] ?? ""
                out.append((name, d.type == .special(.notifyKeyspaceEvents) ? KeyspaceEvents.shown(value) : value))
            }
        }
        return out
    }

    /// The table's name for a directive or one of its old names (unchanged when unknown).
    public static func canonicalName(_ name: String) -> String {
        let lower = name.lowercased()
        return aliases[lower] ?? lower
    }

    /// CONFIG SET with one or more pairs, all or nothing, checked in Redis 7.0's order: first
    /// every name (unknown, immutable, twice), then every value; a value that fails undoes the
    /// ones before it. Returns the error reply, or nil when everything was set.
    public func set(_ pairs: [(String, String)]) -> String? {
        setLock.withLock { setAll(pairs) }
    }

    private func setAll(_ pairs: [(String, String)]) -> String? {
        var unknown: String? = nil
        var refusal: String? = nil
        var seen: Set<String> = []
        for (name, _) in pairs {
            let key = name.lowercased()
            guard let d = Config.byName[Config.aliases[key] ?? key] else {
                if unknown == nil && refusal == nil { unknown = name }
                continue
            }
            if unknown != nil || refusal != nil { continue }
            if !d.mutable {
                refusal = "ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config"
            } else if !seen.insert(key).inserted {
                // An old name and the new one are different entries to Redis 7.0, so
                // `slave-read-only` with `replica-read-only` is not a duplicate; the same name is.
                refusal = "ERR CONFIG SET failed (possibly related to argument '\(name)') - duplicate parameter"
            }
        }
        if let unknown { return ConfigProblem.unknownDirective.inConfigSet(name: unknown) }
        if let refusal { return refusal }

        let before = values.withLockedValue { $0 }
        let directoryBefore = pairs.contains { $0.0.lowercased() == "dir" } ? Config.currentDirectory() : nil
        for (name, value) in pairs {
            let key = name.lowercased()
            let d = Config.byName[Config.aliases[key] ?? key]!
            let words: [String]
            switch d.type {
            case .special(let kind) where kind != .notifyKeyspaceEvents && kind != .dir:
                // Multi-word directives take their words from the one argument, split on spaces.
                words = value.isEmpty ? [] : value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            default:
                words = [value]
            }
            if let problem = apply(name: key, words: words, atStartup: false) {
                values.withLockedValue { $0 = before }
                if let directoryBefore { _ = chdir(directoryBefore) }
                generation.wrappingIncrement(ordering: .releasing)
                return problem.inConfigSet(name: key)
            }
        }
        return nil
    }

    static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directives the user set (config file or command line) that have no effect in
    /// Swiftlet, each with the reason; the server logs them once at start-up.
    public var ineffectiveDirectivesSet: [(name: String, reason: String)] {
        explicitlySet.withLockedValue { $0 }.compactMap { name in
            if Config.deprecatedDirectives[name] != nil { return (name, "deprecated in Redis, ignored") }
            guard let d = Config.byName[name], case .noEffect(let reason) = d.status else { return nil }
            return (name, reason)
        }
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
