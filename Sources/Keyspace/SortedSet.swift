import NIOCore

/// Placeholder until the skip list lands: member → score map.
public struct SortedSet: Sendable {
    public private(set) var scores: [ByteBuffer: Double] = [:]
    public init() {}
    public var count: Int { scores.count }
    public var maxMemberLength: Int { scores.keys.map(\.readableBytes).max() ?? 0 }
}
