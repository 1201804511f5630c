import NIOCore
import Keyspace
import RESP

extension CommandTable {
    static let setCommands: [Command] = []
}
