import CSwiftletSeccomp
import Configuration
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `seccomp yes|log`: confines the process to the system calls of
/// Sources/CSwiftletSeccomp/allowlist.def. Installed by `SwiftletServer.start` once the listeners
/// are bound and the data files open, before the first client is accepted; from then on every
/// thread, those running and those made later, is under the filter, and nothing can lift it.
enum SystemCallFilter {
    /// Installs the filter `config[.seccomp]` asks for (nothing for `no`). Throws when the
    /// kernel refuses it: a server asked to run confined does not run unconfined.
    static func install(config: Config, log: Logger) throws {
        let mode: swiftlet_seccomp_mode
        switch config[.seccomp] {
        case "yes": mode = SWIFTLET_SECCOMP_KILL
        case "log": mode = SWIFTLET_SECCOMP_LOG
        default: return
        }
        // The kill line goes where the log goes (a descriptor of its own on the same file,
        // appending, so it cannot tear a log line), and to standard error.
        let logfile = config[.logFile]
        let logFD = logfile.isEmpty ? 1 : open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        var error = [CChar](repeating: 0, count: 256)
        let rc = swiftlet_seccomp_install(mode, logFD >= 0 ? logFD : 2, Appliance.isInit ? 1 : 0, &error, error.count)
        guard rc == 0 else {
            throw ServerError("Could not install the seccomp filter (seccomp \(config[.seccomp])): \(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        let size = swiftlet_seccomp_allowlist_size()
        if mode == SWIFTLET_SECCOMP_LOG {
            log.warning("seccomp log: \(size) system calls allowed; others go ahead and the kernel logs them (dmesg: type=1326)")
        } else {
            log.notice("seccomp: \(size) system calls allowed (allowlist.def), any other kills the server")
        }
    }
}
