import CompressNIO
import NIOCore

/// The appliance's initial root filesystem: the server as /init, its configuration, and the
/// mount points and device nodes the boot shim and the kernel need.
public enum Initramfs {
    /// The archive, uncompressed. Entries are listed in a fixed order (parents first), and the
    /// cpio writer fixes owners, times and inode numbers, so equal inputs give equal bytes.
    public static func archive(server: [UInt8], serverConfig: String, dataMount: String?) -> CpioArchive {
        var cpio = CpioArchive()
        // The kernel opens /dev/console for init's stdin/stdout/stderr before init runs, so
        // the node must be in the archive: devtmpfs is only mounted (over /dev) by init itself.
        cpio.directory("dev")
        cpio.characterDevice("dev/console", major: 5, minor: 1, permissions: 0o600)
        cpio.characterDevice("dev/null", major: 1, minor: 3, permissions: 0o666)
        cpio.directory("etc")
        cpio.file("etc/swiftlet.conf", contents: Array(serverConfig.utf8), permissions: 0o644)
        cpio.file("init", contents: server, permissions: 0o755)
        cpio.directory("proc", permissions: 0o555)
        cpio.directory("sys", permissions: 0o555)
        cpio.directory("tmp", permissions: 0o1777)
        if let dataMount {
            cpio.directory(String(dataMount.drop { $0 == "/" }))
        }
        return cpio
    }

    /// gzip (RFC 1952) at the best compression level. zlib writes a header with no file name
    /// and a zero modification time, so the output depends on the input only.
    public static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        let compressed = try buffer.compress(with: .gzip(configuration: .init(compressionLevel: 9)))
        return Array(compressed.readableBytesView)
    }
}
