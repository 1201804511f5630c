import Logging
import NIOCore
import Commands
import Configuration
import Keyspace
import Persistence
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// Loads a Redis 7.0 multi-part append-only file at start-up: the base (an RDB, or commands),
/// then every incr file in manifest order, each command replayed through the one command path
/// as a client without a connection (Redis's "fake client"), so the data is exactly what the
/// commands make. Nothing is propagated while loading.
///
/// Bad input never costs the user their files: a truncated last command of the last incr file
/// (a crash while appending) is cut off with a warning when `aof-load-truncated yes`, as Redis
/// does (the file is shortened to its last whole command, so appending continues cleanly);
/// anything else unreadable stops the start with the file's name and the byte offset.
struct AOFLoader {
    let directory: String
    let prefix: String
    let runtime: ServerRuntime
    let loadTruncated: Bool
    let log: Logger

    struct Summary {
        var manifest: AOFManifest
        var commands = 0
        var keysFromBase = 0
    }

    /// Nil when there is no AOF (no manifest in the directory).
    func load() throws -> Summary? {
        let manifestPath = directory + "/" + AOFManifest.manifestName(prefix)
        guard access(manifestPath, F_OK) == 0 else { return nil }
        let manifest: AOFManifest
        do {
            manifest = try AOFManifest(parsing: try readTextFile(manifestPath))
        } catch {
            throw ServerError("The AOF manifest file \(manifestPath) is invalid: \(error)")
        }
        var summary = Summary(manifest: manifest)
        let parts = (manifest.base.map { [$0] } ?? []) + manifest.incrs
        for (index, file) in parts.enumerated() {
            let path = directory + "/" + file.name
            guard access(path, F_OK) == 0 else {
                throw ServerError("The AOF file \(path) listed in \(manifestPath) doesn't exist")
            }
            let isLast = index == parts.count - 1
            if file.type == .base, try startsWithRDBMagic(path) {
                log.notice("Reading RDB base file on AOF loading...")
                let loaded = try SnapshotFile.load(path, databases: runtime.keyspace.databaseCount, now: currentTimeMillis(),
                                                   clock: runtime.initialAccess, insert: runtime.keyspace.insertLoaded)
                summary.keysFromBase += loaded?.keysLoaded ?? 0
                log.notice("DB loaded from base file \(file.name)")
            } else {
                summary.commands += try replay(path, isLast: isLast)
                log.notice("DB loaded from \(file.type == .base ? "base" : "incr") file \(file.name)")
            }
        }
        return summary
    }

    private func startsWithRDBMagic(_ path: String) throws -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ServerError("Can't open the AOF file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 5)
        return read(fd, &magic, 5) == 5 && magic == Array("REDIS".utf8)
    }

    /// Runs every command of one file; returns how many.
    private func replay(_ path: String, isLast: Bool) throws -> Int {
        let fd = open(path, isLast ? (O_RDWR | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC))
        guard fd >= 0 else { throw ServerError("Can't open the AOF file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ServerError("Can't stat \(path): \(String(cString: strerror(errno)))") }
        let size = Int(info.st_size)
        guard size > 0 else { return 0 }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw ServerError("Can't map \(path): \(String(cString: strerror(errno)))")
        }
        defer { munmap(base, size) }
        var reader = AOFCommandReader(UnsafeRawBufferPointer(start: base, count: size))
        let client = ClientState(id: 0, remoteAddress: "", localAddress: "", fd: -1, now: currentTimeMillis())
        client.authenticated = true
        client.aclBypass = true
        var count = 0
        // Where the open MULTI began: a file that ends inside a transaction is cut before it.
        var multiStart: Int? = nil
        var commandStart = 0
        do {
            while true {
                commandStart = reader.offset
                guard let args = try reader.next() else { break }
                let name = String(buffer: args[0]).lowercased()
                if name == "multi" { multiStart = commandStart }
                if name == "exec" { multiStart = nil }
                try run(args, client: client, path: path, offset: commandStart)
                count += 1
            }
        } catch AOFReadError.truncated(let offset) {
            try cut(path, fd: fd, at: multiStart ?? offset, isLast: isLast, reason: "short read")
            return count
        } catch let error as AOFReadError {
            throw ServerError("Bad file format reading the append only file \(path): \(error). Make a backup of your AOF file, then use redis-check-aof --fix <filename.manifest>")
        }
        if let multiStart {
            try cut(path, fd: fd, at: multiStart, isLast: isLast, reason: "an unfinished MULTI/EXEC transaction")
        }
        return count
    }

    /// A truncated tail: shortened to `offset` when allowed, else an error.
    private func cut(_ path: String, fd: Int32, at offset: Int, isLast: Bool, reason: String) throws {
        guard isLast && loadTruncated else {
            throw ServerError("Unexpected end of file reading the append only file \(path) (\(reason) at byte offset \(offset)). You can: 1) Make a backup of your AOF file, then use redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")
        }
        log.warning("!!! Warning: \(reason) while loading the AOF file \(path)!!!")
        guard ftruncate(fd, off_t(offset)) == 0 else {
            throw ServerError("Error truncating the AOF file \(path) at byte offset \(offset): \(String(cString: strerror(errno)))")
        }
        log.warning("AOF \(path) loaded anyway because aof-load-truncated is enabled (cut at byte offset \(offset))")
    }

    /// One command through the command path, as the fake client.
    private func run(_ args: [ByteBuffer], client: ClientState, path: String, offset: Int) throws {
        let now = currentTimeMillis()
        var ctx = CommandContext(args: Arguments(args), out: ReplyWriter(buffer: ByteBuffer(), proto: .resp2),
                                 keyspace: runtime.keyspace, client: client, server: runtime, now: now, db: client.db)
        ctx.begin(now: now)
        ctx.recordsStatistics = false
        guard ctx.args.withUnsafeBytes(0, { runtime.table.lookup($0) }) != nil else {
            throw ServerError("Unknown command '\(String(buffer: args[0]))' reading the append only file \(path) at byte offset \(offset)")
        }
        if case .blocked = runtime.dispatch(&ctx) {
            throw ServerError("A blocking command ('\(String(buffer: args[0]))') in the append only file \(path) at byte offset \(offset)")
        }
        // Replayed replies are nobody's: their errors are not the clients' (INFO errorstats).
        _ = ctx.out.takeErrorCodes()
        runtime.publishCounters(&ctx)
    }
}
