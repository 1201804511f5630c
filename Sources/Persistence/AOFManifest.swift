/// The manifest of a Redis 7.0 multi-part append-only file: which files, in which order, make
/// up the data. One line per file:
///
///     file appendonly.aof.1.base.rdb seq 1 type b
///     file appendonly.aof.1.incr.aof seq 1 type i
///
/// `type b` is the base (an RDB, or commands when `aof-use-rdb-preamble no`), `type i` an
/// incremental file of commands, `type h` a file a rewrite made history (to be deleted). Load
/// order: the base, then the incr files by ascending `seq`. Redis writes the manifest to a
/// temporary file and renames it, so switching files is atomic; so do we.
public struct AOFManifest: Equatable, Sendable {
    public enum FileType: String, Sendable {
        case base = "b"
        case history = "h"
        case incr = "i"
    }

    public struct File: Equatable, Sendable {
        public var name: String
        public var seq: Int
        public var type: FileType

        public init(name: String, seq: Int, type: FileType) {
            self.name = name
            self.seq = seq
            self.type = type
        }
    }

    public var files: [File]

    public init(files: [File] = []) {
        self.files = files
    }

    public var base: File? { files.first { $0.type == .base } }
    public var incrs: [File] { files.filter { $0.type == .incr }.sorted { $0.seq < $1.seq } }
    public var history: [File] { files.filter { $0.type == .history } }

    /// `<appendfilename>.<seq>.base.rdb` (or `.aof` without the RDB preamble).
    public static func baseName(_ prefix: String, seq: Int, rdb: Bool) -> String {
        "\(prefix).\(seq).base.\(rdb ? "rdb" : "aof")"
    }

    public static func incrName(_ prefix: String, seq: Int) -> String { "\(prefix).\(seq).incr.aof" }

    public static func manifestName(_ prefix: String) -> String { "\(prefix).manifest" }

    /// The text Redis writes: one `file ... seq ... type ...` line per file, base first.
    public func render() -> String {
        var text = ""
        let ordered = files.filter { $0.type == .base } + files.filter { $0.type == .history } + incrs
        for f in ordered {
            text += "file \(Self.quoted(f.name)) seq \(f.seq) type \(f.type.rawValue)\n"
        }
        return text
    }

    /// Parses a manifest; errors name the line and say what is wrong (Redis refuses to start
    /// on a manifest it cannot read, and so do we).
    public init(parsing text: String) throws {
        files = []
        var sawBase = false
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed()
                .reduce(into: "") { $0.append($1) }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = try Self.words(line, line: index + 1)
            guard words.count % 2 == 0 else { throw AOFManifestError(line: index + 1, message: "Invalid AOF manifest file format") }
            var name: String?, seq: Int?, type: FileType?
            for i in stride(from: 0, to: words.count, by: 2) {
                switch words[i] {
                case "file": name = words[i + 1]
                case "seq": seq = Int(words[i + 1])
                case "type": type = FileType(rawValue: words[i + 1])
                default: continue   // later Redis versions may add keys; Redis skips unknown ones too
                }
            }
            guard let name, let seq, let type, !name.contains("/") else {
                throw AOFManifestError(line: index + 1, message: "Invalid AOF manifest file format")
            }
            if type == .base {
                guard !sawBase else { throw AOFManifestError(line: index + 1, message: "Found duplicate base file information") }
                sawBase = true
            }
            files.append(File(name: name, seq: seq, type: type))
        }
        if files.isEmpty { throw AOFManifestError(line: 0, message: "Found an empty AOF manifest") }
    }

    /// Words separated by spaces; a word may be double-quoted with C escapes (Redis's sdssplitargs).
    private static func words(_ line: String, line number: Int) throws -> [String] {
        var words: [String] = []
        var chars = Array(line.utf8)[...]
        while let first = chars.first {
            if first == UInt8(ascii: " ") { chars = chars.dropFirst(); continue }
            var word: [UInt8] = []
            if first == UInt8(ascii: "\"") {
                chars = chars.dropFirst()
                var closed = false
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if c == UInt8(ascii: "\"") { closed = true; break }
                    if c == UInt8(ascii: "\\"), let next = chars.first {
                        chars = chars.dropFirst()
                        switch next {
                        case UInt8(ascii: "n"): word.append(10)
                        case UInt8(ascii: "r"): word.append(13)
                        case UInt8(ascii: "t"): word.append(9)
                        default: word.append(next)
                        }
                    } else {
                        word.append(c)
                    }
                }
                guard closed else { throw AOFManifestError(line: number, message: "Invalid AOF manifest file format") }
            } else {
                while let c = chars.first, c != UInt8(ascii: " ") {
                    word.append(c)
                    chars = chars.dropFirst()
                }
            }
            words.append(String(decoding: word, as: UTF8.self))
        }
        return words
    }

    private static func quoted(_ name: String) -> String {
        guard name.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0.asciiValue.map { $0 < 32 } ?? false }) else { return name }
        var out = "\""
        for ch in name {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}

public struct AOFManifestError: Error, CustomStringConvertible, Equatable {
    public let line: Int
    public let message: String
    public var description: String { line > 0 ? "\(message) (line \(line))" : message }
}
