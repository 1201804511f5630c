import Foundation

/// Makes an image readable by libvirt's QEMU, which runs as its own user (`libvirt-qemu` on
/// Debian), not as the runner.
///
/// libvirt hands that user the kernel, initramfs and data volume files themselves (its DAC
/// driver chowns them for the domain's lifetime and restores them after), but not the
/// directories above them: an image under any directory others may not search (a `mktemp -d`
/// directory, a 0700 home) fails with "could not open kernel file ... Permission denied". So
/// when any ancestor is closed, the runner stages the files in a directory of its own under
/// libvirt's state directory, as hard links (no copy, and the data volume stays the one
/// file the user keeps), falling back to a copy for the read-only kernel and initramfs when the
/// image is on another file system. A data volume cannot be copied (the guest's writes would
/// land in the copy), so then the runner says in one line what to change.
struct LibvirtStaging {
    /// Where staged images go; libvirt's QEMU user must be able to search every directory above.
    static let defaultRoot = URL(fileURLWithPath: "/var/lib/libvirt/swiftlet")
    let root: URL

    /// The staging directory in use (removed by `remove()`), nil when nothing needed staging.
    private(set) var directory: URL?

    init(root: URL = LibvirtStaging.defaultRoot) {
        self.root = root
    }

    /// The first directory above `path` that others may not search (mode without o+x), if any.
    static func closedAncestor(of path: URL) -> (path: String, mode: mode_t)? {
        var directory = path.deletingLastPathComponent().standardizedFileURL
        while true {
            var info = stat()
            if stat(directory.path, &info) == 0, info.st_mode & S_IXOTH == 0 {
                return (directory.path, info.st_mode & 0o7777)
            }
            if directory.path == "/" { return nil }
            directory = directory.deletingLastPathComponent()
        }
    }

    /// Points `spec` at staged links when its files sit below a closed directory; `name` names
    /// the staging directory (the domain's name, which holds the runner's pid).
    mutating func stage(_ spec: inout VMSpec, name: String, log: (String) -> Void) throws {
        var files = [try spec.kernelPath()]
        if let initramfs = spec.initramfsPath { files.append(initramfs) }
        if let data = spec.dataVolume { files.append(data) }
        guard let closed = files.lazy.compactMap({ Self.closedAncestor(of: $0) }).first else { return }
        let fm = FileManager.default
        removeStale()
        let directory = root.appendingPathComponent(name)
        try? fm.removeItem(at: directory)
        do {
            try fm.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            try fm.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        } catch {
            throw RunnerError("libvirt's QEMU user cannot search \(closed.path) (mode \(String(closed.mode, radix: 8))), and the image cannot be staged in \(root.path): \(error.localizedDescription); run chmod o+x \(closed.path), or move the image")
        }
        self.directory = directory
        func link(_ file: URL, copyAllowed: Bool) throws -> URL {
            let staged = directory.appendingPathComponent(file.lastPathComponent)
            if Foundation.link(file.path, staged.path) == 0 { return staged }
            let reason = String(cString: strerror(errno))
            guard copyAllowed else {
                throw RunnerError("libvirt's QEMU user cannot search \(closed.path) (mode \(String(closed.mode, radix: 8))), and the data volume \(file.path) cannot be linked into \(directory.path) (\(reason)): run chmod o+x \(closed.path), or move the image to a directory others may search")
            }
            try fm.copyItem(at: file, to: staged)
            return staged
        }
        let kernel = try link(try spec.kernelPath(), copyAllowed: true)
        if let initramfs = spec.initramfsPath { _ = try link(initramfs, copyAllowed: true) }
        if let data = spec.dataVolume { spec.dataVolume = try link(data, copyAllowed: false) }
        spec.imageDirectory = kernel.deletingLastPathComponent()
        log("staged the image in \(directory.path): libvirt's QEMU user cannot search \(closed.path) (mode \(String(closed.mode, radix: 8)))")
    }

    func remove() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Staging directories of runners that are gone (killed before they could clean up).
    func removeStale() {
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] {
            // swiftlet-<pid>-<port>
            let parts = entry.split(separator: "-")
            guard parts.count == 3, parts[0] == "swiftlet", let pid = Int32(parts[1]) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? fm.removeItem(at: root.appendingPathComponent(entry)) }
        }
    }
}
