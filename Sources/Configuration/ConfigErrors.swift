/// What is wrong with one directive, whichever way it arrived; each way words it as
/// redis-server does (`inFile` for a config file or the command line, `inConfigSet` for a
/// client).
public enum ConfigProblem: Error, Equatable, Sendable {
    case unknownDirective
    /// CONFIG SET of a directive that only start-up may set.
    case immutable
    case wrongArgumentCount
    /// The value is not of the directive's type, or the directive's own check refused it (the
    /// message, in Redis's words).
    case invalid(String)

    /// The reason line of a fatal config-file error.
    public var inFile: String {
        switch self {
        case .unknownDirective: return "Bad directive or wrong number of arguments"
        case .immutable: return "can't set immutable config"
        case .wrongArgumentCount: return "wrong number of arguments"
        case .invalid(let message): return message
        }
    }

    /// The error reply to `CONFIG SET name ...`.
    public func inConfigSet(name: String) -> String {
        switch self {
        case .unknownDirective: return "ERR Unknown option or number of arguments for CONFIG SET - '\(name)'"
        default: return "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(inFile)"
        }
    }
}

/// A configuration error, formatted for a human the way redis-server reports it.
public struct ConfigError: Error, CustomStringConvertible {
    public let source: String
    public let line: Int
    public let text: String
    public let reason: String
    public var description: String {
        """
        *** FATAL CONFIG FILE ERROR (Swiftlet \(SwiftletVersion.server), Redis \(SwiftletVersion.redisCompat) compatible) ***
        Reading the configuration file \(source), at line \(line)
        >>> '\(text)'
        \(reason)
        """
    }
}
