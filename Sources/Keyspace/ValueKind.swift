import DequeModule
import NIOCore

/// How commands name the type they expect: `ctx.read(key, as: .list)`. A zero-size tag; the
/// work is done by the `StoredKind`'s static functions, which the compiler specialises into each
/// command (a struct of closures cost an indirect call and a retain/release per access).
public struct ValueKind<Kind: StoredKind>: Sendable {
    @inlinable public init() {}
}

/// How to get one type's payload in and out of a `Value`.
public protocol StoredKind: Sendable {
    associatedtype Payload: Sendable
    /// A copy of the payload, for reading; nil for another type.
    static func extract(_ value: Value) -> Payload?
    /// Moves the payload out for mutation, leaving `Value.vacated` behind; nil (and the value
    /// untouched) for another type. Moving rather than copying saves an atomic retain and
    /// release per write, and leaves the caller the only reference, so the write is in place.
    static func take(_ value: inout Value) -> Payload?
    static func wrap(_ payload: consuming Payload) -> Value
    /// The empty collection a write to a missing key starts from.
    static func makeEmpty() -> Payload
    static func isEmpty(_ payload: Payload) -> Bool
}

public enum StringKind: StoredKind {
    @inlinable public static func extract(_ value: Value) -> CompactBytes? {
        if case .string(let s) = value { return s } else { return nil }
    }
    @inlinable public static func take(_ value: inout Value) -> CompactBytes? {
        guard case .string = value, case .string(let s) = value.vacate() else { return nil }
        return s
    }
    @inlinable public static func wrap(_ payload: consuming CompactBytes) -> Value { .string(payload) }
    @inlinable public static func makeEmpty() -> CompactBytes { CompactBytes() }
    @inlinable public static func isEmpty(_ payload: CompactBytes) -> Bool { false }
}

public enum ListKind: StoredKind {
    @inlinable public static func extract(_ value: Value) -> Deque<CompactBytes>? {
        if case .list(let l) = value { return l } else { return nil }
    }
    @inlinable public static func take(_ value: inout Value) -> Deque<CompactBytes>? {
        guard case .list = value, case .list(let l) = value.vacate() else { return nil }
        return l
    }
    @inlinable public static func wrap(_ payload: consuming Deque<CompactBytes>) -> Value { .list(payload) }
    @inlinable public static func makeEmpty() -> Deque<CompactBytes> { [] }
    @inlinable public static func isEmpty(_ payload: Deque<CompactBytes>) -> Bool { payload.isEmpty }
}

public enum HashKind: StoredKind {
    @inlinable public static func extract(_ value: Value) -> [ByteBuffer: ByteBuffer]? {
        if case .hash(let h) = value { return h } else { return nil }
    }
    @inlinable public static func take(_ value: inout Value) -> [ByteBuffer: ByteBuffer]? {
        guard case .hash = value, case .hash(let h) = value.vacate() else { return nil }
        return h
    }
    @inlinable public static func wrap(_ payload: consuming [ByteBuffer: ByteBuffer]) -> Value { .hash(payload) }
    @inlinable public static func makeEmpty() -> [ByteBuffer: ByteBuffer] { [:] }
    @inlinable public static func isEmpty(_ payload: [ByteBuffer: ByteBuffer]) -> Bool { payload.isEmpty }
}

public enum SetKind: StoredKind {
    @inlinable public static func extract(_ value: Value) -> Set<ByteBuffer>? {
        if case .set(let s) = value { return s } else { return nil }
    }
    @inlinable public static func take(_ value: inout Value) -> Set<ByteBuffer>? {
        guard case .set = value, case .set(let s) = value.vacate() else { return nil }
        return s
    }
    @inlinable public static func wrap(_ payload: consuming Set<ByteBuffer>) -> Value { .set(payload) }
    @inlinable public static func makeEmpty() -> Set<ByteBuffer> { [] }
    @inlinable public static func isEmpty(_ payload: Set<ByteBuffer>) -> Bool { payload.isEmpty }
}

public enum SortedSetKind: StoredKind {
    @inlinable public static func extract(_ value: Value) -> SortedSet? {
        if case .zset(let z) = value { return z } else { return nil }
    }
    @inlinable public static func take(_ value: inout Value) -> SortedSet? {
        guard case .zset = value, case .zset(let z) = value.vacate() else { return nil }
        return z
    }
    @inlinable public static func wrap(_ payload: consuming SortedSet) -> Value { .zset(payload) }
    @inlinable public static func makeEmpty() -> SortedSet { SortedSet() }
    @inlinable public static func isEmpty(_ payload: SortedSet) -> Bool { payload.count == 0 }
}

extension ValueKind where Kind == StringKind { public static var string: Self { Self() } }
extension ValueKind where Kind == ListKind { public static var list: Self { Self() } }
extension ValueKind where Kind == HashKind { public static var hash: Self { Self() } }
extension ValueKind where Kind == SetKind { public static var set: Self { Self() } }
extension ValueKind where Kind == SortedSetKind { public static var zset: Self { Self() } }
