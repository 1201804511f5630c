import XCTest
@testable import RESP
final class SmokeRESPTests: XCTestCase { func testNothing() {} }
