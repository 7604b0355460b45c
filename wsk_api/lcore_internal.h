/* The provider's lcores: the threads that poll its engines, one each, and which of them the
 * calling thread is. The lowest layer of the provider: it knows nothing of requests, sockets
 * or clients, and everything above asks it "am I an lcore, and which?" (lcore.c holds the
 * state; provider.c attaches engines to it). */
#ifndef DPWSK_LCORE_INTERNAL_H
#define DPWSK_LCORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct dpw_engine;
struct rte_ring;

/* The most engines (lcores) one provider drives. */
#define DPW_MAX_LCORES 16

/* One engine the provider drives, polled by one thread: its lcore. With several (the
 * per-thread build, several engines on one port), every socket belongs to one lcore (its
 * owner), runs there and completes from there, so a socket's completions keep their order. */
struct dpw_lcore {
	struct dpw_engine *engine;
	struct rte_ring *requests;        /* MPSC: any thread -> this lcore */
	pthread_t thread;
	atomic_bool known;                /* thread is set: the lcore has polled once */
};

struct dpw_provider {
	struct dpw_lcore lcores[DPW_MAX_LCORES];
	_Atomic uint16_t nb_lcores;
	atomic_uint next_owner;           /* round robin for sockets made on other threads */
	atomic_bool attached;
	/* Bumped after any change to which thread is which lcore (dpw_lcores_changed): each
	 * thread keeps its answer to dpw_self_lcore until then. */
	atomic_uint epoch;
};
extern struct dpw_provider dpw_provider;

/* The lcore the calling thread polls, or -1 on any other thread. */
int dpw_self_lcore(void);
/* After an lcore's thread became known, or lcores were attached or detached. */
void dpw_lcores_changed(void);
/* True on a thread that polls one of the provider's engines: calls made there on its own
 * sockets run inline, and its completions are held and posted in batches. */
static inline bool dpw_on_lcore(void)
{
	return dpw_self_lcore() >= 0;
}
/* For state each lcore keeps for itself (caches, lists): this lcore's index; 0 off the lcores
 * (teardown after the loops stopped, a provider embedded on the caller's thread). */
static inline unsigned dpw_lcore_here(void)
{
	int me = dpw_self_lcore();

	return me < 0 ? 0 : (unsigned)me;
}
/* The engine this lcore polls (lcore 0's off the lcores, as dpw_lcore_here). */
static inline struct dpw_engine *dpw_engine_here(void)
{
	return dpw_provider.lcores[dpw_lcore_here()].engine;
}
/* How many lcores the provider drives (0 while detached). */
static inline unsigned dpw_lcore_count(void)
{
	return atomic_load_explicit(&dpw_provider.nb_lcores, memory_order_acquire);
}

#endif /* DPWSK_LCORE_INTERNAL_H */
