import CSwiftletInit
import Configuration
import Server
#if canImport(Glibc)
import Glibc
#endif

// swiftlet-server [/path/to/redis.conf] [--directive value ...]
// The same convention as redis-server, so scripts and tools that start one start the other.
//
// As the VM appliance's /init (PID 1) the arguments come from the image instead (see
// Appliance), and every way out powers the VM off: init exiting would panic the kernel.

/// Ends the process, or the whole VM when this process is its init.
func terminate(_ status: Int32) -> Never {
    if Appliance.isInit {
        swiftlet_power_off()
        printError("Power-off failed: \(String(cString: strerror(errno)))")
    }
    exit(status)
}

let arguments: [String]
if Appliance.isInit {
    arguments = Appliance.serverArguments()
    print("Swiftlet appliance: swiftlet-server \(arguments.joined(separator: " "))")
} else {
    arguments = Array(CommandLine.arguments.dropFirst())
}
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
    terminate(1)
}

signal(SIGPIPE, SIG_IGN)
let server = SwiftletServer(config: config)
do {
    try server.start()
} catch {
    printError("Failed to start: \(error)")
    terminate(1)
}
SignalHandling.install(server)
do {
    try server.wait()
} catch {
    printError("Fatal: \(error)")
    terminate(1)
}
terminate(0)
