#include "swiftlet_support.h"
#include <stdio.h>

#ifdef __linux__
#include <malloc.h>
#endif

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
size_t swiftlet_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}
#else
size_t swiftlet_heap_in_use(void) { return 0; }
#endif

/// MEMORY PURGE: hands free heap pages back to the kernel.
void swiftlet_release_free_memory(void) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/// MEMORY MALLOC-STATS: glibc's own summary, one "name:value" line per field.
size_t swiftlet_malloc_stats(char *out, size_t size) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 m = mallinfo2();
    int n = snprintf(out, size,
                     "allocator:glibc\r\narena:%zu\r\nordblks:%zu\r\nhblks:%zu\r\nhblkhd:%zu\r\n"
                     "uordblks:%zu\r\nfordblks:%zu\r\nkeepcost:%zu\r\nin_use:%zu\r\n",
                     m.arena, m.ordblks, m.hblks, m.hblkhd, m.uordblks, m.fordblks, m.keepcost,
                     m.uordblks + m.hblkhd);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
#else
    return 0;
#endif
}

__thread void *swiftlet_thread_statistics_block = NULL;
