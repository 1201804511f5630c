import NIOCore
import NIOEmbedded
import XCTest
@testable import Commands
import Configuration
import RESP
@testable import Server

/// `Connection` driven through NIO's EmbeddedChannel: its input states (reading, blocked,
/// paused, closing), half-close, both buffer limits and protocol errors, without sockets.
/// Every channel shares one EmbeddedEventLoop, so replies queued for the end of the round
/// appear after `loop.run()`, as on a real loop.
final class ConnectionTests: XCTestCase {
    private var server: SwiftletServer!
    private let loop = EmbeddedEventLoop()
    private var flusher: ReplyFlusher!
    private var nextID = 0

    private func start(_ directives: [String] = []) throws {
        let config = try Config.load(arguments: ["--io-threads", "1", "--save", ""] + directives, readFile: { _ in "" })
        server = SwiftletServer(config: config)
        flusher = ReplyFlusher(eventLoop: loop)
    }

    /// A connected client: the channel and its connection handler.
    private func connect() throws -> (EmbeddedChannel, Connection) {
        let channel = EmbeddedChannel(loop: loop)
        nextID += 1
        let connection = Connection(id: nextID, runtime: server.runtime, server: server, channel: channel, flusher: flusher)
        try channel.pipeline.syncOperations.addHandler(connection)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, connection)
    }

    private func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
        loop.run()
    }

    /// Everything written to the client since the last call, as text.
    private func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    private func isBlocked(_ c: Connection) -> Bool { if case .blocked = c.input { return true } else { return false } }
    private func isPaused(_ c: Connection) -> Bool { if case .paused = c.input { return true } else { return false } }
    private func isReading(_ c: Connection) -> Bool { if case .reading = c.input { return true } else { return false } }

    func testPipelinedRepliesLeaveTogetherAfterTheRound() throws {
        try start()
        let (channel, _) = try connect()
        try channel.writeInbound(ByteBuffer(string: "PING\r\nSET a 1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPI"))
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self), "replies wait for the end of the event-loop round")
        loop.run()
        XCTAssertNotNil(try channel.readOutbound(as: ByteBuffer.self).map { XCTAssertEqual(String(buffer: $0), "+PONG\r\n+OK\r\n$1\r\n1\r\n") })
        try send(channel, "NG\r\n")   // the rest of a request split across reads
        XCTAssertEqual(try output(channel), "+PONG\r\n")
    }

    func testAHalfClosedClientGetsItsRepliesThenTheConnectionCloses() throws {
        try start()
        let (channel, connection) = try connect()
        try channel.writeInbound(ByteBuffer(string: "PING\r\nECHO bye\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        loop.run()
        XCTAssertEqual(try output(channel), "+PONG\r\n$3\r\nbye\r\n")
        XCTAssertFalse(channel.isActive)
        guard case .closing = connection.input else { return XCTFail("\(connection.input)") }
    }

    func testInputPipelinedBehindABlockedCommandRunsAfterItsReply() throws {
        try start()
        let (waiting, connection) = try connect()
        let (pusher, _) = try connect()
        try send(waiting, "BLPOP q 0\r\nPING\r\n")
        XCTAssertEqual(try output(waiting), "")
        XCTAssertTrue(isBlocked(connection))
        try send(pusher, "RPUSH q job\r\n")
        XCTAssertEqual(try output(pusher), ":1\r\n")
        XCTAssertEqual(try output(waiting), "*2\r\n$1\r\nq\r\n$3\r\njob\r\n+PONG\r\n")
        XCTAssertTrue(isReading(connection))
    }

    func testABlockedCommandTimesOut() throws {
        try start()
        let (channel, connection) = try connect()
        try send(channel, "BLPOP q 0.05\r\nPING\r\n")
        XCTAssertTrue(isBlocked(connection))
        loop.advanceTime(by: .milliseconds(100))
        XCTAssertEqual(try output(channel), "*-1\r\n+PONG\r\n")
        XCTAssertTrue(isReading(connection))
    }

    /// The limit holds for input that waited behind a blocked command too (that path once kept
    /// its leftover without checking), and a limit lowered meanwhile is the one applied.
    func testQueryBufferLimitAppliesToInputThatWaitedWhileBlocked() throws {
        // Redis's smallest limit is 1mb.
        try start(["--client-query-buffer-limit", "4mb"])
        let (waiting, connection) = try connect()
        let (other, _) = try connect()
        try send(waiting, "BLPOP q 0\r\nBLPOP r 0\r\n" + String(repeating: "PING\r\n", count: 200_000))
        XCTAssertTrue(isBlocked(connection))
        try send(other, "CONFIG SET client-query-buffer-limit 1mb\r\n")
        XCTAssertEqual(try output(other), "+OK\r\n")
        try send(other, "RPUSH q x\r\n")
        // Served, then blocked again on r with 1.2 MB waiting: over the new limit.
        XCTAssertEqual(try output(waiting), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n")
        XCTAssertFalse(waiting.isActive)
    }

    func testAPartialRequestOverTheQueryBufferLimitCloses() throws {
        try start(["--client-query-buffer-limit", "1mb"])
        let (channel, _) = try connect()
        try send(channel, "*2\r\n$3\r\nGET\r\n$2000000\r\n" + String(repeating: "x", count: 1_100_000))
        XCTAssertFalse(channel.isActive)
    }

    func testOutputLimitDisconnectsAClientThatDoesNotRead() throws {
        try start(["--client-output-buffer-limit", "normal 100000 0 0"])
        let (channel, _) = try connect()
        try send(channel, "SET big " + String(repeating: "v", count: 300_000) + "\r\n")
        XCTAssertEqual(try output(channel), "+OK\r\n")
        try send(channel, "GET big\r\nGET big\r\n")
        XCTAssertFalse(channel.isActive, "300 KB of replies held back against a 100 KB hard limit")
    }

    func testWithoutAnOutputLimitASlowReaderIsPausedAndResumed() throws {
        try start()
        let (channel, connection) = try connect()
        try send(channel, "SET big " + String(repeating: "v", count: 100_000) + "\r\n")
        _ = try output(channel)
        channel.isWritable = false   // the socket stopped taking data
        try send(channel, String(repeating: "GET big\r\n", count: 20) + "PING\r\n")
        XCTAssertTrue(isPaused(connection))
        let early = try output(channel)
        XCTAssertLessThan(early.components(separatedBy: "$100000\r\n").count - 1, 20, "not every reply was produced")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        loop.run()
        let all = early + (try output(channel))
        XCTAssertEqual(all.components(separatedBy: "$100000\r\n").count - 1, 20)
        XCTAssertTrue(all.hasSuffix("+PONG\r\n"))
        XCTAssertTrue(isReading(connection))
    }

    func testAProtocolErrorIsAnsweredAndCloses() throws {
        try start()
        let (channel, _) = try connect()
        try send(channel, "PING\r\n*1\r\n$abc\r\nPING\r\n")
        XCTAssertEqual(try output(channel), "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n")
        XCTAssertFalse(channel.isActive)
    }

    func testPubSubMessagesAreEncodedForEachSubscribersProtocol() throws {
        try start()
        let (resp2, _) = try connect()
        let (resp3, _) = try connect()
        let (publisher, _) = try connect()
        try send(resp2, "SUBSCRIBE news\r\n")
        try send(resp3, "HELLO 3\r\nPSUBSCRIBE n*\r\n")
        _ = try output(resp2); _ = try output(resp3)
        try send(publisher, "PUBLISH news hi\r\n")
        XCTAssertEqual(try output(publisher), ":2\r\n")
        XCTAssertEqual(try output(resp2), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
        XCTAssertEqual(try output(resp3), ">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
    }
}
