// PID-1 boot shim for the Swiftlet appliance (see include/swiftlet_init.h).
//
// Why a C constructor: a statically linked Swift executable asks for its own path while the
// runtime initialises (its dladdr-based lookup fails in a static binary and falls back to
// /proc/self/exe). As the first process of a bare initramfs nothing is mounted yet, so the
// runtime aborts with "Unable to obtain Swift runtime path" before main. Constructors of
// priority 101 run before the runtime's own initialisers (priorities up to 100 are reserved
// for the implementation; the Swift runtime's carry none), so mounting /proc here is early
// enough.

#define _GNU_SOURCE
#include "swiftlet_init.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

static void swiftlet_say(const char *a, const char *b, const char *c) {
    // One write per message so it is not interleaved with kernel output mid-line.
    char line[512];
    size_t n = 0;
    const char *parts[] = {"swiftlet-init: ", a, b, c, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t len = parts[i] ? strlen(parts[i]) : 0;
        if (len > sizeof line - n) len = sizeof line - n;
        memcpy(line + n, parts[i], len);
        n += len;
    }
    (void)!write(2, line, n);
}

static void swiftlet_mount(const char *source, const char *target, const char *type,
                           unsigned long flags, const char *data) {
    mkdir(target, 0755);
    if (mount(source, target, type, flags, data) != 0 && errno != EBUSY) {
        swiftlet_say("cannot mount ", target, strerror(errno));
    }
}

// The kernel opens /dev/console (from the initramfs) as fds 0-2 for init. If that node is
// missing it starts init without them; open the console ourselves then, so the server's log
// still reaches the serial port.
static void swiftlet_ensure_console(void) {
    if (fcntl(1, F_GETFD) != -1) return;
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0) return;
    for (int i = 0; i <= 2; i++) {
        if (fd != i) dup2(fd, i);
    }
    if (fd > 2) close(fd);
}

// Finds `swiftlet.data=DEVICE` on the kernel command line. Device paths contain no spaces or
// quotes, so plain whitespace splitting is enough here (the server parses the full syntax).
static int swiftlet_data_device(char *out, size_t size) {
    char cmdline[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    if (n <= 0) return 0;
    cmdline[n] = 0;
    static const char key[] = "swiftlet.data=";
    for (char *p = cmdline; (p = strstr(p, key)) != NULL; p += sizeof key - 1) {
        if (p != cmdline && p[-1] != ' ') continue;
        char *value = p + sizeof key - 1;
        size_t len = strcspn(value, " \n\t");
        if (len == 0 || len >= size) return 0;
        memcpy(out, value, len);
        out[len] = 0;
        return 1;
    }
    return 0;
}

__attribute__((constructor(101)))
static void swiftlet_boot(void) {
    if (getpid() != 1) return;
    swiftlet_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    swiftlet_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    swiftlet_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
    swiftlet_ensure_console();

    char device[256];
    if (swiftlet_data_device(device, sizeof device)) {
        mkdir(SWIFTLET_DATA_MOUNT, 0755);
        if (mount(device, SWIFTLET_DATA_MOUNT, "ext4", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, NULL) != 0) {
            // Serving without the volume would put "persistent" data in RAM and lose it at
            // power-off without a word: stop instead, saying why.
            swiftlet_say("cannot mount the data volume ", device, strerror(errno));
            swiftlet_say("powering off: the recipe needs its data volume (swiftlet.data=", device, ")");
            swiftlet_power_off();
        }
    }
}

int swiftlet_power_off(void) {
    sync();
    // Without ACPI (the appliance kernel has none) RB_POWER_OFF only halts the CPU and the VM
    // would sit there forever; /sys/firmware/acpi exists exactly when power-off can work.
    if (access("/sys/firmware/acpi", F_OK) == 0) {
        reboot(RB_POWER_OFF);
    }
    return reboot(RB_AUTOBOOT);
}
