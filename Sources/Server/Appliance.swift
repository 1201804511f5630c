import Configuration
#if canImport(Glibc)
import Glibc
#endif

/// The server as the VM appliance's only process (its /init, PID 1).
///
/// Inside the image there is no shell and no argument vector worth the name, so settings come
/// from two places: the configuration file the image builder bakes into the initramfs (the
/// recipe's `[server]` table, in redis.conf syntax), and `swiftlet.<directive>=<value>`
/// parameters on the kernel command line, which override the file so a runner can change a port
/// or a password without rebuilding the image. Both become the `[file] --directive value ...`
/// arguments `Config.load` takes from any other command line.
///
/// Mounting /proc, /sys, /dev and the data volume happens earlier, in CSwiftletInit's
/// constructor, before the Swift runtime starts.
public enum Appliance {
    /// The recipe's server directives, written into the initramfs by `swiftlet image build`.
    public static let configFile = "/etc/swiftlet.conf"
    /// True when this process is the first process of its machine, i.e. the appliance's init.
    public static var isInit: Bool { getpid() == 1 }

    /// The server's arguments as the appliance's init: the file, then the kernel command line's
    /// directives (see `KernelParameters`).
    public static func serverArguments(kernelCommandLine: String, configFileExists: Bool) -> [String] {
        (configFileExists ? [configFile] : []) + KernelParameters.directiveArguments(kernelCommandLine)
    }

    /// The server's arguments when running as init: reads /proc/cmdline (mounted by the boot shim)
    /// and looks for the baked-in configuration file.
    public static func serverArguments() -> [String] {
        let commandLine = (try? readTextFile("/proc/cmdline")) ?? ""
        return serverArguments(kernelCommandLine: commandLine, configFileExists: access(configFile, R_OK) == 0)
    }
}
