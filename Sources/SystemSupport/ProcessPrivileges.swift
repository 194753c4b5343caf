#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLinux

/// An account a root process switches to, looked up in the user database once, before the switch.
public struct UserIdentity: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t

    public init(uid: uid_t, gid: gid_t, name: String) {
        self.uid = uid
        self.gid = gid
        self.name = name
    }

    /// - Throws: when there is no such user.
    public init(named name: String) throws(SystemError) {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let code = getpwnam_r(name, &entry, &buffer, buffer.count, &found)
        guard code == 0, found != nil else {
            throw SystemError("no user named '\(name)'", code: code == 0 ? ENOENT : code)
        }
        self.init(uid: entry.pw_uid, gid: entry.pw_gid, name: name)
    }

    public static var processIsRoot: Bool { geteuid() == 0 }

    public var description: String { "\(name) (uid \(uid), gid \(gid))" }

    /// Turns this process into the user for good: no supplementary groups, the user's primary group, the
    /// user's uid for real, effective and saved ids, and no_new_privs, so neither this process nor anything
    /// it executes can gain a privilege back (no setuid binary, no file capability).
    public func become() throws(SystemError) {
        guard setgroups(0, nil) == 0 else { throw SystemError("setgroups") }
        guard notes_setresgid(gid, gid, gid) == 0 else { throw SystemError("setresgid \(gid)") }
        guard notes_setresuid(uid, uid, uid) == 0 else { throw SystemError("setresuid \(uid)") }
        if uid != 0, setuid(0) == 0 {
            throw SystemError("root could be regained after switching to \(name)", code: EPERM)
        }
        try forbidNewPrivileges()
    }
}

/// Neither this process nor anything it executes can gain a privilege: setuid bits and file capabilities
/// stop working for it (and it cannot be undone).
public func forbidNewPrivileges() throws(SystemError) {
    guard notes_set_no_new_privileges() == 0 else { throw SystemError("prctl(PR_SET_NO_NEW_PRIVS)") }
}
