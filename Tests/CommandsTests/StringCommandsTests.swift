import XCTest
@testable import Commands

final class StringCommandsTests: XCTestCase {
    func testSetGet() {
        let c = TestServer().client()
        XCTAssertEqual(c.call("SET", "k", "v"), .simple("OK"))
        XCTAssertEqual(c.call("GET", "k"), .bulk("v"))
        XCTAssertEqual(c.call("GET", "missing"), .null)
        XCTAssertEqual(c.call("get"), .error("ERR wrong number of arguments for 'get' command"))
        XCTAssertEqual(c.call("SET", "k", "w", "NX"), .null)
        XCTAssertEqual(c.call("SET", "k", "w", "XX", "GET"), .bulk("v"))
        XCTAssertEqual(c.call("SET", "k", "w", "EX", "0"), .error("ERR invalid expire time in 'set' command"))
        XCTAssertEqual(c.call("SET", "k", "w", "EX", "x"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(c.call("SET", "k", "w", "NX", "XX"), .error("ERR syntax error"))
    }
}
