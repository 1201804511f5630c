import NIOCore
import Keyspace
import RESP

extension CommandTable {
    static let pubsubCommands: [Command] = []
}
