// The seccomp filter: allowlist.def compiled into libseccomp rules.
//
// Why SCMP_ACT_TRAP and a SIGSYS handler rather than SCMP_ACT_KILL_PROCESS: a process killed
// by KILL_PROCESS never learns why, and the only record is the kernel's audit line, which the
// appliance kernel (no CONFIG_AUDIT) does not print and a container's user may not read. With
// TRAP the forbidden call still never runs: the kernel stops it before it starts and raises
// SIGSYS, whose handler writes one line naming the call ("... system call personality (135) is
// not in the allowlist ...") and then ends the process by SIGSYS, the same death KILL_PROCESS
// gives. Code that took over the process could install its own SIGSYS handler and survive the
// trap, but the forbidden call still fails (the filter cannot be removed or loosened), so that
// buys it nothing. A call from another ABI (i386 `int 0x80`, x32) is not trapped but killed
// outright (SCMP_FLTATR_ACT_BADARCH): nothing of ours uses them.
#define _GNU_SOURCE
#include "swiftlet_seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/personality.h>
#include <unistd.h>

const char *const swiftlet_seccomp_forbidden_syscall_name = "personality";

long swiftlet_seccomp_forbidden_syscall(void) {
    return syscall(SYS_personality, 0xffffffffUL);
}

// The allowlist's names, for counting and tests.
static const char *const allowlist_names[] = {
#define SWIFTLET_SYSCALL(name, threads, why) #name,
#define SWIFTLET_SYSCALL_IF(name, arg, value, threads, why) #name,
#include "allowlist.def"
#undef SWIFTLET_SYSCALL
#undef SWIFTLET_SYSCALL_IF
};
#define ALLOWLIST_ROWS (sizeof allowlist_names / sizeof allowlist_names[0])

int swiftlet_seccomp_allowlist_names(const char *name) {
    for (size_t i = 0; i < ALLOWLIST_ROWS; i++) {
        if (strcmp(allowlist_names[i], name) == 0) return 1;
    }
    return 0;
}

int swiftlet_seccomp_allowlist_size(void) {
    int distinct = 0;
    for (size_t i = 0; i < ALLOWLIST_ROWS; i++) {
        size_t j = 0;
        while (j < i && strcmp(allowlist_names[j], allowlist_names[i]) != 0) j++;
        if (j == i) distinct++;
    }
    return distinct;
}

// What the SIGSYS handler needs, prepared before the filter goes in: it may only make
// async-signal-safe calls, and only allowed ones. Names come from libseccomp's table, looked up
// once here (the lookup allocates) for every number the native ABI has.
#define NAMED_SYSCALLS 1024
static const char *syscall_names[NAMED_SYSCALLS];
static int kill_line_fd = 2;
static int kill_line_also_to_stderr;
static int running_as_init;
static int init_can_power_off;  // /sys/firmware/acpi exists (checked before the filter)
static pid_t self_pid;

// Appends `text` to buf at *at (no overflow past size - 1).
static void put(char *buf, size_t size, size_t *at, const char *text) {
    while (*text && *at + 1 < size) buf[(*at)++] = *text++;
}

static void put_number(char *buf, size_t size, size_t *at, long n) {
    char digits[24];
    int i = 0;
    unsigned long u = n < 0 ? (unsigned long)-n : (unsigned long)n;
    do { digits[i++] = (char)('0' + u % 10); u /= 10; } while (u && i < (int)sizeof digits);
    if (n < 0) put(buf, size, at, "-");
    while (i > 0 && *at + 1 < size) buf[(*at)++] = digits[--i];
}

static void on_sigsys(int sig, siginfo_t *info, void *context) {
    (void)context;
    int nr = info->si_syscall;
    const char *name = (nr >= 0 && nr < NAMED_SYSCALLS && syscall_names[nr]) ? syscall_names[nr] : "unknown";
    // Redis's log shape (`pid:M` then `#`, the warning mark) without the time stamp, which
    // would need calls that are not async-signal-safe.
    char line[256];
    size_t at = 0;
    put_number(line, sizeof line, &at, self_pid);
    put(line, sizeof line, &at, ":M # seccomp: system call ");
    put(line, sizeof line, &at, name);
    put(line, sizeof line, &at, " (");
    put_number(line, sizeof line, &at, nr);
    put(line, sizeof line, &at, ") is not in the allowlist (Sources/CSwiftletSeccomp/allowlist.def): killing the server\n");
    ssize_t ignored = write(kill_line_fd, line, at);
    if (kill_line_also_to_stderr) ignored = write(2, line, at);
    (void)ignored;
    if (running_as_init) {
        // Signals cannot kill PID 1, and init exiting would panic the kernel: power off, as
        // every other way out of the appliance does (CSwiftletInit).
        // As swiftlet_power_off: without ACPI, RB_POWER_OFF would only halt the CPU and leave
        // the VM running forever; the reboot is what -no-reboot turns into the VM exiting.
        sync();
        if (init_can_power_off) reboot(RB_POWER_OFF);
        reboot(RB_AUTOBOOT);
    }
    // SA_RESETHAND made SIGSYS's action the default again and the handler runs with SIGSYS
    // blocked: the signal stays pending and kills the process when the handler returns.
    syscall(SYS_tgkill, self_pid, syscall(SYS_gettid), sig);
}

static int fail(int rc, const char *what, char *error, size_t error_size) {
    snprintf(error, error_size, "%s: %s", what, strerror(-rc));
    return rc;
}

int swiftlet_seccomp_install(swiftlet_seccomp_mode mode, int log_fd, int is_init, char *error, size_t error_size) {
    self_pid = getpid();
    kill_line_fd = log_fd;
    // Standard error too, unless it is the log's file already (`2>&1`, the appliance console):
    // one line, not two.
    struct stat log_file, err_file;
    kill_line_also_to_stderr = !(fstat(log_fd, &log_file) == 0 && fstat(2, &err_file) == 0 &&
                                 log_file.st_dev == err_file.st_dev && log_file.st_ino == err_file.st_ino);
    running_as_init = is_init;
    init_can_power_off = is_init && access("/sys/firmware/acpi", F_OK) == 0;
    for (int nr = 0; nr < NAMED_SYSCALLS; nr++) {
        if (!syscall_names[nr]) syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    }
    uint32_t deny = mode == SWIFTLET_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
    if (mode != SWIFTLET_SECCOMP_LOG) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_sigsys;
        action.sa_flags = SA_SIGINFO | SA_RESETHAND;
        sigemptyset(&action.sa_mask);
        if (sigaction(SIGSYS, &action, NULL) != 0) return fail(-errno, "sigaction(SIGSYS)", error, error_size);
    }
    scmp_filter_ctx ctx = seccomp_init(deny);
    if (!ctx) return fail(-ENOMEM, "seccomp_init", error, error_size);
    int rc;
    // Every thread, also those started before this call (NIO's event loops, Dispatch's).
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) goto out_attr;
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0) goto out_attr;
    // A row naming a call this architecture does not have (libseccomp's negative pseudo
    // numbers) is skipped: the rule could never match.
#define SWIFTLET_SYSCALL(name, threads, why) \
    if (SCMP_SYS(name) >= 0 && (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 0)) < 0) goto out_rule;
#define SWIFTLET_SYSCALL_IF(name, arg, value, threads, why) \
    if (SCMP_SYS(name) >= 0 && (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 1, \
                                                      SCMP_CMP(arg, SCMP_CMP_EQ, (scmp_datum_t)(value)))) < 0) goto out_rule;
#include "allowlist.def"
#undef SWIFTLET_SYSCALL
#undef SWIFTLET_SYSCALL_IF
    if ((rc = seccomp_load(ctx)) < 0) {
        seccomp_release(ctx);
        // With TSYNC, a positive result names a thread that could not be synchronised.
        return fail(rc, "seccomp_load", error, error_size);
    }
    seccomp_release(ctx);
    return 0;
out_attr:
    seccomp_release(ctx);
    return fail(rc, "seccomp_attr_set", error, error_size);
out_rule:
    seccomp_release(ctx);
    return fail(rc, "seccomp_rule_add", error, error_size);
}
