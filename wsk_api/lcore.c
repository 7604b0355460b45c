/* See lcore_internal.h. */
#include "lcore_internal.h"

struct dpw_provider dpw_provider;

__thread struct dpw_self_lcore_cache dpw_self_lcore_cache;

void dpw_lcores_changed(void)
{
	atomic_fetch_add_explicit(&dpw_provider.epoch, 1, memory_order_release);
}

int dpw_self_lcore_find(unsigned epoch)
{
	unsigned n = dpw_lcore_count();
	pthread_t me = pthread_self();
	int found = -1;

	for (unsigned i = 0; i < n && found < 0; i++) {
		const struct dpw_lcore *l = &dpw_provider.lcores[i];

		if (atomic_load_explicit(&l->known, memory_order_acquire) &&
		    pthread_equal(me, l->thread))
			found = (int)i;
	}
	dpw_self_lcore_cache.epoch = epoch;
	dpw_self_lcore_cache.lcore = found;
	return found;
}
