/* lwIP's NO_SYS port: the clock (TSC), random numbers, assertions and checked errors
 * (the policy is in arch/cc.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_jhash.h>
#include <rte_random.h>

#include "lwip/sys.h"
#include "dpw/test_hooks.h"
#include "dpw_lwip_hooks.h"
#include "engine_internal.h"

static uint64_t tsc_per_ms, tsc_per_4us;
static uint32_t isn_secret[2];
/* Test hooks (dpw/test_hooks.h): NULL / false in every program. A test may hand over the
 * clock while engines run, so the pointer and the clock it points to are read atomically
 * (relaxed and acquire loads are plain loads on x86). */
static const uint32_t *test_clock_ms;
static bool test_isn_fixed;
static uint32_t test_isn;

void dpw_test_set_clock(const uint32_t *now_ms)
{
	__atomic_store_n(&test_clock_ms, now_ms, __ATOMIC_RELEASE);
}

void dpw_test_set_fixed_isn(uint32_t isn)
{
	test_isn = isn;
	test_isn_fixed = true;
}

void dpw_sys_init(void)
{
	tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (tsc_per_ms == 0)
		tsc_per_ms = 1;
	tsc_per_4us = rte_get_tsc_hz() / 250000;
	if (tsc_per_4us == 0)
		tsc_per_4us = 1;
	isn_secret[0] = (uint32_t)rte_rand();
	isn_secret[1] = (uint32_t)rte_rand();
}

u32_t dpw_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
		  u16_t remote_port)
{
	uint32_t clock = (uint32_t)(rte_get_tsc_cycles() / tsc_per_4us);
	uint32_t ports = ((uint32_t)local_port << 16) | remote_port;

	if (unlikely(test_isn_fixed))
		return test_isn;
	if (IP_IS_V6(local_ip)) {
		uint32_t words[9];

		memcpy(words, ip_2_ip6(local_ip)->addr, 16);
		memcpy(words + 4, ip_2_ip6(remote_ip)->addr, 16);
		words[8] = ports ^ isn_secret[1];
		return clock + rte_jhash_32b(words, 9, isn_secret[0]);
	}
	return clock + rte_jhash_3words(ip4_addr_get_u32(ip_2_ip4(local_ip)),
					ip4_addr_get_u32(ip_2_ip4(remote_ip)),
					ports ^ isn_secret[1], isn_secret[0]);
}

/* lwIP's timers (retransmission, delayed ACK, TIME_WAIT) run off this millisecond clock.
 * The TSC is invariant on the CPUs DPDK supports, and reading it costs no syscall. */
u32_t sys_now(void)
{
	const uint32_t *test_clock = __atomic_load_n(&test_clock_ms, __ATOMIC_ACQUIRE);

	if (unlikely(test_clock != NULL))
		return __atomic_load_n(test_clock, __ATOMIC_RELAXED);
	return (u32_t)(rte_get_tsc_cycles() / tsc_per_ms);
}

uint32_t dpw_lwip_rand(void)
{
	return (uint32_t)rte_rand();
}

void dpw_lwip_assert(const char *msg, int line, const char *file)
{
	fprintf(stderr, "dpwsk: lwIP assertion \"%s\" failed at %s:%d\n", msg, file, line);
	fflush(stderr);
	abort();
}

/* Written on the polling thread only (lwIP runs nowhere else); read there by the stats. */
static LWIP_PER_INSTANCE uint64_t lwip_errors;

void dpw_lwip_error(const char *msg, int line, const char *file)
{
	/* The first few say where; after that the counter says how often. */
	if (lwip_errors++ < 10)
		fprintf(stderr, "dpwsk: lwIP error \"%s\" at %s:%d (recovered)\n", msg, file,
			line);
}

uint64_t dpw_lwip_errors(void)
{
	return lwip_errors;
}
