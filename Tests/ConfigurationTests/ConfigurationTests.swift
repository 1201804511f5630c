import XCTest
@testable import Configuration

final class ConfigurationTests: XCTestCase {
    private func load(_ text: String, _ args: [String] = []) throws -> Config {
        try Config.load(arguments: ["test.conf"] + args, readFile: { _ in text })
    }

    private func setError(_ pairs: (String, String)..., on config: Config = Config()) -> String? {
        config.set(pairs)
    }

    func testTypedSettingsReadWhatTheFileAndCommandLineSay() throws {
        let config = try load("port 7000\nrequirepass \"two words\"\nrdbcompression no\nclient-query-buffer-limit 2mb\n",
                              ["--port", "7001", "--timeout", "5"])
        XCTAssertEqual(config[.port], 7001, "the command line overrides the file")
        XCTAssertEqual(config[.timeout], 5)
        XCTAssertEqual(config[.requirePass], "two words")
        XCTAssertFalse(config[.rdbCompression])
        XCTAssertTrue(config[.rdbChecksum], "defaults apply")
        XCTAssertEqual(config[.clientQueryBufferLimit], 2 * 1024 * 1024)
        XCTAssertEqual(config.outputLimit(.pubsub).hard, 33_554_432)
        XCTAssertEqual(config.outputLimit(.replica).soft, 67_108_864)
        XCTAssertEqual(config.outputLimit(.normal).hard, 0)
    }

    func testFileErrorsNameTheLineAndSayWhatIsWrong() {
        func reason(_ text: String) -> String? {
            do { _ = try load(text); return nil } catch let error as ConfigError { return "\(error.line): \(error.reason)" } catch { return "\(error)" }
        }
        XCTAssertEqual(reason("port 1\nnosuch 1\n"), "2: Bad directive or wrong number of arguments")
        XCTAssertEqual(reason("port 1 2\n"), "1: wrong number of arguments")
        XCTAssertEqual(reason("port abc\n"), "1: argument couldn't be parsed into an integer")
        XCTAssertEqual(reason("port +1\n"), "1: argument couldn't be parsed into an integer", "integers are read as Redis's string2ll")
        XCTAssertEqual(reason("save 1\n"), "1: Invalid save parameters")
        XCTAssertEqual(reason("dbfilename a/b\n"), "1: dbfilename can't be a path, just a filename")
        XCTAssertEqual(reason("replicaof 127.0.0.1\n"), "1: wrong number of arguments")
        XCTAssertEqual(reason("protected-mode yes\n"),
                       "1: protected-mode yes is not supported: Swiftlet has no protected mode (bind to 127.0.0.1 or set requirepass instead)")
        XCTAssertNil(reason("list-max-ziplist-entries 512\nlua-replicate-commands yes\n"), "retired directives are read, as by Redis")
    }

    func testIncludeReadsTheNamedFileInPlace() throws {
        let files = ["main.conf": "timeout 1\ninclude extra.conf\nhz 7\n", "extra.conf": "timeout 2\nhz 3\n"]
        let config = try Config.load(arguments: ["main.conf"], readFile: { name in
            guard let text = files[name] else { throw ConfigError(source: name, line: 0, text: "", reason: "no such file") }
            return text
        })
        XCTAssertEqual(config[.timeout], 2, "the included file's lines come where the include is")
        XCTAssertEqual(config[.hz], 7)
        XCTAssertThrowsError(try load("rename-command DEBUG \"\"\n")) { error in
            XCTAssertEqual((error as? ConfigError)?.reason, "rename-command is not supported: Swiftlet's command table is fixed")
        }
    }

    // MARK: validation, one type at a time (messages as redis-server 7.0.15's)

    func testEachTypeValidatesAsRedis() {
        let failed = { (name: String, reason: String) in "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)" }
        // yes/no
        XCTAssertEqual(setError(("rdbcompression", "maybe")), failed("rdbcompression", "argument must be 'yes' or 'no'"))
        XCTAssertNil(setError(("rdbcompression", "NO")))
        // integers: string2ll, then the range
        XCTAssertEqual(setError(("timeout", "1k")), failed("timeout", "argument couldn't be parsed into an integer"))
        XCTAssertEqual(setError(("timeout", "2147483648")), failed("timeout", "argument must be between 0 and 2147483647 inclusive"))
        XCTAssertEqual(setError(("maxclients", "-1")), failed("maxclients", "argument must be between 1 and 4294967295 inclusive"))
        // byte counts: units, no sign or fraction, then the range
        XCTAssertEqual(setError(("maxmemory", "1.5mb")), failed("maxmemory", "argument must be a memory value"))
        XCTAssertEqual(setError(("maxmemory", "-1")), failed("maxmemory", "argument must be a memory value"))
        XCTAssertEqual(setError(("proto-max-bulk-len", "1kb")),
                       failed("proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive"))
        let config = Config()
        XCTAssertNil(config.set([("maxmemory", "1MB"), ("auto-aof-rewrite-min-size", "1k")]))
        XCTAssertEqual(config.get(["maxmemory", "auto-aof-rewrite-min-size"]).map(\.1), ["1000", "1048576"])
        // a byte count or a percentage
        XCTAssertNil(config.set([("maxmemory-clients", "10%")]))
        XCTAssertEqual(config["maxmemory-clients"], "10%")
        XCTAssertEqual(setError(("maxmemory-clients", "101%")), failed("maxmemory-clients", "percentage argument must be less or equal to 100"))
        XCTAssertEqual(setError(("maxmemory-clients", "-5")), failed("maxmemory-clients", "argument must be a memory or percent value"))
        // one of a list, in Redis's order
        XCTAssertEqual(setError(("loglevel", "loud")),
                       failed("loglevel", "argument(s) must be one of the following: debug, verbose, notice, warning"))
        XCTAssertEqual(setError(("appendfsync", "x")),
                       failed("appendfsync", "argument(s) must be one of the following: everysec, always, no, bounded"))
        XCTAssertNil(config.set([("maxmemory-policy", "ALLKEYS-LRU")]))
        XCTAssertEqual(config[.maxMemoryPolicy], "allkeys-lru")
        // flags in one argument
        XCTAssertNil(config.set([("shutdown-on-sigint", "now nosave")]))
        XCTAssertEqual(config["shutdown-on-sigint"], "nosave now")
        // special directives
        XCTAssertEqual(setError(("save", "0 1")), failed("save", "Invalid save parameters"))
        XCTAssertEqual(setError(("client-output-buffer-limit", "master 1 1 1")),
                       failed("client-output-buffer-limit", "Invalid client class specified in buffer limit configuration."))
        XCTAssertNil(config.set([("client-output-buffer-limit", "pubsub 1mb 2mb 3")]))
        XCTAssertEqual(config["client-output-buffer-limit"], "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2097152 3",
                       "classes not named keep their limits")
        XCTAssertEqual(setError(("notify-keyspace-events", "Q")),
                       failed("notify-keyspace-events", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."))
        XCTAssertNil(config.set([("notify-keyspace-events", "KEA")]))
        XCTAssertEqual(config["notify-keyspace-events"], "AKE")
        XCTAssertNil(config.set([("notify-keyspace-events", "AKEn")]))
        XCTAssertEqual(config["notify-keyspace-events"], "AKEn", "the server still sees n")
        XCTAssertEqual(config.get(["notify-keyspace-events"]).first?.1, "AKE", "CONFIG GET shows what Redis shows")
        XCTAssertEqual(setError(("oom-score-adj-values", "1 2")), failed("oom-score-adj-values", "wrong number of arguments"))
        XCTAssertNil(config.set([("latency-tracking-info-percentiles", "50.0 99.90")]))
        XCTAssertEqual(config["latency-tracking-info-percentiles"], "50 99.9")
        // Redis's clamps
        XCTAssertNil(config.set([("hz", "0"), ("repl-backlog-size", "1")]))
        XCTAssertEqual(config[.hz], 1)
        XCTAssertEqual(config[.replBacklogSize], 16384)
        XCTAssertEqual(setError(("activedefrag", "yes")), failed("activedefrag",
            "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"))
    }

    func testOldNamesWorkEverywhere() throws {
        let config = try load("slave-read-only no\nhash-max-ziplist-entries 64\nslaveof 10.0.0.1 6380\n", ["--lua-time-limit", "100"])
        XCTAssertFalse(config[.replicaReadOnly])
        XCTAssertEqual(config.replicaOf?.port, 6380)
        XCTAssertEqual(config.get(["hash-max-listpack-entries", "hash-max-ziplist-entries"]).map { "\($0.0)=\($0.1)" },
                       ["hash-max-listpack-entries=64", "hash-max-ziplist-entries=64"])
        XCTAssertEqual(config.get(["busy-reply-threshold"]).first?.1, "100")
        XCTAssertNil(config.set([("slave-priority", "5")]))
        XCTAssertEqual(config[.replicaPriority], 5)
        XCTAssertEqual(config.set([("slave-priority", "x")]),
                       "ERR CONFIG SET failed (possibly related to argument 'slave-priority') - argument couldn't be parsed into an integer")
        XCTAssertEqual(Config.canonicalName("SLAVE-READ-ONLY"), "replica-read-only")
    }

    func testConfigGetTakesSeveralPatternsAndNamesEachOnce() {
        let config = Config()
        XCTAssertEqual(config.get(["timeout", "timeout", "time*"]).map(\.0), ["timeout"])
        XCTAssertTrue(config.get(["max*"]).map(\.0).contains("maxclients"))
        XCTAssertEqual(config.get(["rdb-*"]).map(\.0).contains("rdb-key-save-delay"), false, "hidden directives need their exact name")
        XCTAssertEqual(config.get(["rdb-key-save-delay"]).map(\.0), ["rdb-key-save-delay"])
    }

    // MARK: CONFIG SET, several pairs

    func testConfigSetIsAllOrNothingWithRedisErrors() {
        let config = Config()
        XCTAssertNil(config.set([("timeout", "10"), ("hz", "20")]))
        XCTAssertEqual(config[.timeout], 10)
        let generation = config.generation.load(ordering: .relaxed)
        XCTAssertEqual(config.set([("timeout", "30"), ("hz", "nope")]),
                       "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer")
        XCTAssertEqual(config[.timeout], 10, "the whole CONFIG SET is undone")
        XCTAssertEqual(config[.hz], 20)
        XCTAssertGreaterThan(config.generation.load(ordering: .relaxed), generation, "readers re-read after a change")
        XCTAssertEqual(config.set([("port", "1")]),
                       "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config")
        XCTAssertEqual(config.set([("nosuch", "1")]), "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
    }

    func testConfigSetChecksEveryNameBeforeAnyValue() {
        let config = Config()
        // Names first, in order: the first unknown, immutable or repeated name decides.
        XCTAssertEqual(config.set([("timeout", "abc"), ("daemonize", "yes")]),
                       "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config")
        XCTAssertEqual(config.set([("nosuch", "1"), ("daemonize", "yes")]), "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
        XCTAssertEqual(config.set([("daemonize", "yes"), ("nosuch", "1")]),
                       "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config")
        XCTAssertEqual(config.set([("timeout", "5"), ("timeout", "6")]),
                       "ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter")
        XCTAssertEqual(config[.timeout], 0)
        // An old name and its new one are two entries to Redis 7.0: the last one wins.
        XCTAssertNil(config.set([("slave-read-only", "no"), ("replica-read-only", "yes")]))
        XCTAssertTrue(config[.replicaReadOnly])
    }

    func testProblemsAreValuesNotMessages() {
        XCTAssertEqual(Config().apply(name: "nosuch", words: ["1"], atStartup: true), .unknownDirective)
        XCTAssertEqual(Config().apply(name: "port", words: ["1"], atStartup: false), .immutable)
        XCTAssertEqual(Config().apply(name: "loglevel", words: ["loud"], atStartup: true),
                       .invalid("argument(s) must be one of the following: debug, verbose, notice, warning"))
        XCTAssertNil(Config().apply(name: "hash-max-ziplist-entries", words: ["64"], atStartup: true), "old aliases are accepted")
    }

    func testSaveLinesAddUpAndAnEmptyOneClearsThem() throws {
        XCTAssertEqual(try load("save 900 1\nsave 300 10\n")["save"], "900 1 300 10")
        XCTAssertEqual(try load("save 900 1\n", ["--save", ""])["save"], "")
        XCTAssertEqual(try load("save 900 1\n", ["--save", "60 5"])["save"], "900 1 60 5")
        XCTAssertEqual(try load("", ["--save", "60 5 30 1"]).saveRules.map(\.seconds), [60, 30], "one argument with spaces is split")
    }

    func testIneffectiveDirectivesTheUserSetAreNamedOnce() throws {
        let config = try load("activerehashing no\ntimeout 5\nactiverehashing yes\nslave-lazy-flush yes\nlist-max-ziplist-value 64\n")
        XCTAssertEqual(config.ineffectiveDirectivesSet.map(\.name), ["activerehashing", "replica-lazy-flush", "list-max-ziplist-value"])
        XCTAssertEqual(config.ineffectiveDirectivesSet.first?.reason, "Swift dictionaries grow in one step")
        XCTAssertTrue(Config().ineffectiveDirectivesSet.isEmpty, "defaults are not the user's doing")
    }

    // MARK: CONFIG REWRITE

    /// The same file and changes as an experiment with redis-server 7.0.15, whose output this is
    /// (its appended lines in table order, and without its `user` line).
    func testRewriteKeepsCommentsAndOrderAsRedis() throws {
        let old = """
            # c1
               port 7702   
            SAVE 900 1
            save 300 10



            slaveof 127.0.0.1 1
            bind 127.0.0.1
            logfile ""
            hash-max-ziplist-entries 64
            hash-max-listpack-entries 65
            # Generated by CONFIG REWRITE
            client-output-buffer-limit pubsub 1mb 1mb 1

            """
        let config = try load(old)
        XCTAssertNil(config.set([("maxmemory", "3000"), ("save", ""), ("notify-keyspace-events", "Kx")]))
        let new = config.rewrite(old, overrides: ["dir": "/tmp/rd/rw", "replicaof": ""])
        XCTAssertEqual(new, """
            # c1
            port 7702
            save ""

            bind 127.0.0.1
            logfile ""
            hash-max-listpack-entries 65

            # Generated by CONFIG REWRITE
            client-output-buffer-limit normal 0 0 0

            client-output-buffer-limit pubsub 1mb 1mb 1
            dir "/tmp/rd/rw"
            maxmemory 3000
            latency-tracking-info-percentiles 50 99 99.9
            notify-keyspace-events "xK"

            """)
        XCTAssertEqual(try load(new)["maxmemory"], "3000", "the rewritten file reads back")
    }

    /// As Redis: `save` (even at its default), `dir` and the percentiles are always written.
    /// What redis-server 7.0.15 made of the same lines, added to its file after it started.
    func testRewriteCommentsOutWhatItCannotReadAndKeepsFileOnlyDirectives() throws {
        let old = "port 7705\nsave \"\"\nlist-max-ziplist-entries 5\nfoo \"bar\nLoadModule x\nSentinel x\ninclude /x\n"
        XCTAssertEqual(try load("port 7705\nsave \"\"\n").rewrite(old, overrides: ["dir": "/d"]), """
            port 7705
            save ""
            # ??? list-max-ziplist-entries 5
            # ??? foo "bar

            Sentinel x
            include /x

            # Generated by CONFIG REWRITE
            dir "/d"
            latency-tracking-info-percentiles 50 99 99.9

            """)
    }

    func testRewriteOfNoFileAppendsOnlyWhatDiffersFromTheDefaults() throws {
        let config = Config()
        XCTAssertNil(config.set([("maxmemory", "100mb"), ("masterauth", "a \"b\"")]))
        XCTAssertEqual(config.rewrite("", overrides: ["dir": "/data"]), """
            # Generated by CONFIG REWRITE
            save 3600 1
            save 300 100
            save 60 10000
            dir "/data"
            maxmemory 100mb
            latency-tracking-info-percentiles 50 99 99.9
            masterauth "a \\"b\\""

            """)
    }

    func testEveryMutableDirectiveSurvivesARewrite() throws {
        // Each directive at a value other than its default (the first the table takes) reads
        // back the same from the rewritten text.
        let config = Config()
        let tries = ["7", "yes", "no", "3mb", "100", "pubsub 1mb 1mb 5", "900 1", "A", "50 99", "10%", "x",
                     "noeviction", "allkeys-lru", "local", "nosave", "warning", "always", "swapdb", "hostname", "optional",
                     "allchannels", "clients", "panic", "{title}", "0 100 200"]
        var changed: [String: String] = [:]
        for d in Config.directives where d.mutable && d.name != "dir" {
            for value in tries where config.set([(d.name, value)]) == nil && config[d.name] != d.defaultValue {
                changed[d.name] = config[d.name]
                break
            }
        }
        XCTAssertGreaterThan(changed.count, 100)
        let again = try load(config.rewrite("", overrides: ["dir": "/"]))
        for (name, value) in changed { XCTAssertEqual(again[name], value, name) }
    }

    // MARK: the table and its documentation

    /// Docs/configuration.md lists every directive of the table with the same status and, for
    /// those without effect, the same reason.
    func testEveryDirectiveIsDocumentedWithItsStatus() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/configuration.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        var rows: [String: (status: String, why: String)] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5, let name = cells[1].split(separator: "`").first else { continue }
            rows[String(name)] = (cells[3], cells[4])
        }
        for d in Config.directives {
            guard let row = rows[d.name] else { XCTFail("\(d.name) is not in Docs/configuration.md"); continue }
            switch d.status {
            case .supported:
                XCTAssertEqual(row.status, "supported", d.name)
            case .noEffect(let reason):
                XCTAssertEqual(row.status, "accepted, no effect", d.name)
                XCTAssertEqual(row.why, reason, d.name)
            }
        }
        let names = Set(Config.directives.map(\.name))
        let stray = rows.keys.filter { !names.contains($0) && $0.contains("-") == true && rows[$0]!.status != "" }
        XCTAssertEqual(stray.filter { rows[$0]!.status == "supported" || rows[$0]!.status == "accepted, no effect" }, [],
                       "documented directives the table lacks")
    }
}
