import Commands
import Configuration

/// ACL users at start-up and on CONFIG SET: `requirepass`, the config file's `user` lines or the
/// `aclfile`, `acllog-max-len`, `acl-pubsub-default` (Redis's acl.c `ACLLoadUsersAtStartup`).
extension SwiftletServer {
    static let usersAndACLFileRefusal = "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both."

    /// Runs after `dir` is entered, so that a relative `aclfile` is found where Redis finds it.
    func loadUsers() throws {
        applyACLSettings()
        let acl = runtime.acl
        acl.filePath = config[.aclFile]
        let lines = config.userDefinitions
        if !lines.isEmpty && !acl.filePath.isEmpty { throw ServerError(Self.usersAndACLFileRefusal) }
        // requirepass first: a `user default ...` line or the ACL file overrides it, as in Redis.
        acl.setDefaultPassword(config[.requirePass])
        do {
            if !lines.isEmpty {
                let definitions = lines.map { (name: $0[0], rules: AccessControl.mergeSelectors(Array($0.dropFirst()))) }
                try acl.replaceUsers(with: definitions) { "Error in user declaration '\(lines[$0][0])': \($1)" }
            } else if !acl.filePath.isEmpty {
                try acl.load(acl.filePath)
            }
        } catch {
            throw ServerError(error.message)
        }
    }

    /// The ACL directives CONFIG SET may change.
    func applyACLConfig(_ names: Set<String>) {
        if names.contains("requirepass") { runtime.acl.setDefaultPassword(config[.requirePass]) }
        if names.contains("acllog-max-len") || names.contains("acl-pubsub-default") { applyACLSettings() }
    }

    private func applyACLSettings() {
        runtime.acl.pubsubDefaultAll.store(config[.aclPubsubDefault] == "allchannels", ordering: .relaxed)
        runtime.acl.logMaxLength.store(config[.aclLogMaxLen], ordering: .relaxed)
        runtime.acl.trimLog()
    }
}
