/// `swiftlet.<directive>=<value>` parameters on an appliance's kernel command line.
///
/// They override the image's baked-in configuration file, so a runner can change a port or a
/// password without rebuilding the image. Three parties read them, all through this one
/// definition: the server as the appliance's init (its arguments), the image builder (which
/// checks them and records the guest's port in the manifest) and the runner (which forwards to
/// the port the guest will really listen on).
public enum KernelParameters {
    /// Kernel command-line parameters meant for Swiftlet start with this.
    public static let prefix = "swiftlet."
    /// Parameters read by the C boot shim, not server directives (`swiftlet.data=/dev/vda`).
    public static let bootShimParameters: Set<String> = ["data"]

    /// Splits a kernel command line into parameters the way the kernel's `next_arg` does:
    /// whitespace separates parameters except inside double quotes, the first `=` separates name
    /// and value, and the quotes themselves are dropped (`swiftlet.save="900 1"`).
    public static func split(_ commandLine: String) -> [(name: String, value: String?)] {
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

    /// The server directives a command line sets, in order, as `--name value` arguments for
    /// `Config.load`. `swiftlet.save=` (no value) is `save ""`, the way redis.conf spells "none".
    public static func directiveArguments(_ commandLine: String) -> [String] {
        var arguments: [String] = []
        for (name, value) in split(commandLine) where name.hasPrefix(prefix) {
            let directive = String(name.dropFirst(prefix.count))
            guard !directive.isEmpty, !bootShimParameters.contains(directive) else { continue }
            arguments += ["--" + directive, value ?? ""]
        }
        return arguments
    }

    /// The value the last `swiftlet.<directive>=` parameter gives, if any.
    public static func value(of directive: String, in commandLine: String) -> String? {
        split(commandLine).last { $0.name == prefix + directive }.map { $0.value ?? "" }
    }
}
