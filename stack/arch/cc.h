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

/* The assertion policy (README, "Hardening").
 * LWIP_ASSERT states an invariant of lwIP's own memory; the code after it goes on as if it
 * held, so continuing past a failed one turns a crash into memory corruption. It stays fatal:
 * report where, then abort. No input from the wire may reach one: each that fuzzing or a
 * test reaches is made unreachable by a patch that rejects the input before it (the remote
 * crash "insane offset!" was one: lwip-0002), with a regression test.
 * LWIP_ERROR is different: a checked condition with lwIP's own way out (return ERR_ARG, drop
 * the packet). lwIP's default turns it into an assertion too; here it is counted (the
 * engine's lwip_errors), reported the first times, and lwIP's way out is taken. */
void dpw_lwip_assert(const char *msg, int line, const char *file);
#define LWIP_PLATFORM_ASSERT(x) dpw_lwip_assert((x), __LINE__, __FILE__)
void dpw_lwip_error(const char *msg, int line, const char *file);
#define LWIP_ERROR(message, expression, handler)                                   \
	do {                                                                       \
		if (!(expression)) {                                               \
			dpw_lwip_error((message), __LINE__, __FILE__);             \
			handler;                                                   \
		}                                                                  \
	} while (0)
#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)

/* Byte order: the compiler's swap, inline, where lwIP's default is a call into def.c on every
 * header field it reads or writes (lwip_htons alone was 1.4 % of a WSK server's instructions
 * per connection, counted by dpwsk-pathlen). Both targets are little endian. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define lwip_htons(x) __builtin_bswap16((uint16_t)(x))
#define lwip_htonl(x) __builtin_bswap32((uint32_t)(x))
#endif

#endif /* DPW_ARCH_CC_H */
