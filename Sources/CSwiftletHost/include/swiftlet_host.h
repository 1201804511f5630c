#ifndef SWIFTLET_HOST_H
#define SWIFTLET_HOST_H
// Host-side shims for `swiftlet run` (prefix `swiftlet_`): what Swift cannot express itself.
#include <sys/types.h>

/// Starts `argv[0]` (a path) with `argv`, stdin from /dev/null and stdout/stderr to `output_fd`,
/// in its own process group (so the terminal's Ctrl-C reaches only the runner, which then shuts
/// the VM down in order), and with a parent-death signal: the kernel kills the child with
/// SIGKILL if the runner dies, however it dies. Returns the pid, or -1 with errno set.
pid_t swiftlet_spawn_tied(char *const argv[], int output_fd);

/// Pins one thread (`tid`, a task id from /proc/<pid>/task) to the CPUs in `cpus[0..<count]`.
/// Returns 0, or -1 with errno set.
int swiftlet_pin_thread(pid_t tid, const int *cpus, int count);

/// Re-`listen`s socket `fd` of process `pid` with a larger backlog, through a duplicate of the
/// descriptor obtained with pidfd_getfd(2) (Linux 5.6+; needs ptrace rights over `pid`, which a
/// parent running as the same user or root has). Returns 0, or -1 with errno set.
int swiftlet_relisten(pid_t pid, int fd, int backlog);

#endif
