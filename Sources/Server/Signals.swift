import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT shut the server down the way SHUTDOWN does (saving first when save rules
/// are configured).
public enum SignalHandling {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    public static func install(_ server: SwiftletServer) {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                server.log.warning(sig == SIGTERM ? "Received SIGTERM scheduling shutdown..." : "Received SIGINT scheduling shutdown...")
                // As in Redis: save first when save rules are configured; a failed save keeps
                // the server running rather than losing the data.
                guard server.saveBeforeExit(save: nil) == nil else { return }
                server.requestShutdown(reason: "User requested shutdown...")
            }
            source.resume()
            sources.append(source)
        }
    }
}

extension ServerError {
    public static func fileError(_ path: String, _ code: Int32) -> ServerError {
        ServerError("\(path): \(String(cString: strerror(code)))")
    }
}
