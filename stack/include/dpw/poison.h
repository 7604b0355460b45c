/* Objects kept for reuse (lwIP's heap blocks, the provider's requests and indications) are
 * poisoned under ASan while they wait, so that a use after free, after completion or after
 * WskRelease still trips it. */
#ifndef DPW_POISON_H
#define DPW_POISON_H

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DPW_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define DPW_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define DPW_POISON(p, n)   ((void)(p), (void)(n))
#define DPW_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif /* DPW_POISON_H */
