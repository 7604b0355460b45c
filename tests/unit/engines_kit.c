/* engines_kit.h */
#include <time.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpw/engine.h"
#include "engines_kit.h"

double kit_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool kit_all_reached(atomic_uint *step, unsigned threads, struct dpw_engine *e,
		     double deadline_s)
{
	double deadline = kit_now_s() + deadline_s;

	atomic_fetch_add(step, 1);
	while (atomic_load(step) < threads) {
		if (kit_now_s() > deadline)
			return false;
		if (e != NULL)
			dpw_engine_poll(e);
	}
	return true;
}

void kit_move_all(struct rte_ring *from, struct rte_ring *to)
{
	void *m[32];
	unsigned n, sent;

	while ((n = rte_ring_dequeue_burst(from, m, 32, NULL)) > 0) {
		sent = to != NULL ? rte_ring_enqueue_burst(to, m, n, NULL) : 0;
		for (unsigned i = sent; i < n; i++)
			rte_pktmbuf_free(m[i]);
	}
}
