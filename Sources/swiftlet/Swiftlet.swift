import ArgumentParser

/// The host-side tool. Each subcommand lives in its own file as an extension of this type
/// (`ImageCommand.swift`, `ImageBuildCommand.swift`; `swiftlet run` and `swiftlet bench` join
/// them the same way).
@main
struct Swiftlet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Build and run the Swiftlet appliance: a VM whose only process is swiftlet-server.",
        subcommands: [Image.self, Run.self, Bench.self]
    )
}
