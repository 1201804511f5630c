import Commands
import RESP

/// The one `PropagationSink` the command path sees: it hands every change to the append-only
/// file and to the replication stream, whichever are on. Both fields change only with every
/// shard lock held and are read under at least one (the sink's own rule, Propagation.swift),
/// so they need no lock of their own.
final class PropagationTargets: PropagationSink, @unchecked Sendable {
    private let runtime: ServerRuntime
    var appendOnly: AppendOnlyFile?
    var replication: Replication?

    init(runtime: ServerRuntime) {
        self.runtime = runtime
    }

    /// Attaches this sink while either target listens (caller holds every shard lock, or the
    /// server does not serve yet).
    func refresh() {
        runtime.setPropagationSink(appendOnly == nil && replication == nil ? nil : self)
    }

    func propagate(_ commands: [PropagatedCommand]) -> UInt64 {
        _ = replication?.propagate(commands)
        return appendOnly?.propagate(commands) ?? 0
    }

    func propagate(db: Int, arguments: Arguments) -> UInt64 {
        _ = replication?.propagate(db: db, arguments: arguments)
        return appendOnly?.propagate(db: db, arguments: arguments) ?? 0
    }
}
