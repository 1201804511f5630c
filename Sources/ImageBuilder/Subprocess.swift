import Foundation

/// Runs the host programs the build drives (swift, make, tar, strip, mkfs.ext4).
public enum Subprocess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `arguments` (found on PATH) in `directory`, with stdout and stderr appended to `log`
    /// when given (inherited otherwise). Throws when it cannot start or exits non-zero.
    static func run(_ arguments: [String], in directory: URL? = nil, log: FileHandle? = nil,
                    environment: [String: String]? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let log {
            log.write(Data("$ \(arguments.joined(separator: " "))\n".utf8))
            process.standardOutput = log
            process.standardError = log
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        Interrupts.shared.register(child: process.processIdentifier)
        process.waitUntilExit()
        Interrupts.shared.unregister(child: process.processIdentifier)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw Failure(description: "`\(arguments.joined(separator: " "))` failed (status \(process.terminationStatus))")
        }
    }

    /// Runs `arguments` and returns what it printed on stdout.
    public static func output(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw Failure(description: "`\(arguments.joined(separator: " "))` failed (status \(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The last `count` lines of a log file, for error messages.
    static func tail(of file: URL, lines count: Int = 25) -> String {
        guard let data = try? Data(contentsOf: file) else { return "" }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        return lines.suffix(count + 1).joined(separator: "\n")
    }
}

/// Writes files so that a reader never sees a half-written one: the bytes go to a temporary
/// name in the same directory, are flushed, and are renamed over the final name.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to url: URL, permissions: Int = 0o644) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        defer { try? FileManager.default.removeItem(at: temporary) }
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(bytes),
                                             attributes: [.posixPermissions: permissions]) else {
            throw Subprocess.Failure(description: "cannot write \(temporary.path)")
        }
        let fd = open(temporary.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        try install(temporary, at: url)
    }

    /// Moves a finished file (or directory) into place, replacing what was there.
    static func install(_ finished: URL, at url: URL) throws {
        guard rename(finished.path, url.path) == 0 else {
            throw Subprocess.Failure(description: "cannot rename \(finished.path) to \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}
