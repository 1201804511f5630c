import NIOCore
import Keyspace
#if canImport(Glibc)
import Glibc
#endif

/// A failed save or load, with a message for the log and the client.
public struct PersistenceError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Moving snapshots between memory and the file system, crash-safely.
public enum SnapshotFile {
    public struct SaveResult: Sendable {
        public let bytes: Int
        public let keys: Int
    }

    /// Writes `snapshot` to `path` so that a crash at any moment leaves either the old file or
    /// the complete new one: the data goes to a temporary file in the same directory, which is
    /// fsynced, renamed over `path`, and then the directory is fsynced so the rename itself is
    /// durable. On any failure the temporary file is removed and `path` is untouched.
    public static func save(_ snapshot: KeyspaceSnapshot, to path: String, options: RDBWriter.Options,
                            aux: [(String, String)], isCancelled: () -> Bool = { false }) throws -> SaveResult {
        let directory = parentDirectory(of: path)
        let temp = directory + "/temp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).rdb"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw PersistenceError("Failed opening the temp RDB file \(temp) for saving: \(errorText())")
        }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            let writer = RDBWriter(options: options) { chunk in try writeAll(fd, chunk, path: temp) }
            try writer.write(snapshot, aux: aux, isCancelled: isCancelled)
            guard fsync(fd) == 0 else { throw PersistenceError("Failed to fsync \(temp): \(errorText())") }
            closed = true
            guard close(fd) == 0 else { throw PersistenceError("Failed to close \(temp): \(errorText())") }
            guard rename(temp, path) == 0 else {
                throw PersistenceError("Error moving temp DB file \(temp) on the final destination \(path): \(errorText())")
            }
            syncDirectory(directory)
            return SaveResult(bytes: writer.bytesWritten, keys: writer.keysWritten)
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// Loads `path` through `insert`; nil when the file does not exist. The file is only read.
    public static func load(_ path: String, databases: Int, now: Int64, clock: UInt32,
                            insert: (Int, ByteBuffer, Entry) -> Bool) throws -> RDBLoadSummary? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw PersistenceError("Can't open the RDB file \(path): \(errorText())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw PersistenceError("Can't stat \(path): \(errorText())") }
        let size = Int(info.st_size)
        guard size > 0 else {
            throw PersistenceError("The RDB file \(path) is damaged: it is empty (at byte offset 0)")
        }
        // Mapped rather than read: the loader walks it once and the page cache holds it anyway.
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw PersistenceError("Can't map \(path): \(errorText())")
        }
        defer { munmap(base, size) }
        madvise(base, size, MADV_SEQUENTIAL)
        let reader = RDBReader(UnsafeRawBufferPointer(start: base, count: size))
        do {
            return try reader.load(databases: databases, now: now, clock: clock, insert: insert)
        } catch let error as RDBLoadError {
            throw PersistenceError("The RDB file \(path) is damaged or unsupported: \(error)")
        }
    }

    /// Replaces `path` with `bytes` crash-safely (temporary file, fsync, rename, directory
    /// fsync): the append-only file's manifest switches this way.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let directory = parentDirectory(of: path)
        let temp = directory + "/temp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PersistenceError("Can't open \(temp): \(errorText())") }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
            guard fsync(fd) == 0 else { throw PersistenceError("Failed to fsync \(temp): \(errorText())") }
        } catch {
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let reason = errorText()
            unlink(temp)
            throw PersistenceError("Can't rename \(temp) to \(path): \(reason)")
        }
        syncDirectory(directory)
    }

    /// Writes all of `chunk` to `fd` (retrying short writes and EINTR).
    public static func writeAll(_ fd: Int32, _ chunk: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < chunk.count {
            let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw PersistenceError("Write error saving DB on disk (\(path)): \(errorText())")
            }
            offset += n
        }
    }

    public static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
