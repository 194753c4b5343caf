#ifndef NOTES_CLINUX_H
#define NOTES_CLINUX_H
// Linux interfaces Swift's Glibc module does not export.
#include <sys/epoll.h>
#include <sys/prctl.h>

#include <sys/types.h>

// glibc declares these only with _GNU_SOURCE, which the Glibc module is not built with.
static inline int notes_setresuid(uid_t real, uid_t effective, uid_t saved) {
    extern int setresuid(uid_t, uid_t, uid_t);
    return setresuid(real, effective, saved);
}
static inline int notes_setresgid(gid_t real, gid_t effective, gid_t saved) {
    extern int setresgid(gid_t, gid_t, gid_t);
    return setresgid(real, effective, saved);
}

#include <sys/socket.h>

// accept4 is _GNU_SOURCE too. The connection is not inherited by what the process later executes.
static inline int notes_accept_cloexec(int fd, struct sockaddr *address, socklen_t *length) {
    extern int accept4(int, struct sockaddr *, socklen_t *, int);
    return accept4(fd, address, length, SOCK_CLOEXEC);
}

#include <poll.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000 // Linux's value; <poll.h> defines it only with _GNU_SOURCE
#endif

// Whether the peer of a connected socket has closed it, or the socket failed; seen without waiting.
static inline int notes_peer_has_closed(int fd) {
    struct pollfd descriptor = { .fd = fd, .events = POLLRDHUP };
    return poll(&descriptor, 1, 0) > 0 && (descriptor.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// prctl is variadic, which Swift cannot call.
static inline int notes_set_no_new_privileges(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
static inline int notes_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }
#endif
