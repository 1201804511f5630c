#ifndef SWIFTLET_SUPPORT_H
#define SWIFTLET_SUPPORT_H

#include <stddef.h>

/// Bytes currently handed out by the C allocator (glibc mallinfo2: arena in use + mmapped
/// blocks). Swift's Glibc module does not export <malloc.h>, hence this shim.
/// Slow on a large fragmented heap (it walks every free chunk, arenas locked): for start-up and
/// tests, never on a command's path.
size_t swiftlet_heap_in_use(void);

/// glibc malloc_trim(0): returns free pages to the kernel (MEMORY PURGE).
void swiftlet_release_free_memory(void);

/// glibc's mallinfo2 as text into `out` (MEMORY MALLOC-STATS); returns the length written, 0
/// when the C library has no such summary. As slow as `swiftlet_heap_in_use`.
size_t swiftlet_malloc_stats(char *out, size_t size);

/// The calling thread's block of command statistics (Commands/CommandStatistics.swift): each
/// thread that runs commands counts into a block of its own, so counting needs no atomic
/// read-modify-write and no lock. A C thread-local because Swift has none; read on every
/// command, hence inline.
extern __thread void *swiftlet_thread_statistics_block;

static inline void *swiftlet_thread_statistics(void) { return swiftlet_thread_statistics_block; }
static inline void swiftlet_set_thread_statistics(void *block) { swiftlet_thread_statistics_block = block; }

#endif
