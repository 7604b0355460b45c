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

/* On the first member of a struct kept in an array indexed by lcore: each element starts a
 * cache line of its own, so that no line holds two lcores' state, where one lcore's write
 * would take the line from the other (false sharing, issue 15). bench/sharing's sharegrind
 * lists such lines. */
#define DPW_LCORE_ALIGNED _Alignas(64)

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

/* This thread's answer to dpw_self_lcore, and the epoch it was found in (0: none yet). It is
 * asked on every call and every socket made and freed (about 37 times per connection a WSK
 * server takes), so the answer is kept, and the question is inline: a scan of the lcores
 * each time would read every lcore's line, and a call costs more than the answer. */
struct dpw_self_lcore_cache {
	unsigned epoch;
	int lcore;
};
/* Hidden and initial-exec: in libdpwsk.so too, a read at a fixed offset from the thread
 * pointer, where the default model would call __tls_get_addr at every question. */
extern __thread struct dpw_self_lcore_cache dpw_self_lcore_cache
	__attribute__((visibility("hidden"), tls_model("initial-exec")));
/* Finds the calling thread among the lcores and keeps the answer for this epoch. */
int dpw_self_lcore_find(unsigned epoch);

/* The lcore the calling thread polls, or -1 on any other thread. */
static inline int dpw_self_lcore(void)
{
	/* The epoch first: a change made during a scan bumps it after, and the next call scans
	 * again. */
	unsigned epoch = atomic_load_explicit(&dpw_provider.epoch, memory_order_acquire) + 1;

	if (dpw_self_lcore_cache.epoch == epoch)
		return dpw_self_lcore_cache.lcore;
	return dpw_self_lcore_find(epoch);
}
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
