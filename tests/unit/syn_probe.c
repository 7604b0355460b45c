/* Raw-API helpers for the SYN backlog tests (see syn_probe.h). */
#include <stdlib.h>

#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"

#include "lwip_listen.h"
#include "syn_probe.h"

static unsigned accepted;
static struct tcp_pcb **held;
static unsigned n_held;

static err_t keep_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	accepted++;
	return ERR_OK;   /* lwIP's default receive callback takes any data */
}

int syn_probe_listen(uint16_t port, uint16_t backlog)
{
	return lwip_listen(IPADDR_TYPE_ANY, port, backlog, keep_accept, NULL) != NULL ? 0 : -1;
}

unsigned syn_probe_accepted(void)
{
	return accepted;
}

int syn_probe_state(uint16_t local_port, uint16_t remote_port)
{
	for (struct tcp_pcb *p = tcp_active_pcbs; p != NULL; p = p->next)
		if (p->local_port == local_port && p->remote_port == remote_port)
			return (int)p->state;
	return -1;
}

unsigned syn_probe_fill_pool(unsigned leave_free)
{
	const struct stats_mem *m = lwip_stats.memp[MEMP_TCP_PCB];
	unsigned want = (unsigned)(m->avail - m->used) - leave_free;

	held = calloc(want, sizeof(*held));
	if (held == NULL)
		return 0;
	while (n_held < want && (held[n_held] = tcp_new()) != NULL)
		n_held++;
	return n_held;
}

void syn_probe_release(void)
{
	for (unsigned i = 0; i < n_held; i++)
		tcp_close(held[i]);   /* an unbound pcb: freed at once */
	free(held);
	held = NULL;
	n_held = 0;
}
