import Server
#if canImport(Glibc)
import Glibc
#endif

// swiftlet-server [/path/to/redis.conf] [--directive value ...]
// The same convention as redis-server, so scripts and tools that start one start the other.

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "-v" || arguments.first == "--version" {
    print("Swiftlet server v=\(SwiftletVersion.server) (Redis \(SwiftletVersion.redisCompat) compatible)")
    exit(0)
}
if arguments.first == "-h" || arguments.first == "--help" {
    print("""
    Usage: swiftlet-server [/path/to/redis.conf] [options]
           swiftlet-server -v or --version
           swiftlet-server -h or --help

    Examples:
           swiftlet-server (run the server with default config)
           swiftlet-server /etc/redis/6379.conf
           swiftlet-server --port 7777
           swiftlet-server /etc/myredis.conf --loglevel verbose --save ""
    """)
    exit(0)
}

let config: Config
do {
    config = try Config.load(arguments: arguments, readFile: readTextFile)
} catch {
    printError("\n\(error)")
    exit(1)
}

signal(SIGPIPE, SIG_IGN)
let server = SwiftletServer(config: config)
do {
    try server.start()
} catch {
    printError("Failed to start: \(error)")
    exit(1)
}
SignalHandling.install(server)
try server.wait()
exit(0)
