#ifndef SWIFTLET_SUPPORT_H
#define SWIFTLET_SUPPORT_H

#include <stddef.h>

/// Bytes currently handed out by the C allocator (glibc mallinfo2: arena in use + mmapped
/// blocks). Swift's Glibc module does not export <malloc.h>, hence this shim.
size_t swiftlet_heap_in_use(void);

#endif
