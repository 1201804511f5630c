import Atomics
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import Keyspace
import RESP

/// The server's ACL users (Redis's acl.c), the ACL log, and the ACL file.
///
/// Users change rarely and are read on every command, so a connection keeps a copy of its
/// user and compares `generation` (one relaxed load) before each command; every change bumps it.
/// A connection whose user may run everything skips the check after that load.
public final class AccessControl: Sendable {
    private let users: NIOLockedValueBox<[String: ACLUser]>
    /// Bumped (under the users lock) by every change of any user.
    let generation = UnsafeAtomic<Int>.create(1)
    let table: CommandTable
    /// `acl-pubsub-default allchannels`: new users (and `reset`) start with `&*`.
    public let pubsubDefaultAll = ManagedAtomic<Bool>(false)
    /// `acllog-max-len`.
    public let logMaxLength = ManagedAtomic<Int>(128)
    private let log = NIOLockedValueBox<[ACLLogEntry]>([])
    private let aclFile = NIOLockedValueBox<String>("")

    /// `aclfile` (empty: none); relative paths resolve against the working directory (`dir`),
    /// as in Redis.
    public var filePath: String {
        get { aclFile.withLockedValue { $0 } }
        set { aclFile.withLockedValue { $0 = newValue } }
    }

    public init(table: CommandTable) {
        self.table = table
        var root = ACLUser(name: "default", table: table, allChannels: true)
        // The default user as Redis creates it: `on nopass ~* &* +@all`.
        for rule in ["on", "nopass", "~*", "+@all"] {
            try! root.apply(rule, table: table, pubsubDefaultAll: true)
        }
        users = NIOLockedValueBox(["default": root])
    }

    deinit { generation.destroy() }

    public func user(named name: String) -> ACLUser? { users.withLockedValue { $0[name] } }

    /// ACL USERS: every name, sorted.
    public var userNames: [String] { users.withLockedValue { $0.keys.sorted() } }

    /// Whether a new connection starts authenticated (as `default`): Redis's rule, the default
    /// user is enabled and needs no password.
    public var defaultUserNeedsNoPassword: Bool {
        users.withLockedValue { $0["default"].map { $0.enabled && $0.noPassword } ?? false }
    }

    /// ACL SETUSER: applies `rules` to (a copy of) the user, creating it if needed; nothing
    /// changes when a rule fails. Returns the failing rule and why.
    public func setUser(_ name: String, rules: [String]) -> (rule: String, error: ACLRuleError)? {
        let allChannels = pubsubDefaultAll.load(ordering: .relaxed)
        return users.withLockedValue { users in
            var user = users[name] ?? ACLUser(name: name, table: table, allChannels: allChannels)
            for rule in rules {
                do throws(ACLRuleError) { try user.apply(rule, table: table, pubsubDefaultAll: allChannels) } catch { return (rule, error) }
            }
            users[name] = user
            generation.wrappingIncrement(ordering: .relaxed)
            return nil
        }
    }

    /// ACL DELUSER: how many of `names` existed (the default user cannot be removed).
    public func deleteUsers(_ names: [String]) -> Int {
        users.withLockedValue { users in
            let removed = names.reduce(0) { $0 + (users.removeValue(forKey: $1) == nil ? 0 : 1) }
            generation.wrappingIncrement(ordering: .relaxed)
            return removed
        }
    }

    /// `requirepass`: the default user's only password (none: `nopass`), as Redis 7.0 sets it.
    public func setDefaultPassword(_ password: String) {
        _ = setUser("default", rules: password.isEmpty ? ["resetpass", "nopass"] : ["resetpass", ">" + password])
    }

    /// The user `name` if `password` opens it (AUTH, HELLO AUTH).
    public func authenticate(_ name: String, _ password: ByteBuffer) -> ACLUser? {
        guard let user = user(named: name), user.accepts(password) else { return nil }
        return user
    }

    /// Replaces every user but keeps the default one when `definitions` do not define it (ACL
    /// LOAD and the `user` lines of the configuration file). Nothing changes when a definition
    /// is bad; the error says which, through `explain(index, problem)`.
    public func replaceUsers(with definitions: [(name: String, rules: [String])],
                             explain: (Int, String) -> String) throws(ACLFileError) {
        let allChannels = pubsubDefaultAll.load(ordering: .relaxed)
        var fresh: [String: ACLUser] = [:]
        for (index, definition) in definitions.enumerated() {
            guard !definition.name.isEmpty, !definition.name.contains(where: { $0 == " " }) else {
                throw ACLFileError(message: explain(index, "The username is not valid"))
            }
            guard fresh[definition.name] == nil else {
                throw ACLFileError(message: explain(index, "Duplicate user '\(definition.name)' found"))
            }
            var user = ACLUser(name: definition.name, table: table, allChannels: allChannels)
            for rule in definition.rules {
                do {
                    try user.apply(rule, table: table, pubsubDefaultAll: allChannels)
                } catch {
                    throw ACLFileError(message: explain(index, "Error in applying operation '\(rule)': \(error.message)"))
                }
            }
            fresh[definition.name] = user
        }
        users.withLockedValue { users in
            if fresh["default"] == nil { fresh["default"] = users["default"] }
            users = fresh
            generation.wrappingIncrement(ordering: .relaxed)
        }
    }

    /// Every user as a line of an ACL file (`user <name> <rules>`), sorted by name.
    public var fileLines: [String] {
        users.withLockedValue { $0.values.sorted { $0.name < $1.name } }.map { "user \($0.name) \($0.describe(table: table))" }
    }

    // MARK: The ACL file

    /// Reads an ACL file: its `user` lines (blank lines and `#` comments skipped).
    public static func parseFile(_ path: String) throws(ACLFileError) -> [(name: String, rules: [String], line: Int)] {
        guard let file = fopen(path, "r") else {
            throw ACLFileError(message: "Error loading ACLs, opening file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            text += chunk[0..<n]
        }
        var out: [(String, [String], Int)] = []
        for (number, line) in String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            guard first == "user", words.count >= 2 else {
                throw ACLFileError(message: "\(path):\(number + 1) should start with user keyword followed by the username. " + loadWarning)
            }
            out.append((words[1], mergeSelectors(Array(words.dropFirst(2))), number + 1))
        }
        return out
    }

    static let loadWarning = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"

    /// ACL LOAD from `path`, all or nothing.
    public func load(_ path: String) throws(ACLFileError) {
        let definitions = try Self.parseFile(path)
        var seen = Set<String>()
        for definition in definitions where !seen.insert(definition.name).inserted {
            throw ACLFileError(message: "WARNING: Duplicate user '\(definition.name)' found on line \(definition.line). " + Self.loadWarning)
        }
        try replaceUsers(with: definitions.map { ($0.name, $0.rules) }) { "\(path):\(definitions[$0].line): \($1). " + Self.loadWarning }
    }

    /// ACL SAVE to `path`: written to a temporary file beside it, then renamed over it, so a
    /// crash leaves the old file or the new one, never half of one.
    public func save(_ path: String) -> String? {
        let temporary = path + ".tmp-\(getpid())"
        guard let file = fopen(temporary, "w") else { return String(cString: strerror(errno)) }
        let text = Array(fileLines.map { $0 + "\n" }.joined().utf8)
        let written = text.isEmpty ? 0 : fwrite(text, 1, text.count, file)
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written == text.count, flushed, rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            return message
        }
        return nil
    }

    /// Joins `(`...`)` selector words split by spaces back into one rule each (acl.c
    /// `ACLMergeSelectorArguments`); an unclosed one is returned as it is and fails to apply.
    public static func mergeSelectors(_ words: [String]) -> [String] {
        var out: [String] = []
        var open: String? = nil
        for word in words {
            if var selector = open {
                selector += " " + word
                if word.hasSuffix(")") { out.append(selector); open = nil } else { open = selector }
            } else if word.hasPrefix("(") && !word.hasSuffix(")") {
                open = word
            } else {
                out.append(word)
            }
        }
        if let open { out.append(open) }
        return out
    }

    // MARK: The ACL log

    /// Records a refusal; a repeat of the same refusal (reason, context, object, user) within
    /// 60 s updates the existing entry, as Redis does.
    public func record(_ denial: ACLDenial, context: String, object: String, user: String, clientInfo: String) {
        let now = currentTimeMillis()
        let max = logMaxLength.load(ordering: .relaxed)
        log.withLockedValue { log in
            if let i = log.firstIndex(where: { $0.reason == denial && $0.context == context && $0.object == object
                                                && $0.user == user && now - $0.createdAt < 60_000 }) {
                var entry = log.remove(at: i)
                entry.count += 1
                entry.createdAt = now
                entry.clientInfo = clientInfo
                log.insert(entry, at: 0)
            } else {
                log.insert(ACLLogEntry(reason: denial, context: context, object: object, user: user,
                                       clientInfo: clientInfo, createdAt: now), at: 0)
            }
            if log.count > max { log.removeLast(log.count - max) }
        }
    }

    /// Newest first.
    public func logEntries(limit: Int) -> [ACLLogEntry] { log.withLockedValue { Array($0.prefix(limit)) } }
    public func resetLog() { log.withLockedValue { $0 = [] } }
    /// `acllog-max-len` lowered: drops the oldest entries at once.
    public func trimLog() {
        let max = logMaxLength.load(ordering: .relaxed)
        log.withLockedValue { if $0.count > max { $0.removeLast($0.count - max) } }
    }
}

public struct ACLFileError: Error, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
}

/// One ACL LOG entry.
public struct ACLLogEntry: Sendable {
    var count = 1
    let reason: ACLDenial
    /// `toplevel` or `multi`.
    let context: String
    /// The command, key or channel refused, or `AUTH`.
    let object: String
    let user: String
    var clientInfo: String
    var createdAt: Int64
}
