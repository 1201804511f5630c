import Commands
import NIOCore
import NIOHTTP1
import NIOPosix

/// The operator's HTTP listener (`http-port`, off by default; `http-bind`): `GET /health` as
/// JSON and `GET /metrics` in Prometheus's text format. It runs on the server's event loops
/// beside the Redis port and reads the same figures as INFO, so a scrape costs what an INFO
/// everything costs and nothing is added to the command path.
final class HTTPEndpoint: Sendable {
    private let server: SwiftletServer
    private let exporter = MetricsExporter()

    init(server: SwiftletServer) {
        self.server = server
    }

    /// Binds `host:port`; returns the channel (its local address has the bound port). It does not
    /// accept until its `autoRead` is switched on (after the seccomp filter, SwiftletServer.start).
    func start(group: EventLoopGroup, host: String, port: Int) throws -> Channel {
        try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.autoRead, value: false)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestHandler(endpoint: self))
                }
            }
            .bind(host: host, port: port).wait()
    }

    struct Response {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
    }

    func respond(to head: HTTPRequestHead) -> Response {
        guard head.method == .GET || head.method == .HEAD else {
            return Response(status: .methodNotAllowed, contentType: "text/plain; charset=utf-8", body: Array("only GET and HEAD\n".utf8))
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/health":
            let health = Health(info: server.infoFields())
            return Response(status: health.healthy ? .ok : .serviceUnavailable, contentType: "application/json", body: Array(health.json.utf8))
        case "/metrics":
            let body = exporter.render(info: server.infoFields(), statistics: server.runtime.statistics,
                                       databases: server.runtime.keyspace.databaseCount)
            return Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
        default:
            return Response(status: .notFound, contentType: "text/plain; charset=utf-8", body: Array("not found: try /health or /metrics\n".utf8))
        }
    }
}

/// `/health`: up, and able to take writes? Built from INFO's fields.
struct Health {
    let info: [String: String]

    /// Unhealthy when writes are refused because persistence failed (Redis's MISCONF), the
    /// append-only file cannot be written, or a replica has lost its master.
    var problems: [String] {
        var out: [String] = []
        if info["rdb_last_bgsave_status"] == "err" { out.append("the last background save failed") }
        if info["aof_last_write_status"] == "err" { out.append("the append-only file cannot be written") }
        if info["role"] == "slave" && info["master_link_status"] != "up" { out.append("the link to the master is down") }
        return out
    }

    var healthy: Bool { problems.isEmpty }

    var json: String {
        func int(_ field: String) -> String { String(Int(info[field] ?? "") ?? 0) }
        func string(_ s: String) -> String {
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                default:
                    if c.value < 0x20 { out += "\\u00" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16) } else { out.unicodeScalars.append(c) }
                }
            }
            return out + "\""
        }
        let problemList = problems.map(string).joined(separator: ",")
        return """
        {"status":\(string(healthy ? "ok" : "degraded")),"problems":[\(problemList)],\
        "uptime_seconds":\(int("uptime_in_seconds")),\
        "connections":{"active":\(int("connected_clients")),"total":\(int("total_connections_received")),"rejected":\(int("rejected_connections"))},\
        "memory":{"used":\(int("used_memory")),"max":\(int("maxmemory")),"rss":\(int("used_memory_rss"))},\
        "evicted_keys":\(int("evicted_keys")),"commands_processed":\(int("total_commands_processed")),\
        "persistence":{"rdb_changes_since_last_save":\(int("rdb_changes_since_last_save")),"rdb_last_save_time":\(int("rdb_last_save_time")),\
        "rdb_last_bgsave_status":\(string(info["rdb_last_bgsave_status"] ?? "ok")),"aof_enabled":\(info["aof_enabled"] == "1"),\
        "aof_last_write_status":\(string(info["aof_last_write_status"] ?? "ok"))},\
        "replication":{"role":\(string(info["role"] ?? "master")),"connected_replicas":\(int("connected_slaves")),\
        "master_link_status":\(info["master_link_status"].map(string) ?? "null"),"offset":\(int("master_repl_offset"))}}

        """
    }
}

/// One HTTP connection: answers each request when it is complete (bodies are ignored).
private final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoint: HTTPEndpoint
    private var head: HTTPRequestHead?

    init(endpoint: HTTPEndpoint) {
        self.endpoint = endpoint
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let response = endpoint.respond(to: head)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: String(response.body.count))
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                var body = context.channel.allocator.buffer(capacity: response.body.count)
                body.writeBytes(response.body)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
