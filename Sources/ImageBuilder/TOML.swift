/// The subset of TOML that recipes use: `[table]` headers, `key = value` lines, `#` comments,
/// and values that are basic ("...") or literal ('...') strings, integers, booleans, or one-line
/// arrays of strings.
///
/// Hand-written rather than TOMLKit because TOMLKit compiles toml++ (C++) into the host tool for
/// a handful of flat keys, and because the recipe's errors must name the field and the line,
/// which a full parser's generic errors do not.
struct TOMLDocument {
    enum Value: Equatable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case strings([String])

        var typeName: String {
            switch self {
            case .string: return "a string"
            case .integer: return "an integer"
            case .boolean: return "a boolean"
            case .strings: return "an array of strings"
            }
        }
    }

    struct Field {
        /// Table name ("" for the top level).
        let table: String
        let key: String
        let value: Value
        let line: Int

        /// `table.key`, the way errors name a field.
        var path: String { table.isEmpty ? key : "\(table).\(key)" }
    }

    struct SyntaxError: Error {
        let line: Int
        let message: String
    }

    /// Fields in file order.
    private(set) var fields: [Field] = []
    /// Tables in file order, with the line of their header.
    private(set) var tables: [(name: String, line: Int)] = []

    init(parsing text: String) throws {
        var table = ""
        var seen: Set<String> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var scanner = Scanner(Array(rawLine.utf8), line: number)
            scanner.skipSpaces()
            if scanner.atEndOrComment { continue }
            if scanner.peek == UInt8(ascii: "[") {
                scanner.advance()
                scanner.skipSpaces()
                let name = try scanner.bareKey()
                scanner.skipSpaces()
                try scanner.expect("]")
                try scanner.expectEndOfLine()
                guard !tables.contains(where: { $0.name == name }) else {
                    throw SyntaxError(line: number, message: "table [\(name)] appears twice")
                }
                table = name
                tables.append((name, number))
                continue
            }
            let key = try scanner.bareKey()
            scanner.skipSpaces()
            try scanner.expect("=")
            scanner.skipSpaces()
            let value = try scanner.value()
            try scanner.expectEndOfLine()
            let field = Field(table: table, key: key, value: value, line: number)
            guard seen.insert(field.path).inserted else {
                throw SyntaxError(line: number, message: "field `\(field.path)` is set twice")
            }
            fields.append(field)
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        let line: Int
        var position = 0

        init(_ bytes: [UInt8], line: Int) {
            // A trailing CR (a file edited on Windows) is not part of the value.
            self.bytes = bytes.last == UInt8(ascii: "\r") ? Array(bytes.dropLast()) : bytes
            self.line = line
        }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
        var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") }

        mutating func advance() { position += 1 }

        mutating func skipSpaces() {
            while let c = peek, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { advance() }
        }

        func error(_ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }

        mutating func expect(_ character: Character) throws {
            guard peek == character.asciiValue else {
                throw error("expected `\(character)`")
            }
            advance()
        }

        mutating func expectEndOfLine() throws {
            skipSpaces()
            guard atEndOrComment else { throw error("unexpected text after the value") }
        }

        mutating func bareKey() throws -> String {
            let start = position
            while let c = peek, c.isBareKeyCharacter { advance() }
            guard position > start else { throw error("expected a key (letters, digits, `_` or `-`)") }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func value() throws -> Value {
            switch peek {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                return .string(try string())
            case UInt8(ascii: "["):
                advance()
                var items: [String] = []
                skipSpaces()
                while peek != UInt8(ascii: "]") {
                    guard peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") else {
                        throw error("arrays hold strings only, on one line")
                    }
                    items.append(try string())
                    skipSpaces()
                    if peek == UInt8(ascii: ",") { advance(); skipSpaces() } else { break }
                }
                try expect("]")
                return .strings(items)
            default:
                let start = position
                while let c = peek, c != UInt8(ascii: " "), c != UInt8(ascii: "\t"), c != UInt8(ascii: "#") { advance() }
                let word = String(decoding: bytes[start..<position], as: UTF8.self)
                if word == "true" { return .boolean(true) }
                if word == "false" { return .boolean(false) }
                let digits = String(word.filter { $0 != "_" })
                if let n = Int(digits.hasPrefix("+") ? String(digits.dropFirst()) : digits), !word.hasPrefix("_"), !word.hasSuffix("_") {
                    return .integer(n)
                }
                throw error(word.isEmpty ? "missing value" : "`\(word)` is not a string, integer or boolean (strings need quotes)")
            }
        }

        mutating func string() throws -> String {
            let quote = peek!
            advance()
            var out: [UInt8] = []
            while let c = peek {
                advance()
                if c == quote { return String(decoding: out, as: UTF8.self) }
                if c == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
                    guard let e = peek else { break }
                    advance()
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "t"): out.append(9)
                    default: throw error("unsupported escape `\\\(Character(UnicodeScalar(e)))` in a string")
                    }
                } else {
                    out.append(c)
                }
            }
            throw error("unterminated string")
        }
    }
}

extension UInt8 {
    fileprivate var isBareKeyCharacter: Bool {
        (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z")) || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z"))
            || (self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")) || self == UInt8(ascii: "_") || self == UInt8(ascii: "-")
    }
}
