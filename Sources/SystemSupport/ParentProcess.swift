#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLinux

/// Has the kernel send `signal` to this process when `parent` (its parent when it started) is gone, and sends
/// it at once if that already happened, so a process orphaned by its parent's crash winds down instead of
/// serving on alone.
public func followParent(_ parent: pid_t, signal: Int32 = SIGTERM) throws(SystemError) {
    guard notes_set_parent_death_signal(signal) == 0 else { throw SystemError("prctl(PR_SET_PDEATHSIG)") }
    // The parent may have died before the request above: then no signal would ever come.
    if getppid() != parent { kill(getpid(), signal) }
}
