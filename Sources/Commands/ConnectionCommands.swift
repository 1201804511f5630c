import NIOCore
import Keyspace
import RESP

extension CommandTable {
    static let connectionCommands: [Command] = []
}
