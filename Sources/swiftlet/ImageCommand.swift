import ArgumentParser

extension Swiftlet {
    /// `swiftlet image ...`: everything about appliance images.
    struct Image: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build bootable appliance images.",
            subcommands: [Build.self]
        )
    }
}
