#ifndef SWIFTLET_SECCOMP_H
#define SWIFTLET_SECCOMP_H

#include <stddef.h>

/// What a system call outside the allowlist (allowlist.def) does.
typedef enum {
    /// The process dies by SIGSYS after writing a line that names the call.
    SWIFTLET_SECCOMP_KILL = 1,
    /// The call goes ahead and the kernel logs it (dmesg / audit `type=1326`): for developing
    /// the allowlist.
    SWIFTLET_SECCOMP_LOG = 2,
} swiftlet_seccomp_mode;

/// Installs the allowlist as a seccomp filter on every thread of the process (TSYNC), for
/// good: threads created later inherit it. `log_fd` is where the kill line goes (the server's
/// log descriptor; standard error gets it too when that is another descriptor); `is_init` says
/// the process is the appliance's PID 1, which powers the VM off instead of dying (signals
/// cannot kill PID 1). Returns 0, or a negative errno with a message in `error`.
int swiftlet_seccomp_install(swiftlet_seccomp_mode mode, int log_fd, int is_init, char *error, size_t error_size);

/// Rows in allowlist.def (distinct system calls; a call with several argument rows counts once).
int swiftlet_seccomp_allowlist_size(void);

/// Whether allowlist.def names the system call `name` (any argument rule).
int swiftlet_seccomp_allowlist_names(const char *name);

/// The system call `DEBUG FORBIDDEN-SYSCALL` makes: personality(0xffffffff), which only reads
/// the execution domain and is left out of the allowlist on purpose. Returns its result.
long swiftlet_seccomp_forbidden_syscall(void);

/// The name of that call, for messages and tests.
extern const char *const swiftlet_seccomp_forbidden_syscall_name;

#endif
