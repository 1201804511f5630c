/// A writer for the "newc" cpio format (SVR4 without checksums, magic `070701`), the only format
/// the Linux kernel unpacks into its initial root filesystem.
///
/// Layout of each entry: a 110-byte ASCII header (the magic and 13 eight-digit hex fields), the
/// path with its NUL, zero padding to a multiple of 4, the file data, zero padding to a multiple
/// of 4. The archive ends with an entry named `TRAILER!!!` and is padded to 512-byte blocks as
/// cpio(1) does.
///
/// Output is a pure function of the entries in the order given: modification times, owners and
/// inode numbers are fixed by the writer, never read from the host, so the same entries always
/// give the same bytes (reproducible images).
public struct CpioArchive: Sendable {
    public enum Kind: Sendable, Equatable {
        case directory
        case file([UInt8])
        /// A character device node; the image needs /dev/console before devtmpfs is mounted.
        case characterDevice(major: UInt32, minor: UInt32)
    }

    public struct Entry: Sendable, Equatable {
        /// Path inside the archive, relative (no leading `/`), as the kernel expects.
        public var path: String
        public var kind: Kind
        /// Permission bits (the file type bits come from `kind`).
        public var permissions: UInt32

        public init(path: String, kind: Kind, permissions: UInt32) {
            self.path = path
            self.kind = kind
            self.permissions = permissions
        }
    }

    public static let magic = "070701"
    public static let trailerName = "TRAILER!!!"
    public static let headerSize = 110
    public static let blockSize = 512

    public private(set) var entries: [Entry] = []

    public init() {}

    public mutating func append(_ entry: Entry) {
        entries.append(entry)
    }

    public mutating func directory(_ path: String, permissions: UInt32 = 0o755) {
        append(Entry(path: path, kind: .directory, permissions: permissions))
    }

    public mutating func file(_ path: String, contents: [UInt8], permissions: UInt32 = 0o644) {
        append(Entry(path: path, kind: .file(contents), permissions: permissions))
    }

    public mutating func characterDevice(_ path: String, major: UInt32, minor: UInt32, permissions: UInt32 = 0o600) {
        append(Entry(path: path, kind: .characterDevice(major: major, minor: minor), permissions: permissions))
    }

    /// The archive's bytes.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { total, e in
            if case .file(let data) = e.kind { return total + data.count + 256 }
            return total + 256
        })
        // Inode numbers count from 1 in archive order: unique (so the kernel never mistakes two
        // entries for hard links of each other) and independent of the host's filesystem.
        for (index, entry) in entries.enumerated() {
            Self.write(entry, inode: UInt32(index + 1), to: &out)
        }
        Self.write(Entry(path: Self.trailerName, kind: .file([]), permissions: 0), inode: 0, nlink: 1, to: &out)
        Self.pad(&out, to: Self.blockSize)
        return out
    }

    private static func write(_ entry: Entry, inode: UInt32, nlink: UInt32? = nil, to out: inout [UInt8]) {
        let typeBits: UInt32
        var data: [UInt8] = []
        var rdev: (UInt32, UInt32) = (0, 0)
        switch entry.kind {
        case .directory: typeBits = 0o040000
        case .file(let bytes): typeBits = 0o100000; data = bytes
        case .characterDevice(let major, let minor): typeBits = 0o020000; rdev = (major, minor)
        }
        let isDirectory = entry.kind == .directory
        let name = Array(entry.path.utf8) + [0]
        let fields: [UInt32] = [
            inode,
            typeBits | (entry.permissions & 0o7777),
            0, 0,                                // uid, gid: root
            nlink ?? (isDirectory ? 2 : 1),
            0,                                   // mtime: the epoch, for reproducibility
            UInt32(data.count),
            0, 0,                                // device of the archived file
            rdev.0, rdev.1,                      // device a device node stands for
            UInt32(name.count),
            0,                                   // checksum: unused in newc
        ]
        out.append(contentsOf: Array(magic.utf8))
        for field in fields { appendHex(field, to: &out) }
        out.append(contentsOf: name)
        pad(&out, to: 4)
        out.append(contentsOf: data)
        pad(&out, to: 4)
    }

    private static func appendHex(_ value: UInt32, to out: inout [UInt8]) {
        let digits = Array("0123456789ABCDEF".utf8)
        for shift in stride(from: 28, through: 0, by: -4) {
            out.append(digits[Int((value >> UInt32(shift)) & 0xF)])
        }
    }

    private static func pad(_ out: inout [UInt8], to alignment: Int) {
        let rest = out.count % alignment
        if rest != 0 { out.append(contentsOf: repeatElement(0, count: alignment - rest)) }
    }
}
