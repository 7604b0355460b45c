/* See counters_internal.h. Threads take a block from a fixed table on their first count and
 * keep it for good (its counts must outlive the thread); past the table's size they share one
 * block, with atomic adds. */
#include "client_internal.h"
#include "counters_internal.h"
#include "dpwsk.h"

#define THREAD_BLOCKS 1024

struct dpw_provider_counters dpw_counters;
static struct dpw_thread_counters blocks[THREAD_BLOCKS + 1];   /* the last: shared */
static atomic_uint blocks_used;
static __thread struct dpw_thread_counters *mine;

struct dpw_thread_counters *dpw_thread_counters_get(void)
{
	unsigned i;

	if (mine != NULL)
		return mine;
	i = atomic_fetch_add_explicit(&blocks_used, 1, memory_order_relaxed);
	if (i >= THREAD_BLOCKS) {
		i = THREAD_BLOCKS;
		atomic_store_explicit(&blocks[i].shared, 1, memory_order_relaxed);
	}
	mine = &blocks[i];
	return mine;
}

uint64_t dpw_count_sum(enum dpw_hot_counter c)
{
	unsigned n = atomic_load_explicit(&blocks_used, memory_order_relaxed);
	uint64_t sum = 0;

	if (n > THREAD_BLOCKS)
		n = THREAD_BLOCKS;
	for (unsigned i = 0; i < n; i++)
		sum += atomic_load_explicit(&blocks[i].v[c], memory_order_relaxed);
	return sum + atomic_load_explicit(&blocks[THREAD_BLOCKS].v[c], memory_order_relaxed);
}

VOID DpwGetProviderStats(PDPW_PROVIDER_STATS s)
{
	if (s == NULL)
		return;
	s->Requests = dpw_count_sum(DPW_C_REQUESTS);
	s->InlineRequests = dpw_count_sum(DPW_C_INLINE_REQUESTS);
	s->RingFull = atomic_load(&dpw_counters.ring_full);
	s->Completions = dpw_count_sum(DPW_C_COMPLETIONS);
	s->CompletionSpills = atomic_load(&dpw_counters.spills);
	s->InvalidHandles = atomic_load(&dpw_counters.invalid_handles);
	s->ConcurrentClose = atomic_load(&dpw_counters.concurrent_close);
	{
		/* Freed first: a socket counted freed was counted made before it. */
		uint64_t freed = dpw_count_sum(DPW_C_SOCKETS_FREED);
		uint64_t made = dpw_count_sum(DPW_C_SOCKETS_MADE);

		s->SocketsOpen = (ULONG)(made > freed ? made - freed : 0);
	}
	s->ClientsRegistered = dpw_clients_live();
	s->UnreleasedAtDeregister = atomic_load(&dpw_counters.unreleased_at_deregister);
	s->HeapRequests = atomic_load(&dpw_counters.heap_requests);
	s->HeapIndications = atomic_load(&dpw_counters.heap_indications);
	s->BadTransitions = atomic_load(&dpw_counters.bad_transitions);
	s->ListenersSpread = atomic_load(&dpw_counters.listeners_spread);
	s->ListenersNotSpread = atomic_load(&dpw_counters.listeners_not_spread);
	s->AcceptsHandedOver = atomic_load(&dpw_counters.accepts_handed_over);
	s->SocketsMoved = atomic_load(&dpw_counters.sockets_moved);
	s->RequestsHandedOn = atomic_load(&dpw_counters.requests_handed_on);
}
