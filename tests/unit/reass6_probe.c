/* lwIP's IPv6 reassembly counters (reass6_probe.h). */
#include "lwip/memp.h"
#include "lwip/stats.h"

#include "reass6_probe.h"

void reass6_counts(struct reass6_counts *c)
{
	const struct stats_mem *m = lwip_stats.memp[MEMP_IP6_REASSDATA];

	c->memerr = lwip_stats.ip6_frag.memerr;
	c->used = m->used;
	c->pool_size = m->avail;
	c->pool_err = m->err;
}
