/* LD_PRELOAD shim for the power-loss test (test_aof.py): after every successful fsync or
 * fdatasync, appends "<path> <size>" to $SWIFTLET_SYNC_LOG. What a file held at its last sync
 * is what survives a power loss; after SIGKILL the test cuts each append-only file back to
 * that size (in the spirit of LazyFS, which drops un-fsynced data on a simulated crash), so a
 * missing fsync loses acknowledged writes instead of being hidden by the page cache. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `size` is taken before the sync starts: bytes written while it runs are not covered. */
static void record(int fd, long long size) {
    const char *log = getenv("SWIFTLET_SYNC_LOG");
    if (!log || size < 0) return;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = 0;
    char line[4200];
    int len = snprintf(line, sizeof line, "%s %lld\n", path, size);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) return;
    if (write(out, line, len) != len) { /* the test then sees no record: stricter, not looser */ }
    close(out);
}

static long long size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    long long size = size_of(fd);
    int r = real(fd);
    if (r == 0) record(fd, size);
    return r;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    long long size = size_of(fd);
    int r = real(fd);
    if (r == 0) record(fd, size);
    return r;
}
