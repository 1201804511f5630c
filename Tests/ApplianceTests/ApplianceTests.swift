import Configuration
import XCTest
@testable import Server

final class ApplianceTests: XCTestCase {
    func testKernelCommandLineBecomesServerArguments() {
        let cmdline = "console=ttyS0 quiet swiftlet.port=7000 swiftlet.save= swiftlet.data=/dev/vda "
            + "swiftlet.requirepass=\"two words\" \"swiftlet.loglevel=verbose\" ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off\n"
        XCTAssertEqual(Appliance.serverArguments(kernelCommandLine: cmdline, configFileExists: true),
                       ["/etc/swiftlet.conf", "--port", "7000", "--save", "", "--requirepass", "two words", "--loglevel", "verbose"])
        XCTAssertEqual(Appliance.serverArguments(kernelCommandLine: "console=ttyS0", configFileExists: false), [])
    }

    func testArgumentsLoadAsConfiguration() throws {
        let args = Appliance.serverArguments(kernelCommandLine: "swiftlet.port=7001 swiftlet.save=\"900 1\"", configFileExists: true)
        let config = try Config.load(arguments: args, readFile: { path in
            XCTAssertEqual(path, Appliance.configFile)
            return "port 6379\nappendonly no\n"
        })
        XCTAssertEqual(config["port"], "7001", "the kernel command line overrides the baked-in file")
        XCTAssertEqual(config["save"], "900 1")
    }

    func testKernelParameterSplitting() {
        let params = KernelParameters.split("a b=1  \"c=x y\" d=\"p q\" e=")
        XCTAssertEqual(params.map(\.name), ["a", "b", "c", "d", "e"])
        XCTAssertEqual(params.map(\.value), [nil, "1", "x y", "p q", ""])
    }
}
