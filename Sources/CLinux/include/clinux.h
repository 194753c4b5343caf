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

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// The accept queue of a listening TCP socket: TCP_INFO's tcpi_unacked is its length, tcpi_sacked its capacity
// (the backlog) on a listener. 0 on success, -1 with errno.
static inline int notes_tcp_listen_queue(int fd, unsigned int *queued, unsigned int *backlog) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    *queued = info.tcpi_unacked;
    *backlog = info.tcpi_sacked;
    return 0;
}

// A NETLINK_SOCK_DIAG socket for notes_unix_listen_queue, opened once.
static inline int notes_sock_diag_open(void) {
    return socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

// The accept queue of the listening unix socket `fd`, asked of the kernel by its inode over sock_diag
// (UDIAG_SHOW_RQLEN: on a listener, rqueue is the queue's length and wqueue its capacity). 0 on success,
// -1 with errno (ENOENT when the answer holds no queue lengths).
static inline int notes_unix_listen_queue(int diag_fd, int fd, unsigned int *queued, unsigned int *backlog) {
    struct stat status;
    if (fstat(fd, &status) != 0) return -1;
    struct {
        struct nlmsghdr header;
        struct unix_diag_req request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.request.sdiag_family = AF_UNIX;
    message.request.udiag_states = 1u << 10; /* TCP_LISTEN */
    message.request.udiag_ino = (unsigned int)status.st_ino;
    message.request.udiag_show = UDIAG_SHOW_RQLEN;
    message.request.udiag_cookie[0] = ~0u; /* INET_DIAG_NOCOOKIE: any socket of that inode */
    message.request.udiag_cookie[1] = ~0u; /* INET_DIAG_NOCOOKIE: any socket of that inode */
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    if (sendto(diag_fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -1;
    union {
        struct nlmsghdr header;
        char bytes[1024];
    } answer;
    ssize_t received = recv(diag_fd, &answer, sizeof answer, 0);
    if (received < 0) return -1;
    for (struct nlmsghdr *header = &answer.header; NLMSG_OK(header, (size_t)received);
         header = NLMSG_NEXT(header, received)) {
        if (header->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr *error = (struct nlmsgerr *)NLMSG_DATA(header);
            errno = error->error < 0 ? -error->error : EIO;
            return -1;
        }
        if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
        struct unix_diag_msg *diag = (struct unix_diag_msg *)NLMSG_DATA(header);
        int length = (int)(header->nlmsg_len - NLMSG_LENGTH(sizeof *diag));
        for (struct rtattr *attribute = (struct rtattr *)(diag + 1); RTA_OK(attribute, length);
             attribute = RTA_NEXT(attribute, length)) {
            if (attribute->rta_type == UNIX_DIAG_RQLEN) {
                struct unix_diag_rqlen *lengths = (struct unix_diag_rqlen *)RTA_DATA(attribute);
                *queued = lengths->udiag_rqueue;
                *backlog = lengths->udiag_wqueue;
                return 0;
            }
        }
    }
    errno = ENOENT;
    return -1;
}

// prctl is variadic, which Swift cannot call.
static inline int notes_set_no_new_privileges(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
static inline int notes_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <elf.h>

// ptrace is variadic. These stop a child without it noticing (PTRACE_SEIZE, PTRACE_INTERRUPT), read its
// program counter, frame and stack pointers and the words of its stack, and let it go with the signal it was stopped by.
static inline long notes_ptrace_seize(pid_t pid) { return ptrace(PTRACE_SEIZE, pid, 0, 0); }
static inline long notes_ptrace_interrupt(pid_t pid) { return ptrace(PTRACE_INTERRUPT, pid, 0, 0); }
static inline long notes_ptrace_detach(pid_t pid, int signal) { return ptrace(PTRACE_DETACH, pid, 0, (void *)(long)signal); }
static inline int notes_ptrace_event_stop(int status) { return (status >> 16) == PTRACE_EVENT_STOP; }

static inline int notes_ptrace_registers(pid_t pid, uint64_t *pc, uint64_t *frame, uint64_t *stack) {
#if defined(__x86_64__)
    struct { unsigned long long r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax,
             rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs; } registers;
    struct iovec vector = { &registers, sizeof registers };
    if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &vector) != 0) return -1;
    *pc = registers.rip;
    *frame = registers.rbp;
    *stack = registers.rsp;
    return 0;
#elif defined(__aarch64__)
    struct { unsigned long long regs[31], sp, pc, pstate; } registers;
    struct iovec vector = { &registers, sizeof registers };
    if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &vector) != 0) return -1;
    *pc = registers.pc;
    *frame = registers.regs[29];
    *stack = registers.sp;
    return 0;
#else
    (void)pid; (void)pc; (void)frame; (void)stack;
    return -1;
#endif
}

// One word of the child's memory; 0 with *failed set when the address is not readable.
static inline uint64_t notes_ptrace_peek(pid_t pid, uint64_t address, int *failed) {
    extern int *__errno_location(void);
    *__errno_location() = 0;
    long word = ptrace(PTRACE_PEEKDATA, pid, (void *)address, 0);
    *failed = word == -1 && *__errno_location() != 0;
    return (uint64_t)word;
}
#endif
