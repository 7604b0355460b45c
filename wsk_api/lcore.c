/* See lcore_internal.h. */
#include "lcore_internal.h"

struct dpw_provider dpw_provider;

/* This thread's answer, and the epoch it was found in (0: none yet). Asked on every socket
 * made and freed, every call: a scan of the lcores each time would read every lcore's line. */
static __thread struct {
	unsigned epoch;
	int lcore;
} self;

void dpw_lcores_changed(void)
{
	atomic_fetch_add_explicit(&dpw_provider.epoch, 1, memory_order_release);
}

int dpw_self_lcore(void)
{
	/* The epoch first: a change made during the scan below bumps it after, and the next
	 * call scans again. */
	unsigned epoch = atomic_load_explicit(&dpw_provider.epoch, memory_order_acquire) + 1;
	unsigned n;
	pthread_t me;
	int found = -1;

	if (self.epoch == epoch)
		return self.lcore;
	n = dpw_lcore_count();
	me = pthread_self();
	for (unsigned i = 0; i < n && found < 0; i++) {
		const struct dpw_lcore *l = &dpw_provider.lcores[i];

		if (atomic_load_explicit(&l->known, memory_order_acquire) &&
		    pthread_equal(me, l->thread))
			found = (int)i;
	}
	self.epoch = epoch;
	self.lcore = found;
	return found;
}
