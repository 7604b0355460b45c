/* lwIP architecture port for dpwsk: Linux userspace, glibc, x86-64/arm64 little endian. */
#ifndef DPW_ARCH_CC_H
#define DPW_ARCH_CC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>   /* struct timeval, so lwIP does not define its own */

#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_ERRNO_STDINCLUDE 1   /* errno values from <errno.h> */
#define LWIP_NO_CTYPE_H 0

/* Random numbers (ISNs, initial ephemeral port) from DPDK's per-lcore generator. */
uint32_t dpw_lwip_rand(void);
#define LWIP_RAND() dpw_lwip_rand()

/* An lwIP assertion is a bug in us or in lwIP: report where, then abort so that tests fail. */
void dpw_lwip_assert(const char *msg, int line, const char *file);
#define LWIP_PLATFORM_ASSERT(x) dpw_lwip_assert((x), __LINE__, __FILE__)
#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)

#endif /* DPW_ARCH_CC_H */
