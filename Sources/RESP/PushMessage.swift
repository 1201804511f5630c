import NIOCore

/// A pub/sub message for one subscriber: `message`, `pmessage` (with the pattern that matched)
/// or `smessage`.
public struct PushMessage: Sendable {
    public enum Kind: Sendable { case message, pmessage, smessage }
    public var kind: Kind
    public var pattern: ByteBuffer?
    public var channel: ByteBuffer
    public var payload: ByteBuffer
    public init(kind: Kind, pattern: ByteBuffer?, channel: ByteBuffer, payload: ByteBuffer) {
        self.kind = kind
        self.pattern = pattern
        self.channel = channel
        self.payload = payload
    }
}

extension ReplyWriter {
    /// A pub/sub message in the writer's protocol: a RESP3 push, or the RESP2 array subscribers
    /// read. The one encoding, used by connections and by the unit-test harness alike.
    public mutating func push(_ message: PushMessage) {
        switch message.kind {
        case .pmessage:
            push(4)
            bulk("pmessage")
            bulk(message.pattern ?? ByteBuffer())
        case .message:
            push(3)
            bulk("message")
        case .smessage:
            push(3)
            bulk("smessage")
        }
        bulk(message.channel)
        bulk(message.payload)
    }
}
