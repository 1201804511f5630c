import NIOCore
import Keyspace
import RESP

/// ACL and the permission check on the command path (Redis's acl.c). Users live in
/// `AccessControl`; this file is the commands and the glue to connections.
extension CommandTable {
    private static let aclFlags: CommandFlags = [.admin, .noscript, .loading, .stale, .noKeyspace]
    private static let aclOpenFlags: CommandFlags = [.noscript, .loading, .stale, .noKeyspace]

    static let aclCommands: [Command] = [
        Command("acl", arity: -2, flags: [.noKeyspace], group: "server", summary: "A container for Access List Control commands.",
                subcommands: [
                    Command("setuser", arity: -3, flags: aclFlags, group: "server",
                            summary: "Creates and modifies an ACL user and its rules.", handler: aclSetUser),
                    Command("getuser", arity: 3, flags: aclFlags, group: "server",
                            summary: "Lists the ACL rules of a user.", handler: aclGetUser),
                    Command("deluser", arity: -3, flags: aclFlags, group: "server",
                            summary: "Deletes ACL users, and terminates their connections.", handler: aclDelUser),
                    Command("list", arity: 2, flags: aclFlags, group: "server",
                            summary: "Dumps the effective rules in ACL file format.") { ctx in
                        let lines = ctx.server.acl.fileLines
                        ctx.out.array(lines.count)
                        for line in lines { ctx.out.bulk(line) }
                    },
                    Command("users", arity: 2, flags: aclFlags, group: "server", summary: "Lists all ACL users.") { ctx in
                        let names = ctx.server.acl.userNames
                        ctx.out.array(names.count)
                        for name in names { ctx.out.bulk(name) }
                    },
                    Command("whoami", arity: 2, flags: aclOpenFlags, group: "server",
                            summary: "Returns the authenticated username of the current connection.") { ctx in
                        ctx.out.bulk(ctx.client.userName)
                    },
                    Command("cat", arity: -2, flags: aclOpenFlags, group: "server",
                            summary: "Lists the ACL categories, or the commands inside a category.", handler: aclCat),
                    Command("genpass", arity: -2, flags: aclOpenFlags, group: "server",
                            summary: "Generates a pseudorandom, secure password that can be used to identify ACL users.", handler: aclGenPass),
                    Command("log", arity: -2, flags: aclFlags, group: "server",
                            summary: "Lists recent security events generated due to ACL rules.", handler: aclLog),
                    Command("dryrun", arity: -4, flags: aclFlags, group: "server",
                            summary: "Simulates the execution of a command by a user, without executing the command.", handler: aclDryRun),
                    Command("load", arity: 2, flags: aclFlags, group: "server",
                            summary: "Reloads the rules from the configured ACL file.", handler: aclLoad),
                    Command("save", arity: 2, flags: aclFlags, group: "server",
                            summary: "Saves the effective ACL rules in the configured ACL file.", handler: aclSave),
                    Command("help", arity: 2, flags: [.loading, .stale, .noKeyspace], group: "server",
                            summary: "Returns helpful text about the different subcommands.") { ctx in
                        ctx.replyHelp(aclHelp)
                    },
                ]),
    ]

    private static let aclHelp = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]", "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]", "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>", "    Get the user's details.",
        "GENPASS [<bits>]", "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST", "    Show users details in config file format.",
        "LOAD", "    Reload users from the ACL file.",
        "LOG [<count> | RESET]", "    Show the ACL log entries.",
        "SAVE", "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]", "    Create or modify a user with the specified attributes.",
        "USERS", "    List all the registered usernames.",
        "WHOAMI", "    Return the current connection username.",
        "HELP", "    Prints this help.",
    ]

    static func aclSetUser(_ ctx: inout CommandContext) {
        let name = ctx.args[2].string
        guard !name.contains(" ") else { return ctx.out.error("ERR Usernames can't contain spaces or null characters") }
        let words = ctx.args.dropFirst(3).map(\.string)
        let rules = AccessControl.mergeSelectors(words)
        if let open = rules.first(where: { $0.hasPrefix("(") && !$0.hasSuffix(")") }) {
            return ctx.out.error("ERR Unmatched parenthesis in acl selector starting at '\(open)'.")
        }
        if let (rule, error) = ctx.server.acl.setUser(name, rules: rules) {
            return ctx.out.error("ERR Error in ACL SETUSER modifier '\(rule)': \(error.message)")
        }
        ctx.server.disconnectRevokedSubscribers(of: name, &ctx)
        ctx.out.ok()
    }

    static func aclGetUser(_ ctx: inout CommandContext) {
        guard let user = ctx.server.acl.user(named: ctx.args[2].string) else { return ctx.out.null() }
        let table = ctx.server.table
        let root = user.selectors[0]
        ctx.out.map(6)
        ctx.out.bulk("flags")
        ctx.out.set(user.flagNames.count)
        for flag in user.flagNames { ctx.out.bulk(flag) }
        ctx.out.bulk("passwords")
        ctx.out.array(user.passwords.count)
        for hash in user.passwords { ctx.out.bulk(hash) }
        writeSelector(root, table, &ctx)
        ctx.out.bulk("selectors")
        ctx.out.array(user.selectors.count - 1)
        for selector in user.selectors.dropFirst() {
            ctx.out.map(3)
            writeSelector(selector, table, &ctx)
        }
    }

    private static func writeSelector(_ selector: ACLSelector, _ table: CommandTable, _ ctx: inout CommandContext) {
        ctx.out.bulk("commands"); ctx.out.bulk(selector.describeCommands(table: table))
        ctx.out.bulk("keys"); ctx.out.bulk(selector.describeKeys)
        ctx.out.bulk("channels"); ctx.out.bulk(selector.describeChannels)
    }

    static func aclDelUser(_ ctx: inout CommandContext) {
        let names = ctx.args.dropFirst(2).map(\.string)
        guard !names.contains("default") else { return ctx.out.error("ERR The 'default' user cannot be removed") }
        let removed = ctx.server.acl.deleteUsers(names)
        // Redis disconnects the clients authenticated as a deleted user.
        ctx.server.disconnectClients(ofUsersNotIn: ctx.server.acl, &ctx)
        ctx.out.integer(removed)
    }

    static func aclCat(_ ctx: inout CommandContext) {
        guard ctx.args.count <= 3 else { return ctx.out.error("ERR unknown subcommand or wrong number of arguments for '\(ctx.args[1].string)'. Try ACL HELP.") }
        guard ctx.args.count == 3 else {
            ctx.out.array(ACLCategories.named.count)
            for entry in ACLCategories.named { ctx.out.bulk(entry.name) }
            return
        }
        guard let category = ACLCategories.named(ctx.args[2].string) else {
            return ctx.out.error("ERR Unknown category '\(ctx.args[2].string)'")
        }
        let names = ctx.server.table.aclOrder.filter { $0.aclCategories.contains(category) }.map(\.fullName)
        ctx.out.array(names.count)
        for name in names { ctx.out.bulk(name) }
    }

    static func aclGenPass(_ ctx: inout CommandContext) {
        var bits = 256
        if ctx.args.count == 3 {
            guard let n = ctx.args[2].intValue else { return ctx.replyNotInteger() }
            guard n > 0, n <= 4096 else {
                return ctx.out.error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
            }
            bits = n
        } else if ctx.args.count > 3 {
            return ctx.out.error("ERR unknown subcommand or wrong number of arguments for '\(ctx.args[1].string)'. Try ACL HELP.")
        }
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        let chars = (bits + 3) / 4
        ctx.out.bulk(bytes: (0..<chars).map { _ in digits[Int(generator.next() & 15)] })
    }

    static func aclLog(_ ctx: inout CommandContext) {
        var limit = 10
        if ctx.args.count == 3 {
            if ctx.args[2].equalsIgnoringCase("RESET") {
                ctx.server.acl.resetLog()
                return ctx.out.ok()
            }
            guard let n = ctx.args[2].intValue else { return ctx.replyNotInteger() }
            guard n >= 0 else {
                return ctx.out.error("ERR value is out of range, must be positive")
            }
            limit = n
        } else if ctx.args.count > 3 {
            return ctx.out.error("ERR unknown subcommand or wrong number of arguments for '\(ctx.args[1].string)'. Try ACL HELP.")
        }
        let entries = ctx.server.acl.logEntries(limit: limit)
        let now = currentTimeMillis()
        ctx.out.array(entries.count)
        for entry in entries {
            ctx.out.map(7)
            ctx.out.bulk("count"); ctx.out.integer(entry.count)
            ctx.out.bulk("reason"); ctx.out.bulk(entry.reason.reason)
            ctx.out.bulk("context"); ctx.out.bulk(entry.context)
            ctx.out.bulk("object"); ctx.out.bulk(entry.object)
            ctx.out.bulk("username"); ctx.out.bulk(entry.user)
            ctx.out.bulk("age-seconds"); ctx.out.double(Double(now - entry.createdAt) / 1000)
            ctx.out.bulk("client-info"); ctx.out.bulk(entry.clientInfo)
        }
    }

    /// ACL DRYRUN user command args...: OK, or the refusal as a bulk string (Redis's verbose text).
    static func aclDryRun(_ ctx: inout CommandContext) {
        let name = ctx.args[2].string
        guard let user = ctx.server.acl.user(named: name) else { return ctx.out.error("ERR User '\(name)' not found") }
        let args = Arguments(ctx.args.dropFirst(3))
        guard var command = ctx.server.table.lookup(args[0]) else {
            return ctx.out.error("ERR Command '\(args[0].string)' not found")
        }
        if command.hasSubcommands {
            guard args.count >= 2, let sub = command.subcommands[args[1].string.lowercased()] else {
                return ctx.out.error("ERR Command '\(args[0].string)' not found")
            }
            command = sub
        }
        guard command.acceptsArgumentCount(args.count) else {
            return ctx.out.error("ERR wrong number of arguments for '\(command.fullName)' command")
        }
        guard let (denial, position) = user.check(command, args) else { return ctx.out.ok() }
        switch denial {
        case .command: ctx.out.bulk("This user has no permissions to run the '\(command.aclName)' command")
        case .key: ctx.out.bulk("This user has no permissions to access the '\(args[position].string)' key")
        case .channel: ctx.out.bulk("This user has no permissions to access the '\(args[position].string)' channel")
        case .auth: ctx.out.bulk("no permission")
        }
    }

    static let noACLFile = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

    static func aclLoad(_ ctx: inout CommandContext) {
        let path = ctx.server.acl.filePath
        guard !path.isEmpty else { return ctx.out.error("ERR " + noACLFile) }
        do {
            try ctx.server.acl.load(path)
        } catch {
            return ctx.out.error("ERR " + error.message)
        }
        ctx.server.disconnectClients(ofUsersNotIn: ctx.server.acl, &ctx)
        ctx.out.ok()
    }

    static func aclSave(_ ctx: inout CommandContext) {
        let path = ctx.server.acl.filePath
        guard !path.isEmpty else { return ctx.out.error("ERR " + noACLFile) }
        if let error = ctx.server.acl.save(path) {
            return ctx.out.error("ERR There was an error trying to save the ACLs. Please check the server logs for more information (\(error))")
        }
        ctx.out.ok()
    }
}

extension ServerRuntime {
    /// The ACL step of `admit`: after one relaxed load, a connection whose user may run
    /// everything pays one Bool; otherwise its user's selectors decide. On refusal, replies
    /// Redis's -NOPERM, records it in the ACL log and returns true.
    /// EXEC calls it again for each queued command: the rules may have changed since MULTI.
    @inline(__always)
    func refusedByACL(_ command: Command, _ ctx: inout CommandContext) -> Bool {
        let generation = acl.generation.load(ordering: .relaxed)
        if generation != ctx.client.aclGeneration { refreshACL(ctx.client, generation) }
        if ctx.client.aclUnrestricted { return false }
        return checkACL(command, &ctx, context: ctx.client.inMulti || ctx.inTransaction ? "multi" : "toplevel")
    }

    private func refreshACL(_ client: ClientState, _ generation: Int) {
        client.aclGeneration = generation
        if client.aclBypass {
            client.aclUnrestricted = true
            return
        }
        client.aclUser = acl.user(named: client.userName)
        client.aclUnrestricted = client.aclUser.map { user in user.selectors.contains { $0.isUnrestricted(table: table) } } ?? false
    }

    private func checkACL(_ command: Command, _ ctx: inout CommandContext, context: String) -> Bool {
        // A deleted user's connection is being closed; until then it may run nothing.
        let denial: (ACLDenial, Int)
        if let user = ctx.client.aclUser {
            guard let refusal = user.check(command, ctx.args) else { return false }
            denial = refusal
        } else {
            denial = (.command, 0)
        }
        let object = denial.0 == .command ? command.aclName : ctx.args[denial.1].string
        acl.record(denial.0, context: context, object: object, user: ctx.client.userName,
                   clientInfo: ctx.client.infoLine(now: currentTimeMillis()))
        if ctx.inTransaction {
            // EXEC: the rules changed after the command was queued (Redis's execCommand text).
            let reason: String
            switch denial.0 {
            case .command: reason = "no permission to execute the command or subcommand"
            case .key: reason = "no permission to touch the specified keys"
            case .channel: reason = "no permission to access one of the channels used as arguments"
            case .auth: reason = "no permission"
            }
            ctx.out.error("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: \(reason)")
            return true
        }
        switch denial.0 {
        case .command: ctx.out.error("NOPERM this user has no permissions to run the '\(command.aclName)' command")
        case .key: ctx.out.error("NOPERM this user has no permissions to access one of the keys used as arguments")
        case .channel: ctx.out.error("NOPERM this user has no permissions to access one of the channels used as arguments")
        case .auth: ctx.out.error("NOPERM no permission")
        }
        return true
    }

    /// AUTH / HELLO AUTH: on success the connection becomes `name`; on failure the ACL log gets
    /// an `auth` entry. Returns the error to reply, or nil.
    func logIn(_ name: String, _ password: ByteBuffer, _ ctx: inout CommandContext) -> String? {
        guard acl.authenticate(name, password) != nil else {
            acl.record(.auth, context: ctx.client.inMulti ? "multi" : "toplevel", object: ctx.args[0].string, user: name,
                       clientInfo: ctx.client.infoLine(now: currentTimeMillis()))
            return "WRONGPASS invalid username-password pair or user is disabled."
        }
        ctx.client.becomeUser(name)
        return nil
    }

    /// After ACL SETUSER: like Redis, closes the connections of `name` subscribed to a channel
    /// or pattern its new rules no longer allow.
    func disconnectRevokedSubscribers(of name: String, _ ctx: inout CommandContext) {
        guard let user = acl.user(named: name), !user.selectors.contains(where: { $0.allChannels }) else { return }
        let affected = clients.all.filter { $0.userName == name && !$0.aclBypass }
        guard !affected.isEmpty else { return }
        let subscriptions = pubsub.subscriptions(of: Set(affected.map(\.id)))
        for client in affected {
            let revoked = (subscriptions[client.id] ?? []).contains { ns, channel in
                !user.selectors.contains { $0.allowsSubscription(Array(channel.readableBytesView), isPattern: ns == .pattern) }
            }
            guard revoked else { continue }
            if client === ctx.client { ctx.closeAfterReply = true } else { client.connection?.kill() }
        }
    }

    /// After ACL DELUSER or LOAD: closes the connections of users that no longer exist.
    func disconnectClients(ofUsersNotIn acl: AccessControl, _ ctx: inout CommandContext) {
        for client in clients.all where !client.aclBypass && acl.user(named: client.userName) == nil {
            if client === ctx.client { ctx.closeAfterReply = true } else { client.connection?.kill() }
        }
    }
}
