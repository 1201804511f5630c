import XCTest
@testable import Configuration

final class ConfigurationTests: XCTestCase {
    private func load(_ text: String, _ args: [String] = []) throws -> Config {
        try Config.load(arguments: ["test.conf"] + args, readFile: { _ in text })
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
    }

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

    func testProblemsAreValuesNotMessages() {
        XCTAssertEqual(Config().apply(name: "nosuch", words: ["1"], atStartup: true), .unknownDirective)
        XCTAssertEqual(Config().apply(name: "port", words: ["1"], atStartup: false), .immutable)
        XCTAssertEqual(Config().apply(name: "loglevel", words: ["loud"], atStartup: true),
                       .invalid("argument(s) must be one of the following: debug, verbose, notice, warning, nothing"))
        XCTAssertNil(Config().apply(name: "hash-max-ziplist-entries", words: ["64"], atStartup: true), "old aliases are accepted")
    }

    func testGetMatchesGlobsAndRenderRoundTrips() throws {
        let config = try load("maxmemory 100mb\nsave \"\"\n")
        XCTAssertEqual(config.get(["maxmemory"]).map(\.1), ["104857600"])
        XCTAssertTrue(config.get(["max*"]).map(\.0).contains("maxclients"))
        let again = try load(config.render())
        XCTAssertEqual(again.get(["*"]).map { "\($0.0)=\($0.1)" }, config.get(["*"]).map { "\($0.0)=\($0.1)" })
    }
}
