/* See lcore_internal.h. */
#include "lcore_internal.h"

struct dpw_provider dpw_provider;

int dpw_self_lcore(void)
{
	unsigned n = dpw_lcore_count();
	pthread_t me = pthread_self();

	for (unsigned i = 0; i < n; i++) {
		const struct dpw_lcore *l = &dpw_provider.lcores[i];

		if (atomic_load_explicit(&l->known, memory_order_acquire) &&
		    pthread_equal(me, l->thread))
			return (int)i;
	}
	return -1;
}
