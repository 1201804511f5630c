// LD_PRELOAD shim for Scripts/bench_aof.py --fsync-delay-us: every fsync/fdatasync takes at
// least SWIFTLET_FSYNC_DELAY_US microseconds longer (the calling thread sleeps after the real
// call), so the policies can be compared on a disk slower than this machine's (~0.15 ms per
// fdatasync), e.g. an SSD without a volatile write cache (~1-2 ms) or a network volume. The
// sleep costs no CPU, like waiting for a real device. Used for redis-server and Swiftlet alike.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long delay_us(void) {
    static long cached = -1;
    if (cached < 0) {
        const char *v = getenv("SWIFTLET_FSYNC_DELAY_US");
        cached = v ? atol(v) : 0;
    }
    return cached;
}

static void pause_for_device(void) {
    long us = delay_us();
    if (us <= 0) return;
    struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&t, &t) != 0) {}
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int r = real(fd);
    pause_for_device();
    return r;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int r = real(fd);
    pause_for_device();
    return r;
}
