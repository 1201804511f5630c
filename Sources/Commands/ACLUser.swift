import Basics
import NIOCore
import RESP

/// Why a user may not run a command, in acl.c's order of relevance (`ACL_DENIED_*`): when no
/// selector allows a command, the most relevant refusal among them is reported.
public enum ACLDenial: Int, Comparable, Sendable {
    case command = 1, key = 2, auth = 3, channel = 4
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// ACL LOG `reason`.
    public var reason: String {
        switch self {
        case .command: return "command"
        case .key: return "key"
        case .auth: return "auth"
        case .channel: return "channel"
        }
    }
}

/// A rule ACL SETUSER could not apply; `message` is Redis's text for it (acl.c `ACLSetUserStringError`).
public struct ACLRuleError: Error, Sendable {
    public let message: String
    static let unknownName = ACLRuleError(message: "Unknown command or category name in ACL")
    static let syntax = ACLRuleError(message: "Syntax error")
    static let keyAfterAll = ACLRuleError(message: "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
    static let channelAfterAll = ACLRuleError(message: "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
    static let noSuchPassword = ACLRuleError(message: "The password you are trying to remove from the user does not exist")
    static let badHash = ACLRuleError(message: "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
    static let subcommandFirstArg = ACLRuleError(message: "Allowing first-arg of a subcommand is not supported")
}

/// A key pattern with what it grants: `~p` both, `%R~p` reading, `%W~p` writing.
public struct KeyPattern: Equatable, Sendable {
    public var pattern: [UInt8]
    public var access: KeyAccess

    var description: String {
        let p = String(decoding: pattern, as: UTF8.self)
        switch access {
        case .read: return "%R~" + p
        case .write: return "%W~" + p
        default: return "~" + p
        }
    }
}

/// One set of permissions (acl.c `aclSelector`): which commands (a bit per
/// `Command.statsIndex`, plus allowed first arguments), keys and channels. A user has a root
/// selector and any number of `(...)` selectors; a command runs when one of them allows it.
public struct ACLSelector: Equatable, Sendable {
    var allowed: [UInt64]
    /// Redis's reserved command bit: only `+@all`/`allcommands` set it, so the user will also be
    /// able to run commands added later; ACL LIST then starts the rules with `+@all`.
    var futureCommands = false
    /// `+select|0`: first arguments allowed for a command whose bit is clear, by statsIndex.
    var firstArgs: [Int: [String]] = [:]
    var allKeys = false
    var keys: [KeyPattern] = []
    var allChannels = false
    var channels: [[UInt8]] = []

    init(commandCount: Int) {
        allowed = Array(repeating: 0, count: (commandCount + 63) / 64)
    }

    func allows(_ command: Command) -> Bool {
        let i = command.statsIndex
        return allowed[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    private mutating func setBit(_ index: Int, _ on: Bool) {
        if on { allowed[index >> 6] |= 1 << UInt64(index & 63) } else { allowed[index >> 6] &= ~(1 << UInt64(index & 63)) }
    }

    /// acl.c `ACLChangeSelectorPerm`: the command and, for a container, all its subcommands.
    mutating func change(_ command: Command, allow: Bool) {
        setBit(command.statsIndex, allow)
        firstArgs[command.statsIndex] = nil
        for sub in command.subcommands.values { setBit(sub.statsIndex, allow) }
    }

    mutating func setAll(_ allow: Bool) {
        for i in allowed.indices { allowed[i] = allow ? ~0 : 0 }
        futureCommands = allow
        firstArgs = [:]
    }

    /// `+@cat` / `-@cat`: every command (and subcommand) in the category, containers first.
    mutating func set(_ category: ACLCategories, allow: Bool, table: CommandTable) {
        for command in table.aclOrder where command.aclCategories.contains(category) {
            change(command, allow: allow)
        }
    }

    /// Whether every command and every key and channel is allowed: such a user's commands skip
    /// the per-command check altogether.
    func isUnrestricted(table: CommandTable) -> Bool {
        allKeys && allChannels && table.indexed.allSatisfy(allows)
    }

    // MARK: Rules

    /// Applies one selector rule (keys, channels, commands; acl.c `ACLSetSelector`).
    mutating func apply(_ op: String, table: CommandTable) throws(ACLRuleError) {
        let lower = op.lowercased()
        let bytes = Array(op.utf8)
        if lower == "allkeys" || op == "~*" {
            allKeys = true
            keys = []
        } else if lower == "resetkeys" {
            allKeys = false
            keys = []
        } else if lower == "allchannels" || op == "&*" {
            allChannels = true
            channels = []
        } else if lower == "resetchannels" {
            allChannels = false
            channels = []
        } else if lower == "allcommands" || lower == "+@all" {
            setAll(true)
        } else if lower == "nocommands" || lower == "-@all" {
            setAll(false)
        } else if bytes.first == UInt8(ascii: "~") || bytes.first == UInt8(ascii: "%") {
            try addKeyPattern(bytes)
        } else if bytes.first == UInt8(ascii: "&") {
            guard !allChannels else { throw .channelAfterAll }
            let pattern = Array(bytes.dropFirst())
            if !channels.contains(pattern) { channels.append(pattern) }
        } else if (bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-")) && bytes.count > 1 && bytes[1] == UInt8(ascii: "@") {
            guard let category = ACLCategories.named(String(op.dropFirst(2))) else { throw .unknownName }
            set(category, allow: bytes[0] == UInt8(ascii: "+"), table: table)
        } else if bytes.first == UInt8(ascii: "+") {
            try allowCommand(String(op.dropFirst()), table: table)
        } else if bytes.first == UInt8(ascii: "-") {
            guard let command = table.find(fullName: String(op.dropFirst())) else { throw .unknownName }
            change(command, allow: false)
        } else {
            throw .syntax
        }
    }

    private mutating func addKeyPattern(_ bytes: [UInt8]) throws(ACLRuleError) {
        guard !allKeys else { throw .keyAfterAll }
        var access: KeyAccess = [.read, .write]
        var offset = 1
        if bytes[0] == UInt8(ascii: "%") {
            access = []
            var closed = false
            while offset < bytes.count {
                let c = bytes[offset] & ~0x20   // upper case
                offset += 1
                if c == UInt8(ascii: "R") && !access.contains(.read) { access.insert(.read) }
                else if c == UInt8(ascii: "W") && !access.contains(.write) { access.insert(.write) }
                else if bytes[offset - 1] == UInt8(ascii: "~") { closed = true; break }
                else { throw .syntax }
            }
            guard closed, !access.isEmpty else { throw .syntax }
        }
        let pattern = Array(bytes[offset...])
        if let i = keys.firstIndex(where: { $0.pattern == pattern }) {
            keys[i].access.formUnion(access)
        } else {
            keys.append(KeyPattern(pattern: pattern, access: access))
        }
    }

    /// `+cmd`, `+container|sub`, or `+cmd|firstarg` for a command without subcommands.
    private mutating func allowCommand(_ name: String, table: CommandTable) throws(ACLRuleError) {
        guard let bar = name.lastIndex(of: "|") else {
            guard let command = table.find(fullName: name) else { throw .unknownName }
            return change(command, allow: true)
        }
        let head = String(name[..<bar]), arg = String(name[name.index(after: bar)...])
        guard let command = table.find(fullName: head) else { throw .unknownName }
        guard !command.fullName.contains("|") else { throw .subcommandFirstArg }
        guard !arg.isEmpty else { throw .syntax }
        if command.hasSubcommands {
            guard let sub = command.subcommands[arg.lowercased()] else { throw .unknownName }
            change(sub, allow: true)
        } else if !(firstArgs[command.statsIndex] ?? []).contains(where: { $0.lowercased() == arg.lowercased() }) {
            firstArgs[command.statsIndex, default: []].append(arg)
        }
    }

    // MARK: Checks

    /// acl.c `ACLSelectorCheckCmd`: nil when this selector allows the invocation, else the
    /// refusal and the position of the argument it is about (0 for the command).
    func check(_ command: Command, _ args: Arguments) -> (ACLDenial, Int)? {
        if !command.flags.contains(.noAuth) && !allows(command) {
            let argIndex = command.fullName.contains("|") ? 2 : 1
            guard let allowedArgs = firstArgs[command.statsIndex], args.count > argIndex,
                  allowedArgs.contains(where: { $0.lowercased() == args[argIndex].string.lowercased() }) else {
                return (.command, 0)
            }
        }
        if !allKeys {
            for (ordinal, position) in command.keys.positions(in: args).enumerated() {
                let access = command.keyAccess(ordinal: ordinal, args)
                let granted = args.withUnsafeBytes(position) { key in
                    keys.contains { $0.access.isSuperset(of: access) && $0.pattern.globMatches(key) }
                }
                if !granted { return (.key, position) }
            }
        }
        if !allChannels, let channelArguments = command.aclChannels {
            let last = channelArguments.onlyFirst ? min(1, args.count - 1) : args.count - 1
            for position in stride(from: 1, through: last, by: 1) {
                let channel = args[position].bytes
                // A pattern (PSUBSCRIBE) must be granted literally; a channel matches patterns.
                let granted = channels.contains { channelArguments.patterns ? $0 == channel : $0.globMatches(channel) }
                if !granted { return (.channel, position) }
            }
        }
        return nil
    }

    /// Whether a subscription may stay after the rules changed (pattern subscriptions need the
    /// identical `&` pattern, as PSUBSCRIBE does).
    func allowsSubscription(_ name: [UInt8], isPattern: Bool) -> Bool {
        allChannels || channels.contains { isPattern ? $0 == name : $0.globMatches(name) }
    }

    // MARK: Description

    /// `~k %R~r resetchannels &c -@all +get`: as ACL LIST shows a selector (acl.c `ACLDescribeSelector`).
    func describe(table: CommandTable) -> String {
        var parts: [String] = []
        if allKeys { parts.append("~*") } else { parts += keys.map(\.description) }
        if allChannels {
            parts.append("&*")
        } else {
            parts.append("resetchannels")
            parts += channels.map { "&" + String(decoding: $0, as: UTF8.self) }
        }
        parts.append(describeCommands(table: table))
        return parts.joined(separator: " ")
    }

    var describeKeys: String { allKeys ? "~*" : keys.map(\.description).joined(separator: " ") }
    var describeChannels: String {
        allChannels ? "&*" : channels.map { "&" + String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// The shortest rules Redis finds for the command bits (acl.c `ACLDescribeSelectorCommandRules`):
    /// start from `+@all` or `-@all`, then repeatedly apply the category that best fits what is
    /// left, then single commands for the remaining differences. A fake selector replays the
    /// rules as they are emitted, so the result rebuilds exactly these bits.
    func describeCommands(table: CommandTable) -> String {
        let additive = !futureCommands
        var rules = [additive ? "-@all" : "+@all"]
        var fake = ACLSelector(commandCount: table.indexed.count)
        fake.setAll(!additive)
        var remaining = self
        var applied = Set<Int>()
        while true {
            var best = -1, minDiff = Int.max, maxSame = 0
            for (j, entry) in ACLCategories.named.enumerated() where !applied.contains(j) {
                var on = 0, off = 0
                for command in table.aclOrder where command.aclCategories.contains(entry.category) {
                    if remaining.allows(command) { on += 1 } else { off += 1 }
                }
                let diff = additive ? off : on, same = additive ? on : off
                if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
                    (best, minDiff, maxSame) = (j, diff, same)
                }
            }
            guard best >= 0 else { break }
            let category = ACLCategories.named[best]
            fake.set(category.category, allow: additive, table: table)
            remaining.set(category.category, allow: !additive, table: table)
            rules.append((additive ? "+@" : "-@") + category.name)
            applied.insert(best)
        }
        for command in table.aclOrder {
            let bit = allows(command)
            if bit != fake.allows(command) {
                rules.append((bit ? "+" : "-") + command.fullName)
                fake.change(command, allow: bit)
            }
            if !bit, let args = firstArgs[command.statsIndex] {
                rules += args.map { "+\(command.fullName)|\($0)" }
            }
        }
        return rules.joined(separator: " ")
    }
}

/// A user (acl.c `user`): flags, password hashes and selectors, the first one the root.
public struct ACLUser: Equatable, Sendable {
    public let name: String
    public var enabled = false
    public var noPassword = false
    /// `skip-sanitize-payload` / `sanitize-payload` (RESTORE payload checks): nil until either is set.
    public var sanitizePayload: Bool? = nil
    /// SHA-256 of each password, lower-case hex, in the order they were added.
    public var passwords: [String] = []
    public var selectors: [ACLSelector]

    init(name: String, table: CommandTable, allChannels: Bool) {
        self.name = name
        var root = ACLSelector(commandCount: table.indexed.count)
        root.allChannels = allChannels
        selectors = [root]
    }

    /// Applies one rule (acl.c `ACLSetUser`); the caller applies a list of them to a copy, so
    /// that a failing rule leaves the user as it was.
    mutating func apply(_ op: String, table: CommandTable, pubsubDefaultAll: Bool) throws(ACLRuleError) {
        let lower = op.lowercased()
        switch lower {
        case "on": enabled = true
        case "off": enabled = false
        case "skip-sanitize-payload": sanitizePayload = false
        case "sanitize-payload": sanitizePayload = true
        case "nopass": noPassword = true; passwords = []
        case "resetpass": noPassword = false; passwords = []
        case "clearselectors": selectors = [selectors[0]]
        case "reset":
            for rule in ["resetpass", "resetkeys", "resetchannels"] + (pubsubDefaultAll ? ["allchannels"] : [])
                + ["off", "clearselectors", "-@all"] {
                try apply(rule, table: table, pubsubDefaultAll: pubsubDefaultAll)
            }
            sanitizePayload = true   // Redis's `reset` ends with sanitize-payload
        default:
            let first = op.utf8.first
            if first == UInt8(ascii: ">") {
                let hash = SHA256.hex(Array(op.utf8.dropFirst()))
                if !passwords.contains(hash) { passwords.append(hash) }
                noPassword = false
            } else if first == UInt8(ascii: "#") {
                let hash = try Self.validHash(op.dropFirst())
                if !passwords.contains(hash) { passwords.append(hash) }
                noPassword = false
            } else if first == UInt8(ascii: "<") {
                let hash = SHA256.hex(Array(op.utf8.dropFirst()))
                guard let i = passwords.firstIndex(of: hash) else { throw .noSuchPassword }
                passwords.remove(at: i)
            } else if first == UInt8(ascii: "!") {
                let hash = try Self.validHash(op.dropFirst())
                guard let i = passwords.firstIndex(of: hash) else { throw .noSuchPassword }
                passwords.remove(at: i)
            } else if first == UInt8(ascii: "("), op.hasSuffix(")") {
                var selector = ACLSelector(commandCount: table.indexed.count)
                selector.allChannels = pubsubDefaultAll
                for rule in op.dropFirst().dropLast().split(separator: " ") {
                    try selector.apply(String(rule), table: table)
                }
                selectors.append(selector)
            } else {
                try selectors[0].apply(op, table: table)
            }
        }
    }

    private static func validHash(_ text: Substring) throws(ACLRuleError) -> String {
        guard text.utf8.count == 64, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw .badHash
        }
        return String(text)
    }

    /// Whether `password` opens this user (AUTH): enabled, and nopass or a matching hash.
    func accepts(_ password: ByteBuffer) -> Bool {
        guard enabled else { return false }
        if noPassword { return true }
        let hash = SHA256.hex(password.readableBytesView)
        // Compare every stored hash in full, so the time taken does not tell which one matched.
        var found = false
        for stored in passwords where stored == hash { found = true }
        return found
    }

    /// acl.c `ACLCheckAllUserCommandPerm`: nil when some selector allows the invocation, else
    /// the most relevant refusal (and its argument's position) among all selectors.
    func check(_ command: Command, _ args: Arguments) -> (ACLDenial, Int)? {
        var worst: (ACLDenial, Int) = (.command, 0)
        for selector in selectors {
            guard let denial = selector.check(command, args) else { return nil }
            if denial.0 > worst.0 || (denial.0 == worst.0 && denial.1 > worst.1) { worst = denial }
        }
        return worst
    }

    /// The flags ACL LIST and GETUSER show, in Redis's order.
    var flagNames: [String] {
        var out = [enabled ? "on" : "off"]
        if noPassword { out.append("nopass") }
        if let sanitizePayload { out.append(sanitizePayload ? "sanitize-payload" : "skip-sanitize-payload") }
        return out
    }

    /// `on #hash ~* &* +@all (~w:* resetchannels -@all +set)`: the rules after `user <name>` in
    /// ACL LIST and in the ACL file (acl.c `ACLDescribeUser`).
    func describe(table: CommandTable) -> String {
        var parts = flagNames + passwords.map { "#" + $0 }
        parts.append(selectors[0].describe(table: table))
        parts += selectors.dropFirst().map { "(" + $0.describe(table: table) + ")" }
        return parts.joined(separator: " ")
    }
}

extension CommandTable {
    /// A command by full name, any case: `get`, `config|get`.
    public func find(fullName: String) -> Command? {
        let parts = fullName.lowercased().split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        guard let command = commands[String(parts[0])] else { return nil }
        return parts.count == 2 ? command.subcommands[String(parts[1])] : command
    }
}
