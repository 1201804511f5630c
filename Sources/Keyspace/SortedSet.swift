import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sorted set: members ordered by score, then by member bytes (Redis's `zset`).
///
/// Like Redis it pairs a member → score dictionary (O(1) `ZSCORE`, membership) with a skip list
/// whose links carry spans (O(log n) rank, element at rank, range bounds). Both live in one storage
/// object, so `SortedSet` is a single reference: copying it (a keyspace snapshot) is O(1), and the
/// first write to a shared copy duplicates the storage (copy-on-write), so no copy ever sees
/// another's writes.
///
/// Ranks are 0-based positions in ascending order. Members handed to `insert` are stored as given
/// when new: pass owned buffers (`ByteBuffer.owned()`), never slices of a request.
public struct SortedSet: Sendable {
    public typealias Element = (member: ByteBuffer, score: Double)

    private var storage: Storage

    /// The empty set; shares one storage object until the first insert, so it allocates nothing.
    public init() {
        storage = Storage.empty
    }

    /// A set holding exactly `scores` (ZUNIONSTORE and friends): one sort and a linear build,
    /// instead of a search per insert. The dictionary becomes the set's own.
    public init(_ scores: [ByteBuffer: Double]) {
        storage = Storage(scores: scores.mapValues { $0 + 0.0 })
    }

    public var count: Int { storage.list.count }
    public var isEmpty: Bool { storage.list.count == 0 }

    /// Longest member in bytes (what decides Redis's listpack vs skiplist encoding). O(n).
    public var maxMemberLength: Int {
        storage.scores.keys.reduce(0) { Swift.max($0, $1.readableBytes) }
    }

    /// Member → score, unordered (ZSCAN, set-operation lookups).
    public var scoresByMember: [ByteBuffer: Double] { storage.scores }

    /// Memory of the set's own structures (storage object, score table, node and link arrays),
    /// without the members' bytes, which `Footprint.value` samples. The members are shared by
    /// the table and the nodes (one buffer each).
    public var structureFootprint: Int {
        Footprint.chunk(48)
            + Footprint.hashTable(capacity: storage.scores.capacity, bytesPerBucket: MemoryLayout<ByteBuffer>.stride + 8)
            + storage.list.footprint
    }

    /// Up to `n` members, in the score table's order (a sample for the estimate).
    public func members(upTo n: Int) -> some Sequence<ByteBuffer> { storage.scores.keys.prefix(n) }

    public func score(of member: ByteBuffer) -> Double? { storage.scores[member] }

    /// Sets `member`'s score, adding the member when it is new. Returns the previous score.
    /// `score` must not be NaN (it has no place in the order).
    ///
    /// A score of -0 is stored as 0: Redis's compact encoding for small sets keeps no sign on zero,
    /// and that is what its replies show.
    @discardableResult
    public mutating func insert(_ member: ByteBuffer, score: Double) -> Double? {
        precondition(!score.isNaN, "NaN score")
        let score = score + 0.0
        makeUnique()
        if let old = storage.scores.updateValue(score, forKey: member) {
            if old != score { storage.list.updateScore(member, from: old, to: score) }
            return old
        }
        storage.list.insert(member, score)
        return nil
    }

    /// Removes `member`; returns its score, nil when it was not there.
    @discardableResult
    public mutating func remove(_ member: ByteBuffer) -> Double? {
        if !isKnownUniquelyReferenced(&storage) {
            guard storage.scores[member] != nil else { return nil }   // no copy for a no-op
            storage = Storage(copying: storage)
        }
        guard let score = storage.scores.removeValue(forKey: member) else { return nil }
        storage.list.remove(member, score)
        storage.shrinkIfSparse()
        return score
    }

    /// Position of `member` in ascending order, or in descending order when `reverse`.
    public func rank(of member: ByteBuffer, reverse: Bool = false) -> Int? {
        guard let score = storage.scores[member] else { return nil }
        let rank = storage.list.count(before: score, member)
        return reverse ? count - 1 - rank : rank
    }

    /// The element at ascending position `rank` (`0..<count`).
    public func element(atRank rank: Int) -> Element {
        precondition(rank >= 0 && rank < count, "rank out of range")
        return storage.list.element(storage.list.node(atRank: rank))
    }

    /// The elements at `ranks`, ascending, or descending from `ranks.upperBound - 1` down to
    /// `ranks.lowerBound` when `reverse`. O(log n) to start, O(1) per element.
    public func elements(inRanks ranks: Range<Int>, reverse: Bool = false) -> Elements {
        precondition(ranks.lowerBound >= 0 && ranks.upperBound <= count, "ranks out of range")
        let list = storage.list
        guard !ranks.isEmpty else { return Elements(list: list, start: 0, count: 0, reverse: reverse) }
        let start = reverse ? list.node(atRank: ranks.upperBound - 1) : list.node(atRank: ranks.lowerBound)
        return Elements(list: list, start: start, count: ranks.count, reverse: reverse)
    }

    /// Ranks of the elements whose score lies in `range` (empty when none).
    public func ranks(in range: ScoreRange) -> Range<Int> {
        let below = storage.list.countLeading(scores: range.minExclusive ? { $0 <= range.min } : { $0 < range.min })
        let upTo = storage.list.countLeading(scores: range.maxExclusive ? { $0 < range.max } : { $0 <= range.max })
        return below..<Swift.max(below, upTo)
    }

    /// Ranks of the elements whose member lies in `range`. Meaningful when all scores are equal
    /// (the ZRANGEBYLEX contract); otherwise it is the span between the two bounds found by
    /// searching the order as if it were lexicographic, as in Redis.
    public func ranks(in range: LexRange) -> Range<Int> {
        let below = storage.list.countLeading(members: { !range.min.admitsAsMin($0) })
        let upTo = storage.list.countLeading(members: { range.max.admitsAsMax($0) })
        return below..<Swift.max(below, upTo)
    }

    /// Removes the elements at `ranks`; returns how many were removed. O(log n + removed).
    @discardableResult
    public mutating func removeRanks(_ ranks: Range<Int>) -> Int {
        let ranks = ranks.clamped(to: 0..<count)
        guard !ranks.isEmpty else { return 0 }
        makeUnique()
        storage.removeRanks(ranks)
        return ranks.count
    }

    /// Removes and returns the lowest element.
    public mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let first = element(atRank: 0)
        removeRanks(0..<1)
        return first
    }

    /// Removes and returns the highest element.
    public mutating func popLast() -> Element? {
        guard !isEmpty else { return nil }
        let last = storage.list.element(storage.list.tail)
        removeRanks(count - 1..<count)
        return last
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
    }

    /// Byte order of members within one score (Redis's `sdscmp`): unsigned bytes, then the
    /// shorter first. Negative, zero or positive like `memcmp`.
    @inlinable
    public static func compare(_ a: ByteBuffer, _ b: ByteBuffer) -> Int {
        a.withUnsafeReadableBytes { pa in
            b.withUnsafeReadableBytes { pb in
                let common = Swift.min(pa.count, pb.count)
                if common > 0 {
                    let r = memcmp(pa.baseAddress!, pb.baseAddress!, common)
                    if r != 0 { return Int(r) }
                }
                return pa.count - pb.count
            }
        }
    }
}

extension SortedSet: Sequence {
    /// All elements in ascending order.
    public func makeIterator() -> Elements { elements(inRanks: 0..<count) }
    public var underestimatedCount: Int { count }

    /// A run of consecutive elements. Holds its own reference to the storage, so it stays valid
    /// (and unchanged) if the set is modified meanwhile.
    public struct Elements: Sequence, IteratorProtocol {
        fileprivate let list: SkipList
        fileprivate var node: Int32
        fileprivate var remaining: Int
        fileprivate let reverse: Bool

        fileprivate init(list: SkipList, start: Int32, count: Int, reverse: Bool) {
            self.list = list
            self.node = start
            self.remaining = count
            self.reverse = reverse
        }

        public mutating func next() -> Element? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            let current = node
            node = reverse ? list.nodes[Int(current)].backward : list.forward(current, 0)
            return list.element(current)
        }

        public var underestimatedCount: Int { remaining }
    }
}

/// A score interval for ZRANGEBYSCORE and friends; bounds may be infinite.
public struct ScoreRange: Sendable {
    public var min: Double
    public var max: Double
    public var minExclusive: Bool
    public var maxExclusive: Bool

    public init(min: Double, max: Double, minExclusive: Bool = false, maxExclusive: Bool = false) {
        self.min = min
        self.max = max
        self.minExclusive = minExclusive
        self.maxExclusive = maxExclusive
    }
}

/// One end of a ZRANGEBYLEX interval: `-`, `+`, `[member` or `(member`.
public enum LexBound: Sendable {
    case minusInfinity
    case plusInfinity
    case inclusive(ByteBuffer)
    case exclusive(ByteBuffer)

    /// Whether `member` is at or above this bound used as a minimum.
    @inlinable
    public func admitsAsMin(_ member: ByteBuffer) -> Bool {
        switch self {
        case .minusInfinity: return true
        case .plusInfinity: return false
        case .inclusive(let b): return SortedSet.compare(member, b) >= 0
        case .exclusive(let b): return SortedSet.compare(member, b) > 0
        }
    }

    /// Whether `member` is at or below this bound used as a maximum.
    @inlinable
    public func admitsAsMax(_ member: ByteBuffer) -> Bool {
        switch self {
        case .minusInfinity: return false
        case .plusInfinity: return true
        case .inclusive(let b): return SortedSet.compare(member, b) <= 0
        case .exclusive(let b): return SortedSet.compare(member, b) < 0
        }
    }
}

public struct LexRange: Sendable {
    public var min: LexBound
    public var max: LexBound

    public init(min: LexBound, max: LexBound) {
        self.min = min
        self.max = max
    }
}

// MARK: - storage

extension SortedSet {
    /// The one heap object behind a `SortedSet`. Mutated only through a uniquely referenced
    /// `SortedSet` (see `makeUnique`), which is what makes the unchecked `Sendable` sound.
    fileprivate final class Storage: @unchecked Sendable {
        var list: SkipList
        var scores: [ByteBuffer: Double]

        /// Shared by every empty set; never mutated because this reference keeps it non-unique.
        static let empty = Storage(list: SkipList(), scores: [:])

        private init(list: SkipList, scores: [ByteBuffer: Double]) {
            self.list = list
            self.scores = scores
            self.list.seed(Storage.seed(for: self))
        }

        /// A copy that shares nothing mutable with `other`: the arrays inside are themselves
        /// copy-on-write, so the bytes are duplicated lazily by whichever side writes first.
        convenience init(copying other: Storage) {
            self.init(list: other.list, scores: other.scores)
        }

        convenience init(scores: [ByteBuffer: Double]) {
            let sorted = scores.map { (member: $0.key, score: $0.value) }.sorted {
                SkipList.orders($0.score, $0.member, before: $1.score, $1.member)
            }
            self.init(list: SkipList(), scores: scores)
            list.build(sorted: sorted)
        }

        /// Skip-list heights are random so that no insertion order can make searches linear. The
        /// seed mixes this object's address into `Hasher`, which is seeded randomly per process.
        private static func seed(for object: Storage) -> UInt64 {
            var hasher = Hasher()
            hasher.combine(ObjectIdentifier(object))
            return UInt64(bitPattern: Int64(hasher.finalize()))
        }

        func removeRanks(_ ranks: Range<Int>) {
            list.removeRanks(ranks) { scores.removeValue(forKey: $0) }
            shrinkIfSparse()
        }

        /// After most elements are gone, rebuilds both structures at their current size: neither
        /// Swift's dictionaries nor the node arrays give memory back on removal. The 1/4 threshold
        /// makes the rebuild cost amortized O(1) per removal.
        func shrinkIfSparse() {
            guard list.nodes.count > 256, list.count * 4 < list.nodes.count else { return }
            var fresh = SkipList()
            fresh.seed(Storage.seed(for: self))
            fresh.build(sorted: Elements(list: list, start: list.forward(0, 0), count: list.count, reverse: false))
            list = fresh
            var compact = [ByteBuffer: Double](minimumCapacity: scores.count)
            for (member, score) in scores { compact[member] = score }
            scores = compact
        }
    }
}

// MARK: - skip list

/// Redis's `zskiplist` (t_zset.c) with nodes and links in arrays instead of separate allocations.
/// A node of height h owns h consecutive entries of `links`, one per level, and is named by the
/// index of the first: `links[x + i]` is node x's link on level i, and `nodes[x]` its element
/// (the other h-1 entries of `nodes` are unused, which keeps the two arrays parallel). Index 0
/// is the header, of maximum height and without element. A link's span is the number of level-0
/// steps it covers, so summing spans along a search path gives a rank. Freed runs are recycled
/// through one free list per height.
///
/// Each link also carries the score of the node it points to, so a search step reads only the
/// links (one cache miss per step on a large set, as Redis, whose nodes hold score and links
/// together) and looks at `nodes` only to break a score tie.
///
/// Spans and indices are 32-bit: a set is limited to 2^31 elements.
fileprivate struct SkipList: Sendable {
    struct Node {
        var member: ByteBuffer
        var score: Double
        /// Previous node in order; 0 (the header) for the first node.
        var backward: Int32
        var height: UInt8

        static let unused = Node(member: ByteBuffer(), score: 0, backward: 0, height: 0)
    }

    struct Link {
        /// Next node on this level; 0 at the end.
        var forward: Int32
        var span: Int32
        /// Score of `forward` (meaningless at the end).
        var score: Double
    }

    static let maxHeight = 32

    private(set) var nodes: [Node]
    private(set) var links: [Link]
    /// Levels in use (Redis's `zsl->level`).
    private var levels = 1
    private(set) var count = 0
    /// Last node; 0 when empty.
    private(set) var tail: Int32 = 0
    /// Head of the free link runs of each height (index height-1), chained through `forward`;
    /// empty until the first node is freed.
    private var freeLinks: [Int32] = []
    private var rng: UInt64 = 1

    /// The node and link arrays' memory (`SortedSet.structureFootprint`).
    var footprint: Int {
        Footprint.array(capacity: nodes.capacity, stride: MemoryLayout<Node>.stride)
            + Footprint.array(capacity: links.capacity, stride: MemoryLayout<Link>.stride)
            + Footprint.array(capacity: freeLinks.capacity, stride: 4)
    }

    init() {
        nodes = Array(repeating: .unused, count: Self.maxHeight)
        nodes[0].height = UInt8(Self.maxHeight)
        links = Array(repeating: Link(forward: 0, span: 0, score: 0), count: Self.maxHeight)
    }

    /// Fills an empty list from elements already in ascending order, appending each at the tail.
    mutating func build<S: Sequence>(sorted elements: S) where S.Element == SortedSet.Element {
        precondition(count == 0, "build needs an empty list")
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxHeight) { last in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.maxHeight) { lastRank in
                last.initialize(repeating: 0)
                lastRank.initialize(repeating: 0)
                for (member, score) in elements {
                    let height = randomHeight()
                    levels = Swift.max(levels, height)
                    let x = allocate(member, score, height)
                    count += 1
                    for i in 0..<height {
                        links[link(last[i], i)] = Link(forward: x, span: Int32(count - lastRank[i]), score: score)
                        last[i] = x
                        lastRank[i] = count
                    }
                    nodes[Int(x)].backward = tail
                    tail = x
                }
                // Links that end the list span the rest of it, as zslInsert keeps them.
                for i in 0..<levels {
                    links[link(last[i], i)] = Link(forward: 0, span: Int32(count - lastRank[i]), score: 0)
                }
            }
        }
    }

    mutating func seed(_ value: UInt64) {
        rng = value == 0 ? 0x9E37_79B9_7F4A_7C15 : value
    }

    // MARK: navigation

    @inline(__always)
    func link(_ node: Int32, _ level: Int) -> Int { Int(node) + level }

    @inline(__always)
    func forward(_ node: Int32, _ level: Int) -> Int32 { links[link(node, level)].forward }

    @inline(__always)
    func element(_ node: Int32) -> SortedSet.Element {
        let n = nodes[Int(node)]
        return (n.member, n.score)
    }

    /// Whether (score a, member a) sorts before (score b, member b).
    @inline(__always)
    static func orders(_ a: Double, _ am: ByteBuffer, before b: Double, _ bm: ByteBuffer) -> Bool {
        a < b || (a == b && SortedSet.compare(am, bm) < 0)
    }

    /// Whether the node `l` points to sorts before (score, member); reads the node only on a tie.
    @inline(__always)
    func target(of l: Link, isBefore score: Double, _ member: ByteBuffer) -> Bool {
        l.score < score || (l.score == score && SortedSet.compare(nodes[Int(l.forward)].member, member) < 0)
    }

    /// How many elements, from the lowest, satisfy `isLeading` (given the link to each), which
    /// must hold for a prefix of the order and fail after it. O(log n).
    @inline(__always)
    private func countLeading(_ isLeading: (Link) -> Bool) -> Int {
        var x: Int32 = 0
        var rank = 0
        var i = levels - 1
        while i >= 0 {
            while true {
                let l = links[link(x, i)]
                if l.forward == 0 || !isLeading(l) { break }
                rank += Int(l.span)
                x = l.forward
            }
            i -= 1
        }
        return rank
    }

    /// Number of elements before (score, member): the rank of a present member.
    func count(before score: Double, _ member: ByteBuffer) -> Int {
        countLeading { target(of: $0, isBefore: score, member) }
    }

    /// Number of leading elements whose score satisfies `isLeading`.
    func countLeading(scores isLeading: (Double) -> Bool) -> Int {
        countLeading { isLeading($0.score) }
    }

    /// Number of leading elements whose member satisfies `isLeading`.
    func countLeading(members isLeading: (ByteBuffer) -> Bool) -> Int {
        countLeading { isLeading(nodes[Int($0.forward)].member) }
    }

    /// The node at 0-based `rank` (zslGetElementByRank).
    func node(atRank rank: Int) -> Int32 {
        let target = rank + 1
        var x: Int32 = 0
        var traversed = 0
        var i = levels - 1
        while i >= 0 {
            while true {
                let l = links[link(x, i)]
                if l.forward == 0 || traversed + Int(l.span) > target { break }
                traversed += Int(l.span)
                x = l.forward
            }
            if traversed == target { return x }
            i -= 1
        }
        preconditionFailure("rank \(rank) not in skip list of \(count)")
    }

    /// Fills `update[i]` with the last node before (score, member) on each level in use.
    private func path(to score: Double, _ member: ByteBuffer, into update: UnsafeMutableBufferPointer<Int32>) {
        var x: Int32 = 0
        var i = levels - 1
        while i >= 0 {
            while true {
                let l = links[link(x, i)]
                if l.forward == 0 || !target(of: l, isBefore: score, member) { break }
                x = l.forward
            }
            update[i] = x
            i -= 1
        }
    }

    // MARK: mutation

    /// Adds an element that is not in the list (zslInsert).
    mutating func insert(_ member: ByteBuffer, _ score: Double) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxHeight) { update in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.maxHeight) { rank in
                var x: Int32 = 0
                var i = levels - 1
                while i >= 0 {
                    rank[i] = i == levels - 1 ? 0 : rank[i + 1]
                    while true {
                        let l = links[link(x, i)]
                        if l.forward == 0 || !target(of: l, isBefore: score, member) { break }
                        rank[i] += Int(l.span)
                        x = l.forward
                    }
                    update[i] = x
                    i -= 1
                }
                let height = randomHeight()
                if height > levels {
                    for level in levels..<height {
                        rank[level] = 0
                        update[level] = 0
                        links[level].span = Int32(count)   // the header's links are 0..<maxHeight
                    }
                    levels = height
                }
                let new = allocate(member, score, height)
                let newBase = Int(new)
                for level in 0..<height {
                    let u = link(update[level], level)
                    let skipped = Int32(rank[0] - rank[level])
                    let old = links[u]
                    links[newBase + level] = Link(forward: old.forward, span: old.span - skipped, score: old.score)
                    links[u] = Link(forward: new, span: skipped + 1, score: score)
                }
                for level in height..<levels {
                    links[link(update[level], level)].span += 1
                }
                nodes[Int(new)].backward = update[0]
                let next = links[newBase].forward
                if next != 0 { nodes[Int(next)].backward = new } else { tail = new }
                count += 1
            }
        }
    }

    /// Removes the element (score, member), which must be present (zslDelete).
    mutating func remove(_ member: ByteBuffer, _ score: Double) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxHeight) { update in
            path(to: score, member, into: update)
            let x = forward(update[0], 0)
            precondition(x != 0 && nodes[Int(x)].score == score, "skip list out of sync with its scores")
            unlink(x, update)
            free(x)
        }
    }

    /// Moves a present member from score `old` to `new` (zslUpdateScore): in place when its
    /// neighbours still bracket it, else unlinked and inserted again.
    mutating func updateScore(_ member: ByteBuffer, from old: Double, to new: Double) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxHeight) { update in
            path(to: old, member, into: update)
            let x = forward(update[0], 0)
            precondition(x != 0 && nodes[Int(x)].score == old, "skip list out of sync with its scores")
            let previous = nodes[Int(x)].backward
            let next = links[link(x, 0)]
            // Members are unique, so "next does not sort before" means "next sorts after".
            if (previous == 0 || Self.orders(nodes[Int(previous)].score, nodes[Int(previous)].member, before: new, member))
                && (next.forward == 0 || !target(of: next, isBefore: new, member)) {
                nodes[Int(x)].score = new
                // The links into x on its levels are exactly those of update[] on those levels.
                for level in 0..<Int(nodes[Int(x)].height) {
                    links[link(update[level], level)].score = new
                }
                return
            }
            let stored = nodes[Int(x)].member
            unlink(x, update)
            free(x)
            insert(stored, new)
        }
    }

    /// Removes the elements at `ranks` (zslDeleteRangeByRank), reporting each member.
    mutating func removeRanks(_ ranks: Range<Int>, _ removed: (ByteBuffer) -> Void) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxHeight) { update in
            var x: Int32 = 0
            var traversed = 0
            var i = levels - 1
            while i >= 0 {
                while true {
                    let l = links[link(x, i)]
                    if l.forward == 0 || traversed + Int(l.span) > ranks.lowerBound { break }
                    traversed += Int(l.span)
                    x = l.forward
                }
                update[i] = x
                i -= 1
            }
            x = forward(x, 0)
            while x != 0 && traversed < ranks.upperBound {
                let next = forward(x, 0)
                unlink(x, update)
                removed(nodes[Int(x)].member)
                free(x)
                traversed += 1
                x = next
            }
        }
    }

    /// zslDeleteNode: detaches `x` given the last node before it on every level.
    private mutating func unlink(_ x: Int32, _ update: UnsafeMutableBufferPointer<Int32>) {
        let base = Int(x)
        for level in 0..<levels {
            let u = link(update[level], level)
            if links[u].forward == x {
                let through = links[base + level]
                links[u] = Link(forward: through.forward, span: links[u].span + through.span - 1, score: through.score)
            } else {
                links[u].span -= 1
            }
        }
        let next = links[base].forward
        if next != 0 { nodes[Int(next)].backward = nodes[Int(x)].backward } else { tail = nodes[Int(x)].backward }
        while levels > 1 && links[levels - 1].forward == 0 { levels -= 1 }
        count -= 1
    }

    private mutating func allocate(_ member: ByteBuffer, _ score: Double, _ height: Int) -> Int32 {
        let node = Node(member: member, score: score, backward: 0, height: UInt8(height))
        if !freeLinks.isEmpty && freeLinks[height - 1] != 0 {
            let x = freeLinks[height - 1]
            freeLinks[height - 1] = links[Int(x)].forward
            nodes[Int(x)] = node
            return x
        }
        let x = links.count
        precondition(x + height <= Int(Int32.max), "sorted set too large")
        links.append(contentsOf: repeatElement(Link(forward: 0, span: 0, score: 0), count: height))
        nodes.append(node)
        if height > 1 { nodes.append(contentsOf: repeatElement(.unused, count: height - 1)) }
        return Int32(x)
    }

    private mutating func free(_ x: Int32) {
        let height = Int(nodes[Int(x)].height)
        nodes[Int(x)].member = ByteBuffer()   // release the bytes now, not when the run is reused
        if freeLinks.isEmpty { freeLinks = Array(repeating: 0, count: Self.maxHeight) }
        links[Int(x)].forward = freeLinks[height - 1]
        freeLinks[height - 1] = x
    }

    /// 1 + one more level with probability 1/4 each (Redis's ZSKIPLIST_P), capped at 32: pairs of
    /// trailing zero bits of a xorshift64* draw.
    private mutating func randomHeight() -> Int {
        rng ^= rng >> 12
        rng ^= rng << 25
        rng ^= rng >> 27
        let draw = rng &* 0x2545_F491_4F6C_DD1D
        return Swift.min(1 + draw.trailingZeroBitCount / 2, Self.maxHeight)
    }
}
