import Configuration
import Foundation
@testable import ImageBuilder
import XCTest
@testable import Runner

/// A manifest as `swiftlet image build` writes it, for an image in `directory`.
func testManifest(port: Int = 7000, initramfs: Bool = true, data: Bool = false) -> Manifest {
    var artifacts: [String: Manifest.Artifact] = ["kernel": .init(file: "bzImage", size: 1, sha256: "k")]
    if initramfs { artifacts["initramfs"] = .init(file: "initramfs.cpio.gz", size: 1, sha256: "i") }
    if data { artifacts["data"] = .init(file: "data.ext4", size: 1, sha256: "d") }
    return Manifest(
        recipe: .init(name: "test", file: "test.toml", sha256: "r", description: "", vcpus: 2, memoryMib: 96, volumeSizeMib: nil),
        guest: .init(port: port, readyLine: ServerLog.ready),
        serverVersion: "0.1.0",
        kernel: .init(origin: "built", version: "6.1", sourceVersion: nil, cacheKey: nil, initramfsEmbedded: false),
        kernelCommandLine: "console=ttyS0 quiet",
        artifacts: artifacts, imageSize: 2, builtAt: "2026-12-06T00:00:00Z", buildSeconds: 1)
}

final class VMSpecTests: XCTestCase {
    let image = URL(fileURLWithPath: "/images/one")
    let work = URL(fileURLWithPath: "/tmp/work")

    /// The value after `flag` in `args` (each flag here appears once).
    func value(_ flag: String, _ args: [String]) -> String? {
        args.firstIndex(of: flag).map { args[$0 + 1] }
    }

    func testMicrovmUnderTCG() throws {
        let spec = VMSpec(imageDirectory: image, manifest: testManifest(), hostPort: 6390, workDirectory: work)
        let args = try spec.qemuArguments()
        XCTAssertEqual(value("-M", args), "microvm,x-option-roms=off,acpi=off")
        XCTAssertEqual(value("-accel", args), "tcg,thread=multi", "one host thread per vCPU, so each can be pinned")
        XCTAssertEqual(value("-cpu", args), "max")
        XCTAssertEqual(value("-m", args), "96")
        XCTAssertEqual(value("-smp", args), "2")
        XCTAssertEqual(value("-kernel", args), "/images/one/bzImage")
        XCTAssertEqual(value("-initrd", args), "/images/one/initramfs.cpio.gz")
        XCTAssertEqual(value("-append", args), "console=ttyS0 quiet")
        XCTAssertEqual(value("-serial", args), "file:/tmp/work/console.log")
        XCTAssertEqual(value("-qmp", args), "unix:/tmp/work/qmp.sock,server=on,wait=off")
        XCTAssertEqual(value("-netdev", args), "user,id=net0,hostfwd=tcp:127.0.0.1:6390-:7000",
                       "the forward goes to the port the image's recipe gave the server")
        XCTAssertEqual(value("-device", args), "virtio-net-device,netdev=net0")
        XCTAssertTrue(args.contains("-no-reboot"))
        XCTAssertNil(value("-drive", args))
    }

    func testQEMUSandboxIsOnUnlessTurnedOff() throws {
        var spec = VMSpec(imageDirectory: image, manifest: testManifest(), hostPort: 6390, workDirectory: work)
        XCTAssertEqual(value("-sandbox", try spec.qemuArguments()),
                       "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny")
        spec.sandbox = false
        XCTAssertFalse(try spec.qemuArguments().contains("-sandbox"), "swiftlet run --no-sandbox")
    }

    func testPCUnderKVMWithDataVolume() throws {
        var spec = VMSpec(imageDirectory: image, manifest: testManifest(initramfs: false, data: true), hostPort: 1, workDirectory: work,
                          consolePath: URL(fileURLWithPath: "/var/log/c.log"))
        spec.machine = .pc
        spec.accelerator = .kvm
        spec.vcpus = 1
        let args = try spec.qemuArguments()
        XCTAssertEqual(value("-M", args), "pc")
        XCTAssertEqual(value("-accel", args), "kvm")
        XCTAssertEqual(value("-cpu", args), "host")
        XCTAssertEqual(value("-smp", args), "1")
        XCTAssertNil(value("-initrd", args), "an embedded initramfs is not passed")
        XCTAssertEqual(value("-serial", args), "file:/var/log/c.log")
        XCTAssertEqual(value("-drive", args), "id=data,file=/images/one/data.ext4,format=raw,if=none")
        XCTAssertEqual(args.filter { $0.hasPrefix("virtio-") }, ["virtio-net-pci,netdev=net0", "virtio-blk-pci,drive=data"])
    }

    func testExtraKernelParametersAndTheGuestPort() throws {
        var spec = VMSpec(imageDirectory: image, manifest: testManifest(port: 7000), hostPort: 6390, workDirectory: work)
        XCTAssertEqual(spec.guestPort, 7000)
        spec.extraKernelParameters = "swiftlet.port=7001 swiftlet.requirepass=\"a b\""
        XCTAssertEqual(spec.guestPort, 7001, "the appliance's init reads swiftlet.port= over the baked-in file")
        let args = try spec.qemuArguments()
        XCTAssertEqual(value("-append", args), "console=ttyS0 quiet swiftlet.port=7001 swiftlet.requirepass=\"a b\"")
        XCTAssertEqual(value("-netdev", args), "user,id=net0,hostfwd=tcp:127.0.0.1:6390-:7001")
        // A value the server will refuse at start-up changes nothing here: the guest stops.
        spec.extraKernelParameters = "swiftlet.port=not-a-port"
        XCTAssertEqual(spec.guestPort, 7000)
    }

    func testNoKernelIsAnError() {
        var manifest = testManifest()
        manifest.artifacts["kernel"] = nil
        let spec = VMSpec(imageDirectory: image, manifest: manifest, hostPort: 1, workDirectory: work)
        XCTAssertThrowsError(try spec.qemuArguments()) { XCTAssertEqual("\($0)", "the manifest lists no kernel") }
    }

    func testLibvirtDomainForwardsToTheGuestPort() throws {
        var spec = VMSpec(imageDirectory: image, manifest: testManifest(port: 7000), hostPort: 6390, workDirectory: work)
        spec.extraKernelParameters = "swiftlet.loglevel=verbose"
        spec.vcpuPins = [1, 0]
        spec.emulatorPins = [0]
        let xml = try LibvirtSession(spec: spec, uri: "qemu:///system", log: { _ in }).domainXML()
        XCTAssertTrue(xml.contains("<qemu:arg value='user,id=net0,hostfwd=tcp:127.0.0.1:6390-:7000'/>"), xml)
        XCTAssertTrue(xml.contains("<cmdline>console=ttyS0 quiet swiftlet.loglevel=verbose</cmdline>"), xml)
        XCTAssertTrue(xml.contains("<vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='1' cpuset='0'/><emulatorpin cpuset='0'/>"), xml)
        XCTAssertTrue(xml.contains("<kernel>/images/one/bzImage</kernel>"), xml)
    }
}

final class ManifestTests: XCTestCase {
    func testRoundTrip() throws {
        let manifest = testManifest(port: 7000)
        let decoded = try Manifest.decode(Data(try manifest.json()))
        XCTAssertEqual(decoded, manifest)
        XCTAssertEqual(decoded.format, 2)
        let text = String(decoding: try manifest.json(), as: UTF8.self)
        XCTAssertTrue(text.contains("\"ready_line\" : \"Ready to accept connections\""), text)
    }

    /// Images built before the manifest carried the guest's settings listened on 6379.
    func testFormatOneManifestDefaults() throws {
        var object = try JSONSerialization.jsonObject(with: Data(try testManifest().json())) as! [String: Any]
        object["guest"] = nil
        object["format"] = 1
        let decoded = try Manifest.decode(try JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(decoded.guest, .init(port: 6379, readyLine: "Ready to accept connections"))
        XCTAssertEqual(decoded.format, 1)
    }
}

final class PinningTests: XCTestCase {
    func testLists() throws {
        XCTAssertEqual(try Pinning.parseList("1,0", hostCPUs: 2), [1, 0])
        XCTAssertEqual(try Pinning.parseList("0-3", hostCPUs: 4), [0, 1, 2, 3])
        XCTAssertEqual(try Pinning.parseList("3, 0-1", hostCPUs: 4), [3, 0, 1])
        XCTAssertEqual(try Pinning.parseList("2-2", hostCPUs: 4), [2])
    }

    func testBadListsNameTheProblem() {
        func message(_ text: String) -> String {
            do { _ = try Pinning.parseList(text, hostCPUs: 2); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("2"), "CPU 2 does not exist: this host has CPUs 0-1")
        XCTAssertEqual(message("0-5"), "CPU 2 does not exist: this host has CPUs 0-1")
        XCTAssertEqual(message("a"), "bad CPU list 'a': expected numbers like 1,0 or 0-3")
        XCTAssertEqual(message("1-0"), "bad CPU list '1-0': expected numbers like 1,0 or 0-3")
        XCTAssertEqual(message("-1"), "bad CPU list '-1': expected numbers like 1,0 or 0-3")
        XCTAssertEqual(message("1-"), "bad CPU list '1-': expected numbers like 1,0 or 0-3")
        XCTAssertEqual(message(""), "empty CPU list")
        XCTAssertEqual(message(","), "empty CPU list")
    }
}
