/* The provider's counters (DpwGetProviderStats, telemetry). The ones every call or completion
 * touches are kept per thread, each thread writing only its own cache line, and summed when
 * read: a shared counter written by every application thread and the lcore would be one
 * contended line on the hot path. The rare ones stay shared atomics. (counters.c) */
#ifndef DPWSK_COUNTERS_INTERNAL_H
#define DPWSK_COUNTERS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

enum dpw_hot_counter {
	DPW_C_REQUESTS,          /* calls that went through the request ring */
	DPW_C_INLINE_REQUESTS,   /* calls run at once on the lcore */
	DPW_C_COMPLETIONS,       /* IRPs posted to completion rings */
	DPW_C_SOCKETS_MADE,      /* socket slots taken, and given back: SocketsOpen's two */
	DPW_C_SOCKETS_FREED,
	DPW_C_HOT
};

/* This thread's block: written by it alone, read by anyone. */
struct dpw_thread_counters {
	_Alignas(64) _Atomic uint64_t v[DPW_C_HOT];
	_Atomic int shared;   /* the overflow block, for threads past the table's size */
};

struct dpw_thread_counters *dpw_thread_counters_get(void);

static inline void dpw_count(enum dpw_hot_counter c, uint64_t n)
{
	struct dpw_thread_counters *t = dpw_thread_counters_get();

	if (atomic_load_explicit(&t->shared, memory_order_relaxed))
		atomic_fetch_add_explicit(&t->v[c], n, memory_order_relaxed);
	else   /* one writer: no locked instruction needed */
		atomic_store_explicit(&t->v[c],
				      atomic_load_explicit(&t->v[c], memory_order_relaxed) + n,
				      memory_order_relaxed);
}

/* The sum over every thread that ever counted. */
uint64_t dpw_count_sum(enum dpw_hot_counter c);

extern struct dpw_provider_counters {
	atomic_ullong ring_full, spills, invalid_handles, concurrent_close,
		unreleased_at_deregister, heap_requests, heap_indications, bad_transitions,
		listeners_spread, listeners_not_spread, accepts_handed_over, sockets_moved,
		requests_handed_on;
} dpw_counters;

#endif /* DPWSK_COUNTERS_INTERNAL_H */
