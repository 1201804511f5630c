import NIOCore
import Keyspace
import RESP

/// Redis command flags (`COMMAND INFO` reports them; the server enforces some).
public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let denyoom = CommandFlags(rawValue: 1 << 2)
    public static let admin = CommandFlags(rawValue: 1 << 3)
    public static let pubsub = CommandFlags(rawValue: 1 << 4)
    public static let noscript = CommandFlags(rawValue: 1 << 5)
    public static let blocking = CommandFlags(rawValue: 1 << 6)
    public static let loading = CommandFlags(rawValue: 1 << 7)
    public static let stale = CommandFlags(rawValue: 1 << 8)
    public static let fast = CommandFlags(rawValue: 1 << 9)
    /// Allowed before AUTH (AUTH, HELLO, QUIT, RESET).
    public static let noAuth = CommandFlags(rawValue: 1 << 10)
    /// Refused inside MULTI (MULTI, WATCH) or executed immediately (EXEC, DISCARD, QUIT, RESET).
    public static let noMulti = CommandFlags(rawValue: 1 << 11)
    /// Reaches keys it cannot name up front (KEYS, SCAN, FLUSHALL, SORT ... BY): lock every shard.
    public static let wholeKeyspace = CommandFlags(rawValue: 1 << 12)
    /// Touches no key at all: no shard lock is taken.
    public static let noKeyspace = CommandFlags(rawValue: 1 << 13)
    /// Allowed in RESP2 while subscribed.
    public static let pubsubContext = CommandFlags(rawValue: 1 << 14)
    /// EXEC: holds the shards of every queued command and watched key while it runs them.
    public static let runsQueued = CommandFlags(rawValue: 1 << 15)
    /// Not written to the slow log (EXEC: its commands are, one by one).
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 16)

    public var names: [String] {
        var out: [String] = []
        let table: [(CommandFlags, String)] = [
            (.write, "write"), (.readonly, "readonly"), (.denyoom, "denyoom"), (.admin, "admin"),
            (.pubsub, "pubsub"), (.noscript, "noscript"), (.blocking, "blocking"), (.loading, "loading"),
            (.stale, "stale"), (.fast, "fast"), (.noAuth, "no_auth"), (.noMulti, "no_multi"),
            (.skipSlowlog, "skip_slowlog"),
        ]
        for (flag, name) in table where contains(flag) { out.append(name) }
        return out
    }
}

/// Where a command's key arguments are (Redis's legacy first/last/step plus the `numkeys` form).
public enum KeySpec: Sendable {
    case none
    /// Keys at `first`, `first+step`, ... up to `last` (negative: counted from the end, -1 = last).
    case range(first: Int, last: Int, step: Int)
    /// `numkeys` at index `countIndex`, the keys right after it; `also` lists fixed extra key
    /// positions (ZUNIONSTORE's destination at 1).
    case counted(countIndex: Int, also: [Int])
    /// Computed by a function of the arguments (positions of the keys).
    case custom(@Sendable (Arguments) -> [Int])

    /// Positions of key arguments for this invocation (already arity-checked).
    public func positions(in args: Arguments) -> [Int] {
        switch self {
        case .none:
            return []
        case .range:
            return rangePositions(argumentCount: args.count).map(Array.init) ?? []
        case let .counted(countIndex, also):
            guard countIndex < args.count, let n = args[countIndex].intValue, n > 0 else { return also }
            let first = countIndex + 1
            // `n` comes from the client: compare before adding so a huge numkeys cannot overflow.
            let last = n >= args.count - first ? args.count : first + n
            return also + Array(first..<last)
        case let .custom(f):
            return f(args)
        }
    }

    /// For `.range`, the key positions of an invocation with `argumentCount` arguments as a
    /// stride (no array: the dispatcher walks it on every multi-key command); nil otherwise.
    @inlinable
    public func rangePositions(argumentCount: Int) -> StrideThrough<Int>? {
        guard case let .range(first, last, step) = self else { return nil }
        let end = last < 0 ? argumentCount + last : min(last, argumentCount - 1)
        // An empty stride when the invocation has no key at these positions.
        return stride(from: first, through: max(end, first - 1), by: step)
    }

    /// The legacy (first, last, step) triple COMMAND INFO reports.
    public var legacy: (Int, Int, Int) {
        switch self {
        case .none: return (0, 0, 0)
        case let .range(first, last, step): return (first, last, step)
        case .counted: return (0, 0, 0)   // as Redis reports numkeys commands
        case .custom: return (0, 0, 0)
        }
    }
}

public typealias CommandHandler = @Sendable (inout CommandContext) -> Void

/// One row of the command table: everything the server needs to know about a command before it
/// runs it (arity, flags, where its keys are) and the handler that runs it.
///
/// A class so that passing a command around costs one reference count, not a copy of every field.
/// SAFETY: `@unchecked Sendable` because the `var`s (`fullName`, `statsIndex`, the ACL facts) are
/// assigned while the table is being built, before any thread can see the command.
public final class Command: @unchecked Sendable {
    public let name: String
    /// The name as two overlapping little-endian loads, every byte OR 0x20 (ASCII lower case):
    /// the first and last 8 bytes (4 for names of 4-7 bytes; for shorter names the bytes one by
    /// one). The connection's one-entry lookup cache compares a request's first argument with
    /// these in a few instructions, without touching (and reference counting) an array.
    @usableFromInline let nameHead: UInt64
    @usableFromInline let nameTail: UInt64
    @usableFromInline let nameLength: Int
    /// True for containers (CONFIG, CLIENT, ...): the second argument names a subcommand.
    public let hasSubcommands: Bool
    /// `parent|name` for subcommands (what COMMAND LIST and CLIENT LIST show), else `name`.
    public private(set) var fullName: String
    /// Redis convention: N means exactly N arguments including the name, -N means at least N.
    public let arity: Int
    public let flags: CommandFlags
    public let keys: KeySpec
    /// Docs group (`string`, `list`, `connection`, ...).
    public let group: String
    public let summary: String
    public let handler: CommandHandler
    public let subcommands: [String: Command]
    /// A container whose handler also runs when no subcommand is given (plain COMMAND).
    public let runsWithoutSubcommand: Bool
    /// Position of the only key, for commands whose key spec names exactly one.
    public let singleKeyIndex: Int?
    /// Where the command's counters are in `CommandStatistics` (its place in
    /// `CommandTable.indexed`); assigned while the table is built.
    public internal(set) var statsIndex = 0
    /// ACL categories (`+@read`), as redis-server reports them for this command (ACLCategories.swift).
    public internal(set) var aclCategories: ACLCategories = []
    /// The read/write access of each of Redis's key specs for this command, for `%R~`/`%W~`.
    var aclKeySpecs: [KeyAccess] = []
    /// The channels it names, for `&pattern` rules; nil for commands that name none.
    var aclChannels: ACLChannelArguments? = nil

    public init(_ name: String, arity: Int, flags: CommandFlags, keys: KeySpec = .none, group: String,
                summary: String = "", subcommands: [Command] = [], runsWithoutSubcommand: Bool = false,
                handler: @escaping CommandHandler = { _ in }) {
        self.runsWithoutSubcommand = runsWithoutSubcommand
        self.name = name
        let bytes = Array(name.utf8)
        (nameHead, nameTail) = bytes.withUnsafeBytes { Command.nameWords($0) }
        self.nameLength = bytes.count
        self.hasSubcommands = !subcommands.isEmpty
        self.fullName = name
        self.arity = arity
        self.flags = flags
        self.keys = keys
        self.group = group
        self.summary = summary
        self.handler = handler
        if case let .range(first, last, _) = keys, first == last, !flags.contains(.wholeKeyspace), !flags.contains(.noKeyspace) {
            singleKeyIndex = first
        } else {
            singleKeyIndex = nil
        }
        var subs: [String: Command] = [:]
        for s in subcommands {
            s.fullName = "\(name)|\(s.name)"
            subs[s.name] = s
        }
        self.subcommands = subs
    }

    /// True when `arg` is this command's name in any letter case.
    @inlinable
    public func isNamed(_ arg: UnsafeRawBufferPointer) -> Bool {
        guard arg.count == nameLength, nameLength <= 16 else { return false }
        let words = Command.nameWords(arg)
        return words.head == nameHead && words.tail == nameTail
    }

    /// See `nameHead`: a name of up to 16 bytes as two words, case folded.
    @inlinable
    static func nameWords(_ raw: UnsafeRawBufferPointer) -> (head: UInt64, tail: UInt64) {
        let n = raw.count
        if n >= 8 {
            return (raw.loadUnaligned(as: UInt64.self) | 0x2020_2020_2020_2020,
                    raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) | 0x2020_2020_2020_2020)
        }
        if n >= 4 {
            return (UInt64(raw.loadUnaligned(as: UInt32.self) | 0x2020_2020),
                    UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) | 0x2020_2020))
        }
        var head: UInt64 = 0
        for i in 0..<n { head |= UInt64(raw[i] | 0x20) << UInt64(8 * i) }
        return (head, 0)
    }

    public func acceptsArgumentCount(_ n: Int) -> Bool {
        arity >= 0 ? n == arity : n >= -arity
    }
}

/// All commands by lower-case name.
public struct CommandTable: Sendable {
    public let commands: [String: Command]
    /// Every command and subcommand, each at its `statsIndex`, in registration order.
    public let indexed: [Command]
    /// Every command by name, each container followed by its subcommands: the order in which
    /// ACL rules are applied to, and described from, the command bits.
    public let aclOrder: [Command]

    public init(_ commands: [Command]) {
        var byName: [String: Command] = [:]
        var indexed: [Command] = []
        for c in commands {
            precondition(byName[c.name] == nil, "command \(c.name) registered twice")
            byName[c.name] = c
            for command in [c] + c.subcommands.values.sorted(by: { $0.name < $1.name }) {
                command.statsIndex = indexed.count
                if let facts = ACLFacts.byName[command.fullName] {
                    command.aclCategories = facts.categories
                    command.aclKeySpecs = facts.keySpecs
                } else {
                    command.aclCategories = ACLCategories.implied(by: command.flags)
                    command.aclKeySpecs = [[.read, .write]]
                }
                command.aclChannels = ACLChannelArguments.of(command.fullName)
                indexed.append(command)
            }
        }
        self.commands = byName
        self.indexed = indexed
        self.aclOrder = byName.keys.sorted().flatMap { name -> [Command] in
            let c = byName[name]!
            return [c] + c.subcommands.values.sorted { $0.name < $1.name }
        }
    }

    /// Looks a command up by its (any-case) name without allocating for names up to 32 bytes.
    public func lookup(_ name: ByteBuffer) -> Command? {
        name.withUnsafeReadableBytes { lookup($0) }
    }

    public func lookup(_ raw: UnsafeRawBufferPointer) -> Command? {
        let n = raw.count
        guard n > 0, n <= 32 else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { lower in
            for i in 0..<n {
                let c = raw[i]
                lower[i] = (c >= 65 && c <= 90) ? c | 0x20 : c
            }
            let s = String(decoding: UnsafeBufferPointer(lower), as: UTF8.self)
            return commands[s]
        }
    }

    /// Every command Swiftlet serves, one array per file.
    public static let allCommands: [Command] =
        keyCommands + sortCommands + stringCommands + bitmapCommands + listCommands + hashCommands + setCommands + sortedSetCommands
        + connectionCommands + serverCommands + persistenceCommands + transactionCommands + pubsubCommands
        + replicationCommands + memoryCommands + diagnosticCommands + aclCommands

    public static let standard = CommandTable(allCommands)
}
