import NIOCore
import Basics
import XCTest
@testable import Keyspace

final class SortedSetTests: XCTestCase {
    private func b(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
    private func b(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    private func members(_ z: SortedSet) -> [String] { z.map { $0.member.string } }
    private func members(_ e: SortedSet.Elements) -> [String] { e.map { $0.member.string } }

    func testOrderIsScoreThenUnsignedBytesWithPrefixFirst() {
        var z = SortedSet()
        z.insert(b([0xFF]), score: 1)
        z.insert(b([0x01]), score: 1)
        z.insert(b("ab"), score: 1)
        z.insert(b("a"), score: 1)
        z.insert(b(""), score: 1)
        z.insert(b("zz"), score: 0.5)
        z.insert(b("neg"), score: -.infinity)
        z.insert(b("pos"), score: .infinity)
        XCTAssertEqual(z.map { Array($0.member.readableBytesView) },
                       [Array("neg".utf8), Array("zz".utf8), [], [0x01], Array("a".utf8), Array("ab".utf8), [0xFF], Array("pos".utf8)])
        XCTAssertLessThan(SortedSet.compare(b("a"), b("ab")), 0)
        XCTAssertGreaterThan(SortedSet.compare(b([0x80]), b([0x7F, 0xFF])), 0)
        XCTAssertEqual(SortedSet.compare(b("same"), b("same")), 0)
    }

    func testInsertUpdateRemoveAndScores() {
        var z = SortedSet()
        XCTAssertTrue(z.isEmpty)
        XCTAssertNil(z.insert(b("a"), score: 1))
        XCTAssertNil(z.insert(b("b"), score: 2))
        XCTAssertEqual(z.insert(b("a"), score: 3), 1)
        XCTAssertEqual(z.insert(b("a"), score: 3), 3)
        XCTAssertEqual(members(z), ["b", "a"])
        XCTAssertEqual(z.score(of: b("a")), 3)
        XCTAssertNil(z.score(of: b("c")))
        XCTAssertEqual(z.count, 2)
        XCTAssertEqual(z.remove(b("b")), 2)
        XCTAssertNil(z.remove(b("b")))
        XCTAssertEqual(members(z), ["a"])
        XCTAssertEqual(z.remove(b("a")), 3)
        XCTAssertTrue(z.isEmpty)
        XCTAssertEqual(Array(z).count, 0)
    }

    func testNegativeZeroIsStoredAsZero() {
        var z = SortedSet()
        z.insert(b("m"), score: -0.0)
        XCTAssertEqual(z.score(of: b("m"))?.sign, .plus)
        XCTAssertEqual(z.element(atRank: 0).score.sign, .plus)
    }

    func testRanksAndElementAtRank() {
        var z = SortedSet()
        for (i, name) in ["a", "b", "c", "d", "e"].enumerated() { z.insert(b(name), score: Double(i * 10)) }
        XCTAssertEqual(z.rank(of: b("a")), 0)
        XCTAssertEqual(z.rank(of: b("d")), 3)
        XCTAssertEqual(z.rank(of: b("d"), reverse: true), 1)
        XCTAssertNil(z.rank(of: b("x")))
        XCTAssertEqual(z.element(atRank: 2).member, b("c"))
        XCTAssertEqual(z.element(atRank: 4).score, 40)
        XCTAssertEqual(members(z.elements(inRanks: 1..<4)), ["b", "c", "d"])
        XCTAssertEqual(members(z.elements(inRanks: 1..<4, reverse: true)), ["d", "c", "b"])
        XCTAssertEqual(members(z.elements(inRanks: 2..<2)), [])
    }

    func testScoreRanges() {
        var z = SortedSet()
        for (i, name) in ["a", "b", "c", "d"].enumerated() { z.insert(b(name), score: Double(i)) }
        z.insert(b("inf"), score: .infinity)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: 1, max: 2)), 1..<3)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: 1, max: 2, minExclusive: true)), 2..<3)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: 1, max: 2, maxExclusive: true)), 1..<2)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: 1, max: 1, minExclusive: true, maxExclusive: true)).count, 0)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: 3, max: 1)).count, 0)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: -.infinity, max: .infinity)), 0..<5)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: -.infinity, max: .infinity, maxExclusive: true)), 0..<4)
        XCTAssertEqual(z.ranks(in: ScoreRange(min: 10, max: 20)).count, 0)
    }

    func testLexRanges() {
        var z = SortedSet()
        for name in ["a", "b", "c", "d", "e"] { z.insert(b(name), score: 0) }
        func lex(_ min: LexBound, _ max: LexBound) -> [String] {
            members(z.elements(inRanks: z.ranks(in: LexRange(min: min, max: max))))
        }
        XCTAssertEqual(lex(.minusInfinity, .plusInfinity), ["a", "b", "c", "d", "e"])
        XCTAssertEqual(lex(.inclusive(b("b")), .exclusive(b("d"))), ["b", "c"])
        XCTAssertEqual(lex(.exclusive(b("b")), .inclusive(b("d"))), ["c", "d"])
        XCTAssertEqual(lex(.inclusive(b("")), .inclusive(b("bb"))), ["a", "b"])
        XCTAssertEqual(lex(.plusInfinity, .minusInfinity), [])
        XCTAssertEqual(lex(.exclusive(b("c")), .exclusive(b("c"))), [])
        XCTAssertEqual(lex(.inclusive(b("c")), .inclusive(b("c"))), ["c"])
        XCTAssertEqual(lex(.inclusive(b("d")), .inclusive(b("b"))), [])
    }

    /// Score updates that keep a member between its neighbours happen in place; searches must
    /// see the new score on every level.
    func testInPlaceScoreUpdatesAreSeenBySearches() {
        var z = SortedSet()
        for i in 0..<1000 { z.insert(b("m\(i)"), score: Double(i * 10)) }
        for i in 0..<1000 { XCTAssertEqual(z.insert(b("m\(i)"), score: Double(i * 10 + 5)), Double(i * 10)) }
        for i in 0..<1000 {
            let ranks = z.ranks(in: ScoreRange(min: Double(i * 10 + 1), max: Double(i * 10 + 6)))
            XCTAssertEqual(ranks, i..<i + 1)
            XCTAssertEqual(z.rank(of: b("m\(i)")), i)
            XCTAssertEqual(z.ranks(in: ScoreRange(min: Double(i * 10), max: Double(i * 10 + 5), maxExclusive: true)).count, 0)
        }
    }

    func testRemoveRanksAndPops() {
        var z = SortedSet()
        for i in 0..<10 { z.insert(b("m\(i)"), score: Double(i)) }
        XCTAssertEqual(z.removeRanks(2..<5), 3)
        XCTAssertEqual(members(z), ["m0", "m1", "m5", "m6", "m7", "m8", "m9"])
        XCTAssertNil(z.score(of: b("m3")))
        XCTAssertEqual(z.removeRanks(5..<100), 2)
        XCTAssertEqual(z.popFirst()?.member, b("m0"))
        XCTAssertEqual(z.popLast()?.member, b("m7"))
        XCTAssertEqual(members(z), ["m1", "m5", "m6"])
        XCTAssertEqual(z.rank(of: b("m6")), 2)
        XCTAssertEqual(z.removeRanks(0..<3), 3)
        XCTAssertNil(z.popFirst())
        XCTAssertNil(z.popLast())
    }

    func testBulkInitMatchesInserts() {
        var scores: [ByteBuffer: Double] = [:]
        var z = SortedSet()
        for i in 0..<500 {
            let member = b("member-\(i * 7919 % 500)")
            let score = Double(i % 13) - 6
            scores[member] = score
            z.insert(member, score: score)
        }
        scores[b("zero")] = -0.0
        z.insert(b("zero"), score: 0)
        let bulk = SortedSet(scores)
        XCTAssertEqual(bulk.count, z.count)
        XCTAssertTrue(zip(bulk, z).allSatisfy { $0.member == $1.member && $0.score == $1.score })
        XCTAssertEqual(bulk.rank(of: b("member-17")), z.rank(of: b("member-17")))
        XCTAssertEqual(bulk.score(of: b("zero"))?.sign, .plus)
        var grown = bulk
        grown.insert(b("new"), score: 0.5)
        XCTAssertEqual(grown.rank(of: b("new")), z.ranks(in: ScoreRange(min: -.infinity, max: 0)).upperBound)
    }

    /// A copy is a snapshot: writes to either side never show in the other.
    func testCopyOnWriteIndependence() {
        var original = SortedSet()
        for i in 0..<100 { original.insert(b("m\(i)"), score: Double(i)) }
        let before = members(original)

        var copy = original
        copy.insert(b("m5"), score: 1000)
        copy.insert(b("new"), score: -1)
        copy.remove(b("m10"))
        copy.removeRanks(20..<30)
        _ = copy.popFirst()
        _ = copy.popLast()
        XCTAssertEqual(members(original), before)
        XCTAssertEqual(original.score(of: b("m5")), 5)
        XCTAssertNil(original.score(of: b("new")))
        XCTAssertEqual(original.rank(of: b("m99")), 99)

        let snapshot = copy
        let snapshotMembers = members(snapshot)
        original.insert(b("m0"), score: 50.5)
        original.remove(b("m1"))
        copy.removeRanks(0..<copy.count)
        XCTAssertEqual(members(snapshot), snapshotMembers)
        XCTAssertTrue(copy.isEmpty)
        XCTAssertEqual(original.count, 99)
        XCTAssertEqual(original.rank(of: b("m0")), 49)

        // A no-op removal on a shared copy must not disturb the other either.
        var third = snapshot
        XCTAssertNil(third.remove(b("absent")))
        XCTAssertEqual(third.count, snapshot.count)

        // Iterators keep the state they started from.
        var growing = SortedSet()
        growing.insert(b("x"), score: 1)
        let iterator = growing.makeIterator()
        growing.insert(b("y"), score: 2)
        XCTAssertEqual(Array(IteratorSequence(iterator)).map { $0.member.string }, ["x"])
    }

    func testShrinksAfterMassRemovalAndStaysConsistent() {
        var z = SortedSet()
        for i in 0..<3000 { z.insert(b("k\(i)"), score: Double(i % 100)) }
        for i in 0..<3000 where i % 50 != 0 { XCTAssertNotNil(z.remove(b("k\(i)"))) }
        XCTAssertEqual(z.count, 60)
        var naive = (0..<3000).filter { $0 % 50 == 0 }.map { (member: "k\($0)", score: Double($0 % 100)) }
        naive.sort { $0.score < $1.score || ($0.score == $1.score && Array($0.member.utf8).lexicographicallyPrecedes(Array($1.member.utf8))) }
        XCTAssertEqual(members(z), naive.map(\.member))
        for (rank, element) in naive.enumerated() { XCTAssertEqual(z.rank(of: b(element.member)), rank) }
        z.insert(b("after"), score: 25)
        XCTAssertEqual(z.rank(of: b("after")), naive.filter { $0.score <= 25 }.count)
    }

    /// Random operations checked step by step against a sorted array, with snapshots taken
    /// along the way that must never change.
    func testRandomizedAgainstSortedArray() {
        var rng = SplitMix64(seed: 0x5EED)
        typealias Naive = [(member: [UInt8], score: Double)]
        func less(_ a: (member: [UInt8], score: Double), _ b: (member: [UInt8], score: Double)) -> Bool {
            a.score < b.score || (a.score == b.score && a.member.lexicographicallyPrecedes(b.member))
        }
        let pool: [[UInt8]] = (0..<300).map { i in
            let length = Int(rng.next() % 4)
            return (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next() % 3 == 0 ? 0xF0 + rng.next() % 16 : 0x61 + rng.next() % 4) } + [UInt8(i % 256), UInt8(i / 256)]
        }
        let scoreChoices: [Double] = [-.infinity, -2, -0.5, 0, 0, 1, 1, 1, 3.25, 7, .infinity]

        var z = SortedSet()
        var naive: Naive = []
        var snapshots: [(SortedSet, Naive)] = []

        func check(_ z: SortedSet, _ naive: Naive, full: Bool) {
            XCTAssertEqual(z.count, naive.count)
            if full {
                XCTAssertTrue(z.elementsEqual(naive) { $0.member.readableBytesView.elementsEqual($1.member) && $0.score == $1.score })
                let backward = z.elements(inRanks: 0..<z.count, reverse: true).map { Array($0.member.readableBytesView) }
                XCTAssertEqual(backward, naive.reversed().map(\.member))
            }
            guard !naive.isEmpty else { return }
            for _ in 0..<5 {
                let r = Int(rng.next() % UInt64(naive.count))
                let e = z.element(atRank: r)
                XCTAssertEqual(Array(e.member.readableBytesView), naive[r].member)
                XCTAssertEqual(z.rank(of: ByteBuffer(bytes: naive[r].member)), r)
                XCTAssertEqual(z.rank(of: ByteBuffer(bytes: naive[r].member), reverse: true), naive.count - 1 - r)
                XCTAssertEqual(z.score(of: ByteBuffer(bytes: naive[r].member)), naive[r].score)
            }
            let lo = scoreChoices[Int(rng.next() % UInt64(scoreChoices.count))]
            let hi = scoreChoices[Int(rng.next() % UInt64(scoreChoices.count))]
            let range = ScoreRange(min: lo, max: hi, minExclusive: rng.next() % 2 == 0, maxExclusive: rng.next() % 2 == 0)
            let expected = naive.filter {
                (range.minExclusive ? $0.score > lo : $0.score >= lo) && (range.maxExclusive ? $0.score < hi : $0.score <= hi)
            }
            let ranks = z.ranks(in: range)
            XCTAssertEqual(z.elements(inRanks: ranks).map { Array($0.member.readableBytesView) }, expected.map(\.member))
        }

        for step in 0..<4000 {
            let op = rng.next() % 100
            let member = pool[Int(rng.next() % UInt64(pool.count))]
            switch op {
            case 0..<55:
                let score = scoreChoices[Int(rng.next() % UInt64(scoreChoices.count))]
                let old = z.insert(ByteBuffer(bytes: member), score: score)
                let index = naive.firstIndex { $0.member == member }
                XCTAssertEqual(old, index.map { naive[$0].score })
                if let index { naive.remove(at: index) }
                let at = naive.firstIndex { less((member, score), $0) } ?? naive.count
                naive.insert((member, score), at: at)
            case 55..<85:
                let old = z.remove(ByteBuffer(bytes: member))
                let index = naive.firstIndex { $0.member == member }
                XCTAssertEqual(old, index.map { naive[$0].score })
                if let index { naive.remove(at: index) }
            case 85..<90:
                guard !naive.isEmpty else { break }
                let start = Int(rng.next() % UInt64(naive.count))
                let end = min(naive.count, start + Int(rng.next() % 6))
                XCTAssertEqual(z.removeRanks(start..<end), end - start)
                naive.removeSubrange(start..<end)
            case 90..<94:
                let popped = z.popFirst()
                XCTAssertEqual(popped.map { Array($0.member.readableBytesView) }, naive.first?.member)
                if !naive.isEmpty { naive.removeFirst() }
            case 94..<98:
                let popped = z.popLast()
                XCTAssertEqual(popped.map { Array($0.member.readableBytesView) }, naive.last?.member)
                if !naive.isEmpty { naive.removeLast() }
            default:
                snapshots.append((z, naive))
            }
            check(z, naive, full: step % 50 == 0)
        }
        for (snapshot, expected) in snapshots { check(snapshot, expected, full: true) }
    }

    /// Lexicographic ranges against a filter, on sets whose scores are all equal.
    func testRandomizedLexRanges() {
        var rng = SplitMix64(seed: 42)
        var z = SortedSet()
        var names: Set<[UInt8]> = []
        for _ in 0..<400 {
            let name = (0..<Int(1 + rng.next() % 3)).map { _ in UInt8(0x61 + rng.next() % 5) }
            names.insert(name)
            z.insert(ByteBuffer(bytes: name), score: 2)
        }
        let sorted = names.sorted { $0.lexicographicallyPrecedes($1) }
        func bound(_ isMin: Bool) -> LexBound {
            switch rng.next() % 6 {
            case 0: return isMin ? .minusInfinity : .plusInfinity
            case 1: return isMin ? .plusInfinity : .minusInfinity
            case 2, 3: return .inclusive(ByteBuffer(bytes: (0..<Int(rng.next() % 3)).map { _ in UInt8(0x61 + rng.next() % 5) }))
            default: return .exclusive(ByteBuffer(bytes: (0..<Int(rng.next() % 3)).map { _ in UInt8(0x61 + rng.next() % 5) }))
            }
        }
        for _ in 0..<500 {
            let range = LexRange(min: bound(true), max: bound(false))
            let expected = sorted.filter { range.min.admitsAsMin(ByteBuffer(bytes: $0)) && range.max.admitsAsMax(ByteBuffer(bytes: $0)) }
            let got = z.elements(inRanks: z.ranks(in: range)).map { Array($0.member.readableBytesView) }
            XCTAssertEqual(got, expected)
        }
    }
}
