import XCTest
@testable import Keyspace
final class SmokeKeyspaceTests: XCTestCase { func testNothing() {} }
