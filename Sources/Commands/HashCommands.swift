import NIOCore
import Keyspace
import RESP

extension CommandTable {
    static let hashCommands: [Command] = []
}
