import RESP

/// Redis's ACL command categories (`ACL CAT`), one bit each, in Redis's order: `ACL CAT`, and the
/// best-fit search of `ACL LIST`'s descriptions, walk them in this order.
public struct ACLCategories: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Name and bit of every category, in Redis's `ACLCommandCategories` order.
    public static let named: [(name: String, category: ACLCategories)] = [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
        "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
        "transaction", "scripting",
    ].enumerated().map { ($0.element, ACLCategories(rawValue: 1 << UInt32($0.offset))) }

    public static func named(_ name: String) -> ACLCategories? {
        let lower = name.lowercased()
        return named.first { $0.name == lower }?.category
    }

    public static let write = named("write")!
    public static let read = named("read")!
    public static let admin = named("admin")!
    public static let dangerous = named("dangerous")!
    public static let pubsub = named("pubsub")!
    public static let fast = named("fast")!
    public static let slow = named("slow")!
    public static let blocking = named("blocking")!

    /// Names, without '@', in Redis's order (COMMAND INFO, ACL CAT).
    public var names: [String] { Self.named.filter { contains($0.category) }.map(\.name) }

    /// The categories Redis derives from a command's flags (acl.c `setImplicitACLCategories`),
    /// for a command Redis does not list: Swiftlet's DEBUG subcommands.
    public static func implied(by flags: CommandFlags) -> ACLCategories {
        var c: ACLCategories = []
        if flags.contains(.write) { c.insert(.write) }
        if flags.contains(.readonly) { c.insert(.read) }
        if flags.contains(.admin) { c.formUnion([.admin, .dangerous]) }
        if flags.contains(.pubsub) { c.insert(.pubsub) }
        if flags.contains(.blocking) { c.insert(.blocking) }
        c.insert(flags.contains(.fast) ? .fast : .slow)
        return c
    }
}

/// What a command does with one of its keys, for `%R~` / `%W~` patterns: Redis's key-spec flags
/// folded as acl.c does (ACCESS reads; INSERT, DELETE and UPDATE write; a key with neither, as
/// EXISTS's or TYPE's, needs only to match some pattern).
public struct KeyAccess: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = KeyAccess(rawValue: 1)
    public static let write = KeyAccess(rawValue: 2)

    init?(code: Substring) {
        switch code {
        case "R": self = .read
        case "W": self = .write
        case "RW": self = [.read, .write]
        case "-": self = []
        default: return nil
        }
    }
}

/// A command's ACL facts, from the table generated from redis-server (ACLCategoryTable.swift).
struct ACLFacts {
    var categories: ACLCategories
    /// Access of each key spec, in Redis's order.
    var keySpecs: [KeyAccess]

    /// Every line of `ACLCategories.redisTable`, by full name (`config|get`).
    static let byName: [String: ACLFacts] = {
        var out: [String: ACLFacts] = [:]
        for line in ACLCategories.redisTable.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else { continue }
            var categories: ACLCategories = []
            for name in fields[1].split(separator: ",") {
                guard let c = ACLCategories.named(String(name)) else { preconditionFailure("ACL table: category \(name)") }
                categories.insert(c)
            }
            let specs = fields.dropFirst(2).map { code -> KeyAccess in
                guard let access = KeyAccess(code: code) else { preconditionFailure("ACL table: key access \(code)") }
                return access
            }
            out[String(fields[0])] = ACLFacts(categories: categories, keySpecs: specs)
        }
        return out
    }()
}

extension Command {
    /// The name refusals show: the full name, except for DEBUG's subcommands, which Redis does
    /// not have (its DEBUG takes a first argument), so its messages say `debug`.
    var aclName: String { fullName.hasPrefix("debug|") ? "debug" : fullName }

    /// The access the key at position `ordinal` among this invocation's keys needs. Redis's key
    /// specs are ordered as our key positions are (the destination of a STORE command first, the
    /// source of LMOVE/RENAME/COPY first), so the n-th key takes the n-th spec and later keys the
    /// last one. SET is Redis's one variable-flags command we have: without GET it only writes.
    func keyAccess(ordinal: Int, _ args: Arguments) -> KeyAccess {
        guard !aclKeySpecs.isEmpty else { return [] }
        if fullName == "set" && !args.dropFirst(3).contains(where: { $0.equalsIgnoringCase("GET") }) {
            return .write
        }
        return aclKeySpecs[min(ordinal, aclKeySpecs.count - 1)]
    }
}

/// Which arguments of a pub/sub command name channels, for `&pattern` rules (Redis's channel
/// key specs: PUBLISH names one, SUBSCRIBE many, PSUBSCRIBE patterns; unsubscribing is free).
public struct ACLChannelArguments: Sendable {
    /// Only the first argument (PUBLISH, SPUBLISH); else every argument.
    let onlyFirst: Bool
    /// The arguments are patterns, granted only by an identical `&` pattern.
    let patterns: Bool

    static func of(_ fullName: String) -> ACLChannelArguments? {
        switch fullName {
        case "publish", "spublish": return ACLChannelArguments(onlyFirst: true, patterns: false)
        case "subscribe", "ssubscribe": return ACLChannelArguments(onlyFirst: false, patterns: false)
        case "psubscribe": return ACLChannelArguments(onlyFirst: false, patterns: true)
        default: return nil
        }
    }
}
