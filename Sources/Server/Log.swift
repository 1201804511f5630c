import Atomics
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Log lines in redis-server's format (`pid:M 21 Nov 2026 15:30:00.123 * message`), to stdout or
/// to `logfile`. In the appliance stdout is the serial console.
struct RedisStyleLogHandler: LogHandler {
    /// The role letter after the pid, as Redis: M for a master, S for a replica (set by
    /// Replication when the role changes).
    static let roleMark = ManagedAtomic<UInt8>(UInt8(ascii: "M"))

    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    /// Descriptor written with one write(2) per line, so lines from several threads never mix.
    let fd: Int32

    init(level: Logger.Level, file: String) {
        logLevel = level
        let opened = file.isEmpty ? -1 : open(file, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        fd = opened >= 0 ? opened : 1
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let mark: Character
        switch event.level {
        case .trace, .debug: mark = "."
        case .info: mark = "-"
        case .notice: mark = "*"
        default: mark = "#"
        }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        _ = strftime(&buf, buf.count, "%d %b %Y %H:%M:%S", &tmv)
        let millis = Int(ts.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        let stamp = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let role = Character(Unicode.Scalar(RedisStyleLogHandler.roleMark.load(ordering: .relaxed)))
        let line = "\(getpid()):\(role) \(stamp).\(ms) \(mark) \(event.message)\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }
}

extension Logger.Level {
    /// Redis log levels onto swift-log's.
    init(redisLevel: String) {
        switch redisLevel {
        case "debug": self = .debug
        case "verbose": self = .info
        case "warning": self = .warning
        case "nothing": self = .critical
        default: self = .notice
        }
    }
}

/// Writes a message to standard error (start-up failures, before logging is set up).
public func printError(_ message: String) {
    let text = message.hasSuffix("\n") ? message : message + "\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
}

/// Reads a whole text file (a configuration file).
public func readTextFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw ServerError.fileError(path, errno) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n < 0 { throw ServerError.fileError(path, errno) }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}
