import Basics
import NIOCore
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// Parsing and validating one directive's words, with redis-server 7.0's rules and messages
/// (config.c: the numeric, enum, string and special configs). A value is stored normalised, as
/// CONFIG GET prints it.
/// Why a value is refused, in Redis's words.
struct Rejection: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension Config {
    static func parse(_ words: [String], for d: Directive, current: String) -> Result<String, ConfigProblem> {
        let value: String
        if case .special(let kind) = d.type {
            switch special(kind, words, current: current) {
            case .failure(let r): return .failure(r.message == wrongArgumentCount ? .wrongArgumentCount : .invalid(r.message))
            case .success(let v): value = v
            }
        } else {
            guard words.count == 1 else { return .failure(.wrongArgumentCount) }
            switch single(words[0], as: d.type) {
            case .failure(let r): return .failure(.invalid(r.message))
            case .success(let v): value = v
            }
        }
        if let check = d.refuse, let message = check(value) { return .failure(.invalid(message)) }
        // Redis takes any hz and keeps it within 1...500 (updateHZ), and a backlog of at least
        // 16 kB (resizeReplicationBacklog).
        if d.name == "hz", let n = Int(value) { return .success(String(min(max(n, 1), 500))) }
        if d.name == "repl-backlog-size", let n = Int(value) { return .success(String(max(n, 16384))) }
        return .success(value)
    }

    private static let wrongArgumentCount = "wrong number of arguments"

    /// One-argument directives.
    static func single(_ raw: String, as type: DirectiveType) -> Result<String, Rejection> {
        func outOfRange(_ min: Int, _ max: Int) -> String { "argument must be between \(min) and \(max) inclusive" }
        switch type {
        case .bool:
            switch raw.lowercased() {
            case "yes": return .success("yes")
            case "no": return .success("no")
            default: return .failure(Rejection("argument must be 'yes' or 'no'"))
            }
        case let .integer(min, max):
            guard let v = parseStrictInt64(raw).map({ Int($0) }) else { return .failure(Rejection("argument couldn't be parsed into an integer")) }
            return v >= min && v <= max ? .success(String(v)) : .failure(Rejection(outOfRange(min, max)))
        case let .memory(min, max):
            guard let v = parseMemory(raw) else { return .failure(Rejection("argument must be a memory value")) }
            return v >= min && v <= max ? .success(String(v)) : .failure(Rejection("argument must be between \(min) and \(max) inclusive"))
        case let .memoryOrPercent(maxPercent, max):
            if let v = parseMemory(raw) {
                return v <= max ? .success(String(v)) : .failure(Rejection(outOfRange(-maxPercent, Int(max))))
            }
            if raw.count > 1, raw.hasSuffix("%"), let p = parseStrictInt64(String(raw.dropLast())), p >= 0 {
                return p <= maxPercent ? .success("\(p)%") : .failure(Rejection("percentage argument must be less or equal to \(maxPercent)"))
            }
            return .failure(Rejection("argument must be a memory or percent value"))
        case let .octal(min, max):
            guard !raw.isEmpty, let v = Int(raw, radix: 8) else { return .failure(Rejection("argument couldn't be parsed as an octal number")) }
            guard v >= min && v <= max else {
                return .failure(Rejection("argument must be between \(String(min, radix: 8)) and \(String(max, radix: 8)) inclusive"))
            }
            return .success(String(v, radix: 8))
        case .oneOf(let options):
            let lower = raw.lowercased()
            return options.contains(lower) ? .success(lower) : .failure(Rejection(oneOfMessage(options)))
        case .flags(let options):
            // Several flags in one argument; `default` is the empty set (Redis's enum flags).
            let words = raw.lowercased().split(separator: " ").map(String.init)
            guard !words.isEmpty, words.allSatisfy(options.contains) else { return .failure(Rejection(oneOfMessage(options))) }
            let chosen = options.filter { $0 != options[0] && words.contains($0) }
            return .success(chosen.isEmpty ? options[0] : chosen.joined(separator: " "))
        case .string, .optionalString:
            return .success(raw)
        case .special:
            preconditionFailure("special directives are parsed from all their words")
        }
    }

    private static func oneOfMessage(_ options: [String]) -> String {
        "argument(s) must be one of the following: " + options.joined(separator: ", ")
    }

    /// Directives with rules of their own; `current` is the value they change (client output
    /// limits keep the classes a value does not name).
    static func special(_ kind: Special, _ words: [String], current: String) -> Result<String, Rejection> {
        // Redis reads these two as ordinary one-argument directives.
        if kind == .dir || kind == .notifyKeyspaceEvents, words.count != 1 { return .failure(Rejection(wrongArgumentCount)) }
        // An empty argument stands for no words (`save ""`, `bind ""`); one argument with spaces
        // is split, so `--save "900 1 300 10"` works on the command line (as in Redis 7.0).
        var words = words == [""] ? [] : words
        if words.count == 1, kind != .dir, kind != .notifyKeyspaceEvents,
           let split = splitInlineArguments(ByteBuffer(string: words[0])) {
            words = split.map { String(buffer: $0) }
        }
        switch kind {
        case .dir, .notifyKeyspaceEvents:
            let raw = words.first ?? ""
            if kind == .dir { return raw.isEmpty ? .failure(Rejection(String(cString: strerror(ENOENT)))) : .success(raw) }
            guard let flags = KeyspaceEvents(raw) else { return .failure(Rejection("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")) }
            return .success(flags.description)
        case .save:
            guard words.count % 2 == 0 else { return .failure(Rejection("Invalid save parameters")) }
            for (i, w) in words.enumerated() {
                guard let n = Int(w), n >= (i % 2 == 0 ? 1 : 0) else { return .failure(Rejection("Invalid save parameters")) }
            }
            return .success(words.map { String(Int($0)!) }.joined(separator: " "))
        case .clientOutputBufferLimit:
            return clientOutputLimits(words, current: current)
        case .oomScoreAdjValues:
            guard words.count == 3 else { return .failure(Rejection(wrongArgumentCount)) }
            guard words.allSatisfy({ Int($0).map { (-2000...2000).contains($0) } ?? false }) else {
                return .failure(Rejection("Invalid oom-score-adj-values, elements must be between -2000 and 2000."))
            }
            return .success(words.map { String(Int($0)!) }.joined(separator: " "))
        case .bind:
            guard words.count <= 16 else { return .failure(Rejection("Too many bind addresses specified.")) }
            return .success(words.joined(separator: " "))
        case .replicaOf:
            guard words.count == 2 else { return .failure(Rejection(wrongArgumentCount)) }
            if words[0].lowercased() == "no" && words[1].lowercased() == "one" { return .success("") }
            guard let port = Int(words[1]), (0...65535).contains(port) else { return .failure(Rejection("Invalid master port")) }
            return .success("\(words[0]) \(port)")
        case .latencyPercentiles:
            var out: [String] = []
            for w in words {
                guard let p = Double(w), p.isFinite else { return .failure(Rejection("Invalid latency-tracking-info-percentiles parameters")) }
                guard p >= 0 && p <= 100 else { return .failure(Rejection("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")) }
                out.append(formatPercentile(p))
            }
            return .success(out.joined(separator: " "))
        }
    }

    /// `%f` with its trailing zeros (and point) dropped, as Redis prints percentiles.
    static func formatPercentile(_ p: Double) -> String {
        let micros = Int((p * 1_000_000).rounded())
        var fraction = String(micros % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? String(micros / 1_000_000) : "\(micros / 1_000_000).\(fraction)"
    }

    /// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`: every class is checked
    /// before any changes; CONFIG GET then lists all three classes, in bytes.
    private static func clientOutputLimits(_ words: [String], current: String) -> Result<String, Rejection> {
        guard words.count % 4 == 0 else { return .failure(Rejection("Wrong number of arguments in buffer limit configuration.")) }
        var limits: [String: (Int, Int, Int)] = [:]
        let parts = current.split(separator: " ").map(String.init)
        for i in stride(from: 0, to: parts.count - 3, by: 4) {
            limits[parts[i]] = (Int(parts[i + 1]) ?? 0, Int(parts[i + 2]) ?? 0, Int(parts[i + 3]) ?? 0)
        }
        for i in stride(from: 0, to: words.count, by: 4) {
            let name: String
            switch words[i].lowercased() {
            case "normal": name = "normal"
            case "slave", "replica": name = "slave"
            case "pubsub": name = "pubsub"
            default: return .failure(Rejection("Invalid client class specified in buffer limit configuration."))
            }
            guard let hard = parseMemory(words[i + 1]).map({ Int(clamping: $0) }), let soft = parseMemory(words[i + 2]).map({ Int(clamping: $0) }),
                  let seconds = Int(words[i + 3]), seconds >= 0 else {
                return .failure(Rejection("Error in hard, soft or soft_seconds setting in buffer limit configuration."))
            }
            limits[name] = (hard, soft, seconds)
        }
        return .success(["normal", "slave", "pubsub"].map { name in
            let (h, s, t) = limits[name] ?? (0, 0, 0)
            return "\(name) \(h) \(s) \(t)"
        }.joined(separator: " "))
    }

    /// Redis's `memtoull`: digits with an optional unit, 1k = 1000, 1kb = 1024, 1m = 1000²,
    /// 1mb = 1024², 1g, 1gb (any case); nothing negative or fractional. As in Redis, no digits
    /// read as 0 and a number too large for 64 bits as the largest one (`strtoull`).
    static func parseMemory(_ raw: String) -> UInt64? {
        let lower = raw.lowercased()
        let units: [(String, UInt64)] = [("kb", 1024), ("mb", 1024 * 1024), ("gb", 1024 * 1024 * 1024),
                                         ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000), ("b", 1)]
        var digits = Substring(lower)
        var multiplier: UInt64 = 1
        if let (suffix, m) = units.first(where: { lower.hasSuffix($0.0) }) {
            digits = digits.dropLast(suffix.count)
            multiplier = m
        }
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard !digits.isEmpty else { return 0 }
        let n = UInt64(digits) ?? .max
        let (product, overflow) = n.multipliedReportingOverflow(by: multiplier)
        return overflow ? .max : product
    }

    static func validateProcTitle(_ value: String) -> String? {
        // Redis's variables; braces must pair and name one of them.
        let known: Set<String> = ["title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file"]
        var rest = Substring(value)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            guard rest[open] == "{", let close = rest[open...].firstIndex(of: "}"),
                  known.contains(String(rest[rest.index(after: open)..<close])) else {
                return "template format is invalid or contains unknown variables"
            }
            rest = rest[rest.index(after: close)...]
        }
        return nil
    }

    static func validateHostname(_ value: String) -> String? {
        if value.utf8.count >= 256 { return "Hostnames must be less than 256 characters" }
        let allowed = value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        return allowed ? nil : "Hostnames may only contain alphanumeric characters, hyphens or dots"
    }

    /// The master named by `replicaof`, if any.
    public var replicaOf: (host: String, port: Int)? {
        let parts = self[.replicaOf].split(separator: " ")
        guard parts.count == 2, let port = Int(parts[1]) else { return nil }
        return (String(parts[0]), port)
    }
}

/// `notify-keyspace-events` classes, read and printed as Redis 7.0 does (notify.c): `A` stands
/// for `g$lshzxetd` and prints as `A` when all of those are set (hiding `n`), then `K`, `E`, `m`.
/// (The server has its own reader of the stored letters: Commands/KeyspaceEvents.swift.)
struct KeyspaceEvents: CustomStringConvertible {
    private static let classes: [Character] = ["g", "$", "l", "s", "h", "z", "x", "e", "t", "d", "n"]
    private static let all: Set<Character> = ["g", "$", "l", "s", "h", "z", "x", "e", "t", "d"]
    private var set: Set<Character> = []

    init?(_ text: String) {
        for c in text {
            switch c {
            case "A": set.formUnion(KeyspaceEvents.all)
            case "K", "E", "m": set.insert(c)
            case _ where KeyspaceEvents.classes.contains(c): set.insert(c)
            default: return nil
            }
        }
    }

    /// How the value is stored: Redis's form, plus an `n` at the end when `A` hides it (the
    /// server reads the stored letters, and `n` must stay on).
    var description: String {
        var out = KeyspaceEvents.all.isSubset(of: set) ? "A" : String(KeyspaceEvents.classes.filter(set.contains))
        for c: Character in ["K", "E", "m"] where set.contains(c) { out.append(c) }
        if out.hasPrefix("A") && set.contains("n") { out.append("n") }
        return out
    }

    /// What CONFIG GET and CONFIG REWRITE print for a stored value: exactly Redis's form, which
    /// does not show `n` beside `A` (so a rewritten file loses it, as with Redis).
    static func shown(_ stored: String) -> String {
        stored.hasPrefix("A") ? String(stored.filter { $0 != "n" }) : stored
    }
}
