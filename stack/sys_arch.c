/* lwIP's NO_SYS port: the clock (TSC), random numbers and assertions. */
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_random.h>

#include "lwip/sys.h"
#include "engine_internal.h"

static uint64_t tsc_per_ms;

void dpw_sys_init(void)
{
	tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (tsc_per_ms == 0)
		tsc_per_ms = 1;
}

/* lwIP's timers (retransmission, delayed ACK, TIME_WAIT) run off this millisecond clock.
 * The TSC is invariant on the CPUs DPDK supports, and reading it costs no syscall. */
u32_t sys_now(void)
{
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
