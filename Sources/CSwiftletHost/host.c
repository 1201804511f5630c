#define _GNU_SOURCE
#include "swiftlet_host.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t swiftlet_spawn_tied(char *const argv[], int output_fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    // Child: only async-signal-safe calls until exec (the parent is multi-threaded).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    setpgid(0, 0);
    // Dispositions set to "ignore" survive exec; the runner ignores SIGINT/SIGTERM to handle
    // them through signal sources, QEMU must not inherit that.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    if (output_fd >= 0) {
        dup2(output_fd, 1);
        dup2(output_fd, 2);
    }
    execv(argv[0], argv);
    _exit(127);
}

int swiftlet_pin_thread(pid_t tid, const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) { errno = EINVAL; return -1; }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(tid, sizeof(set), &set);
}

int swiftlet_relisten(pid_t pid, int fd, int backlog) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) return -1;
    int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    int saved = errno;
    close(pidfd);
    if (copy < 0) { errno = saved; return -1; }
    // The copy shares the socket with QEMU's descriptor: listen() on it changes the backlog of
    // the one listening socket.
    int result = listen(copy, backlog);
    saved = errno;
    close(copy);
    errno = saved;
    return result;
}
