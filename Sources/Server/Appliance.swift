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
    /// Kernel command-line parameters meant for Swiftlet start with this.
    public static let parameterPrefix = "swiftlet."
    /// Parameters read by the C boot shim, not server directives (`swiftlet.data=/dev/vda`).
    static let bootShimParameters: Set<String> = ["data"]

    /// True when this process is the first process of its machine, i.e. the appliance's init.
    public static var isInit: Bool { getpid() == 1 }

    /// The server's arguments as the appliance's init.
    public static func serverArguments(kernelCommandLine: String, configFileExists: Bool) -> [String] {
        var arguments: [String] = configFileExists ? [configFile] : []
        for (name, value) in kernelParameters(kernelCommandLine) where name.hasPrefix(parameterPrefix) {
            let directive = String(name.dropFirst(parameterPrefix.count))
            guard !directive.isEmpty, !bootShimParameters.contains(directive) else { continue }
            arguments.append("--" + directive)
            // `swiftlet.save=` (no value) is `save ""`, the way redis.conf spells "none".
            arguments.append(value ?? "")
        }
        return arguments
    }

    /// Splits a kernel command line into parameters the way the kernel's `next_arg` does:
    /// whitespace separates parameters except inside double quotes, the first `=` separates name
    /// and value, and the quotes themselves are dropped (`swiftlet.save="900 1"`).
    static func kernelParameters(_ commandLine: String) -> [(name: String, value: String?)] {
        var tokens: [String] = []
        var current = ""
        var inQuotes = false
        var started = false
        for ch in commandLine {
            if ch == "\"" {
                inQuotes.toggle()
                started = true
            } else if !inQuotes && (ch == " " || ch == "\t" || ch == "\n") {
                if started { tokens.append(current) }
                current = ""
                started = false
            } else {
                current.append(ch)
                started = true
            }
        }
        if started { tokens.append(current) }
        return tokens.map { token in
            guard let eq = token.firstIndex(of: "=") else { return (token, nil) }
            return (String(token[..<eq]), String(token[token.index(after: eq)...]))
        }
    }

    /// The server's arguments when running as init: reads /proc/cmdline (mounted by the boot shim)
    /// and looks for the baked-in configuration file.
    public static func serverArguments() -> [String] {
        let commandLine = (try? readTextFile("/proc/cmdline")) ?? ""
        return serverArguments(kernelCommandLine: commandLine, configFileExists: access(configFile, R_OK) == 0)
    }
}
