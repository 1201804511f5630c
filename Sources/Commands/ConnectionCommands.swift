import NIOCore
import Keyspace
import RESP

/// Connection-level commands: Redis's networking.c / server.c parts that act on the caller.
extension CommandTable {
    static let connectionCommands: [Command] = [
        Command("ping", arity: -1, flags: [.fast, .noKeyspace, .pubsubContext], group: "connection",
                summary: "Returns the server's liveliness response.", handler: ping),
        Command("echo", arity: 2, flags: [.fast, .noKeyspace], group: "connection",
                summary: "Returns the given string.", handler: echo),
        Command("quit", arity: -1, flags: [.fast, .noKeyspace, .noAuth, .pubsubContext, .noMulti], group: "connection",
                summary: "Closes the connection.", handler: quit),
        Command("reset", arity: 1, flags: [.fast, .noKeyspace, .noAuth, .pubsubContext, .noMulti], group: "connection",
                summary: "Resets the connection.", handler: reset),
        Command("auth", arity: -2, flags: [.fast, .noKeyspace, .noAuth, .noscript, .loading, .stale], group: "connection",
                summary: "Authenticates the connection.", handler: auth),
        Command("hello", arity: -1, flags: [.fast, .noKeyspace, .noAuth, .noscript, .loading, .stale], group: "connection",
                summary: "Handshakes with the Redis server.", handler: hello),
        Command("select", arity: 2, flags: [.fast, .noKeyspace, .loading, .stale], group: "connection",
                summary: "Changes the selected database.", handler: select),
        Command("client", arity: -2, flags: [.noKeyspace], group: "connection", summary: "A container for client connection commands.",
                subcommands: clientSubcommands),
    ]

    static func ping(_ ctx: inout CommandContext) {
        guard ctx.args.count <= 2 else {
            return ctx.out.error("ERR wrong number of arguments for 'ping' command")
        }
        // A RESP2 subscriber can only receive arrays, so Redis answers it with ["pong", msg].
        if ctx.client.proto == .resp2 && ctx.client.subscriptionCount > 0 {
            ctx.out.array(2)
            ctx.out.bulk("pong")
            if ctx.args.count == 2 { ctx.out.bulk(ctx.args[1]) } else { ctx.out.bulk("") }
        } else if ctx.args.count == 2 {
            ctx.out.bulk(ctx.args[1])
        } else {
            ctx.out.simple("PONG")
        }
    }

    static func echo(_ ctx: inout CommandContext) {
        ctx.out.bulk(ctx.args[1])
    }

    static func quit(_ ctx: inout CommandContext) {
        ctx.out.ok()
        ctx.closeAfterReply = true
    }

    static func reset(_ ctx: inout CommandContext) {
        let client = ctx.client
        client.multiQueue = nil
        client.multiFailed = false
        unwatchAll(&ctx)
        ctx.server.pubsub.removeAll(of: client)
        ctx.server.monitors.remove(client)
        client.channels = []
        client.patterns = []
        client.shardChannels = []
        client.noEvict = false
        client.db = 0
        ctx.db = 0
        client.proto = .resp2
        ctx.out.proto = .resp2
        client.replyMode = .on
        client.shared.withLockedValue { $0.name = "" }
        client.becomeUser("default", authenticated: ctx.server.acl.defaultUserNeedsNoPassword)
        ctx.out.simple("RESET")
    }

    static func auth(_ ctx: inout CommandContext) {
        guard ctx.args.count <= 3 else { return ctx.replySyntaxError() }
        if ctx.args.count == 2, ctx.server.acl.user(named: "default")?.noPassword == true {
            // Redis keeps the pre-ACL answer for `AUTH <password>` without a password configured.
            return ctx.out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
        }
        let user = ctx.args.count == 3 ? ctx.args[1].string : "default"
        if let error = ctx.server.logIn(user, ctx.args[ctx.args.count - 1], &ctx) {
            return ctx.out.error(error)
        }
        ctx.out.ok()
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]]
    static func hello(_ ctx: inout CommandContext) {
        var version: ProtocolVersion? = nil
        var i = 1
        if ctx.args.count >= 2 {
            guard let v = ctx.args[1].intValue else {
                return ctx.out.error("ERR Protocol version is not an integer or out of range")
            }
            guard v == 2 || v == 3 else {
                return ctx.out.error("NOPROTO unsupported protocol version")
            }
            version = ProtocolVersion(rawValue: v)
            i = 2
        }
        var credentials: (String, ByteBuffer)? = nil
        var name: ByteBuffer? = nil
        while i < ctx.args.count {
            if ctx.args[i].equalsIgnoringCase("AUTH") && i + 2 < ctx.args.count {
                credentials = (ctx.args[i + 1].string, ctx.args[i + 2])
                i += 3
            } else if ctx.args[i].equalsIgnoringCase("SETNAME") && i + 1 < ctx.args.count {
                name = ctx.args[i + 1]
                i += 2
            } else {
                return ctx.out.error("ERR Syntax error in HELLO option '\(ctx.args[i].string)'")
            }
        }
        if let (user, password) = credentials {
            if let error = ctx.server.logIn(user, password, &ctx) {
                return ctx.out.error(error)
            }
        }
        guard ctx.client.authenticated else {
            return ctx.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
        }
        if let name {
            guard let error = validateClientName(name) else {
                ctx.client.shared.withLockedValue { $0.name = name.string }
                return finishHello(&ctx, version)
            }
            return ctx.out.error(error)
        }
        finishHello(&ctx, version)
    }

    private static func finishHello(_ ctx: inout CommandContext, _ version: ProtocolVersion?) {
        if let version {
            ctx.client.proto = version
            ctx.out.proto = version
        }
        ctx.out.map(7)
        ctx.out.bulk("server"); ctx.out.bulk("redis")
        ctx.out.bulk("version"); ctx.out.bulk(ServerInfo.redisVersion)
        ctx.out.bulk("proto"); ctx.out.integer(ctx.client.proto.rawValue)
        ctx.out.bulk("id"); ctx.out.integer(ctx.client.id)
        ctx.out.bulk("mode"); ctx.out.bulk("standalone")
        ctx.out.bulk("role"); ctx.out.bulk(ctx.server.hooks.replication.isReplica ? "replica" : "master")
        ctx.out.bulk("modules"); ctx.out.array(0)
    }

    static func select(_ ctx: inout CommandContext) {
        guard let index = ctx.args[1].intValue else { return ctx.replyNotInteger() }
        guard index >= 0 && index < ctx.keyspace.databaseCount else {
            return ctx.out.error("ERR DB index is out of range")
        }
        ctx.client.db = index
        ctx.db = index
        ctx.out.ok()
    }

    /// Redis refuses names with spaces, newlines or other characters outside '!'...'~'.
    static func validateClientName(_ name: ByteBuffer) -> String? {
        for byte in name.readableBytesView where byte < UInt8(ascii: "!") || byte > UInt8(ascii: "~") {
            return "ERR Client names cannot contain spaces, newlines or special characters."
        }
        return nil
    }

    // MARK: CLIENT

    static let clientSubcommands: [Command] = [
        Command("id", arity: 2, flags: [.noKeyspace, .fast], group: "connection", summary: "Returns the unique client ID of the connection.") {
            $0.out.integer($0.client.id)
        },
        Command("setname", arity: 3, flags: [.noKeyspace, .fast], group: "connection", summary: "Sets the connection name.") { ctx in
            if let error = validateClientName(ctx.args[2]) { return ctx.out.error(error) }
            let name = ctx.args[2].string
            ctx.client.shared.withLockedValue { $0.name = name }
            ctx.out.ok()
        },
        Command("getname", arity: 2, flags: [.noKeyspace, .fast], group: "connection", summary: "Returns the name of the connection.") { ctx in
            let name = ctx.client.shared.withLockedValue { $0.name }
            if name.isEmpty { ctx.out.null() } else { ctx.out.bulk(name) }
        },
        Command("list", arity: -2, flags: [.noKeyspace, .admin], group: "connection", summary: "Lists open connections.", handler: clientList),
        Command("info", arity: 2, flags: [.noKeyspace], group: "connection", summary: "Returns information about the connection.") { ctx in
            publishOwnState(&ctx)
            ctx.out.verbatim(ctx.client.infoLine(now: ctx.now) + "\n")
        },
        Command("kill", arity: -3, flags: [.noKeyspace, .admin], group: "connection", summary: "Terminates open connections.", handler: clientKill),
        Command("setinfo", arity: 4, flags: [.noKeyspace], group: "connection", summary: "Sets information specific to the client or connection.") { ctx in
            let value = ctx.args[3].string
            if value.contains(where: { $0 == " " || $0 == "\n" }) {
                return ctx.out.error("ERR \(ctx.args[2].string) cannot contain spaces, newlines or special characters.")
            }
            if ctx.args[2].equalsIgnoringCase("LIB-NAME") {
                ctx.client.shared.withLockedValue { $0.libName = value }
            } else if ctx.args[2].equalsIgnoringCase("LIB-VER") {
                ctx.client.shared.withLockedValue { $0.libVersion = value }
            } else {
                return ctx.out.error("ERR Unrecognized option '\(ctx.args[2].string)'")
            }
            ctx.out.ok()
        },
        Command("no-evict", arity: 3, flags: [.noKeyspace, .admin], group: "connection", summary: "Sets the client eviction mode of the connection.") { ctx in
            if ctx.args[2].equalsIgnoringCase("ON") { ctx.client.noEvict = true }
            else if ctx.args[2].equalsIgnoringCase("OFF") { ctx.client.noEvict = false }
            else { return ctx.replySyntaxError() }
            ctx.out.ok()
        },
        Command("no-touch", arity: 3, flags: [.noKeyspace], group: "connection", summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.") { ctx in
            guard ctx.args[2].equalsIgnoringCase("ON") || ctx.args[2].equalsIgnoringCase("OFF") else {
                return ctx.replySyntaxError()
            }
            ctx.out.ok()
        },
        Command("reply", arity: 3, flags: [.noKeyspace], group: "connection", summary: "Instructs the server whether to reply to commands.") { ctx in
            if ctx.args[2].equalsIgnoringCase("ON") {
                ctx.client.replyMode = .on
                ctx.out.ok()
            } else if ctx.args[2].equalsIgnoringCase("OFF") {
                ctx.client.replyMode = .off
            } else if ctx.args[2].equalsIgnoringCase("SKIP") {
                // SKIP while OFF changes nothing, as in Redis.
                if ctx.client.replyMode != .off { ctx.client.replyMode = .skip }
            } else {
                ctx.replySyntaxError()
            }
        },
        Command("pause", arity: -3, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "connection",
                summary: "Suspends commands processing.", handler: clientPause),
        Command("unpause", arity: 2, flags: [.noKeyspace, .admin, .noscript, .loading, .stale], group: "connection",
                summary: "Resumes processing commands from paused clients.") { ctx in
            ctx.server.pause.unpause()
            ctx.out.ok()
        },
        Command("unblock", arity: -3, flags: [.noKeyspace, .admin], group: "connection",
                summary: "Unblocks a client blocked by a blocking command from a different connection.", handler: clientUnblock),
        Command("help", arity: 2, flags: [.noKeyspace], group: "connection", summary: "Returns helpful text about the different subcommands.") { ctx in
            let lines = ["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "ID", "    Return the ID of the current connection.",
                         "GETNAME", "    Return the name of the current connection.",
                         "SETNAME <name>", "    Assign the name <name> to the current connection.",
                         "LIST [TYPE normal|master|replica|pubsub] [ID <id> [<id> ...]]", "    Return information about client connections.",
                         "INFO", "    Return information about the current client connection.",
                         "KILL <ip:port> | KILL <option> <value> [<option> <value> [...]]", "    Kill connections.",
                         "UNPAUSE", "    Stop the current client pause, resuming traffic.",
                         "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
                         "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
                         "SETINFO <option> <value>", "    Set client meta attr (LIB-NAME, LIB-VER).",
                         "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
                         "HELP", "    Print this help."]
            ctx.replyHelp(lines)
        },
    ]

    /// CLIENT PAUSE timeout [WRITE|ALL] (milliseconds; ALL by default).
    static func clientPause(_ ctx: inout CommandContext) {
        guard ctx.args.count <= 4 else { return ctx.replySyntaxError() }
        var mode = ClientPause.Mode.all
        if ctx.args.count == 4 {
            if ctx.args[3].equalsIgnoringCase("WRITE") {
                mode = .write
            } else if !ctx.args[3].equalsIgnoringCase("ALL") {
                return ctx.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL")
            }
        }
        guard let timeout = ctx.args[2].int64Value else { return ctx.out.error("ERR timeout is not an integer or out of range") }
        guard timeout >= 0 else { return ctx.out.error("ERR timeout is negative") }
        let (until, overflow) = monotonicMillis().addingReportingOverflow(timeout)
        ctx.server.pause.pause(until: overflow ? Int64.max : until, mode: mode)
        ctx.out.ok()
    }

    static func clientList(_ ctx: inout CommandContext) {
        var clients = ctx.server.clients.all
        var i = 2
        while i < ctx.args.count {
            if ctx.args[i].equalsIgnoringCase("TYPE") && i + 1 < ctx.args.count {
                let type = ctx.args[i + 1].string.lowercased()
                switch type {
                case "normal": clients = clients.filter { $0.subscriptionCount == 0 }
                case "pubsub": clients = clients.filter { $0.subscriptionCount > 0 }
                case "master", "replica", "slave": clients = []
                default: return ctx.out.error("ERR Unknown client type '\(ctx.args[i + 1].string)'")
                }
                i += 2
            } else if ctx.args[i].equalsIgnoringCase("ID") && i + 1 < ctx.args.count {
                var ids = Set<Int>()
                i += 1
                while i < ctx.args.count {
                    guard let id = ctx.args[i].intValue, id > 0 else {
                        return ctx.out.error("ERR Invalid client ID")
                    }
                    ids.insert(id)
                    i += 1
                }
                clients = clients.filter { ids.contains($0.id) }
            } else {
                return ctx.replySyntaxError()
            }
        }
        publishOwnState(&ctx)
        let text = clients.map { $0.infoLine(now: ctx.now) + "\n" }.joined()
        ctx.out.verbatim(text)
    }

    /// The caller's own CLIENT LIST/INFO line must show the command being run (the connection
    /// otherwise publishes its state once per read batch).
    static func publishOwnState(_ ctx: inout CommandContext) {
        let c = ctx.client
        let name = ctx.lastCommandName, now = ctx.now, db = c.db, resp = c.proto.rawValue
        let flags = c.flagString(blocked: false)
        let subs = c.channels.count, psubs = c.patterns.count, multi = c.multiQueue?.count ?? -1
        c.lastInteraction.store(now, ordering: .relaxed)
        c.sharedRewrites &+= 1
        c.shared.withLockedValue { s in
            s.lastCommand = name
            s.db = db
            s.resp = resp
            s.flags = flags
            s.subscriptions = subs
            s.patterns = psubs
            s.inMulti = multi
        }
    }

    /// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: ends another client's blocking wait as if it
    /// timed out, or with an UNBLOCKED error.
    static func clientUnblock(_ ctx: inout CommandContext) {
        guard let id = ctx.args[2].intValue else { return ctx.replyNotInteger() }
        guard ctx.args.count <= 4 else { return ctx.replySyntaxError() }
        var asError = false
        if ctx.args.count == 4 {
            if ctx.args[3].equalsIgnoringCase("ERROR") { asError = true }
            else if !ctx.args[3].equalsIgnoringCase("TIMEOUT") {
                return ctx.out.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
            }
        }
        guard let target = ctx.server.clients.client(id: id),
              let waiter = target.shared.withLockedValue({ $0.blockedWaiter }),
              ctx.server.blocking.cancel(waiter) else { return ctx.out.integer(0) }
        var reply = ReplyWriter(buffer: ByteBuffer(), proto: waiter.proto)
        if asError { reply.error("UNBLOCKED client unblocked via CLIENT UNBLOCK") } else { reply.nullArray() }
        target.connection?.unblock(with: reply.buffer, durability: 0)
        ctx.out.integer(1)
    }

    /// CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port] [TYPE t] [USER u] [SKIPME yes|no]
    static func clientKill(_ ctx: inout CommandContext) {
        let all = ctx.server.clients.all
        if ctx.args.count == 3 {
            let addr = ctx.args[2].string
            guard let victim = all.first(where: { $0.remoteAddress == addr }) else {
                return ctx.out.error("ERR No such client")
            }
            kill(victim, &ctx)
            return ctx.out.ok()
        }
        var filters: [(ClientState) -> Bool] = []
        var skipMe = true
        var i = 2
        while i < ctx.args.count {
            guard i + 1 < ctx.args.count else { return ctx.replySyntaxError() }
            let value = ctx.args[i + 1]
            let option = ctx.args[i]
            if option.equalsIgnoringCase("ID") {
                guard let id = value.intValue, id > 0 else { return ctx.out.error("ERR client-id should be greater than 0") }
                filters.append { $0.id == id }
            } else if option.equalsIgnoringCase("ADDR") {
                let a = value.string
                filters.append { $0.remoteAddress == a }
            } else if option.equalsIgnoringCase("LADDR") {
                let a = value.string
                filters.append { $0.localAddress == a }
            } else if option.equalsIgnoringCase("TYPE") {
                switch value.string.lowercased() {
                case "normal": filters.append { $0.subscriptionCount == 0 }
                case "pubsub": filters.append { $0.subscriptionCount > 0 }
                case "master", "replica", "slave": filters.append { _ in false }
                default: return ctx.out.error("ERR Unknown client type '\(value.string)'")
                }
            } else if option.equalsIgnoringCase("USER") {
                let u = value.string
                guard ctx.server.acl.user(named: u) != nil else { return ctx.out.error("ERR No such user '\(u)'") }
                filters.append { $0.userName == u }
            } else if option.equalsIgnoringCase("SKIPME") {
                if value.equalsIgnoringCase("yes") { skipMe = true }
                else if value.equalsIgnoringCase("no") { skipMe = false }
                else { return ctx.replySyntaxError() }
            } else {
                return ctx.replySyntaxError()
            }
            i += 2
        }
        var killed = 0
        for c in all where filters.allSatisfy({ $0(c) }) {
            if skipMe && c === ctx.client { continue }
            kill(c, &ctx)
            killed += 1
        }
        ctx.out.integer(killed)
    }

    private static func kill(_ client: ClientState, _ ctx: inout CommandContext) {
        if client === ctx.client {
            ctx.closeAfterReply = true
        } else {
            client.connection?.kill()
        }
    }
}

/// Identity reported to clients (HELLO, INFO).
public enum ServerInfo {
    /// The Redis version whose behaviour Swiftlet follows.
    public static let redisVersion = "7.0.15"
}
