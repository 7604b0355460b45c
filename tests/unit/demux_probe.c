/* Raw-lwIP listeners and binds for the demultiplexing tests (demux_probe.h). */
#include <stdlib.h>

#include "lwip/ip_addr.h"
#include "lwip/tcp.h"

#include "demux_probe.h"

#define MAX_LISTENERS 16
#define MAX_TAGS 16

static struct tcp_pcb *listeners[MAX_LISTENERS];
static unsigned accepted[MAX_TAGS];
static uint32_t bytes_from[65536];
static struct tcp_pcb *accepted_from[65536];
static struct tcp_pcb **bound;
static unsigned n_bound;

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg, (void)err;
	if (p == NULL) {
		accepted_from[pcb->remote_port] = NULL;
		tcp_arg(pcb, NULL);   /* nobody holds it now: TIME_WAIT may be reused */
		tcp_recv(pcb, NULL);
		return tcp_close(pcb);
	}
	bytes_from[pcb->remote_port] += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

/* The pcb is gone (a RST, an abort); its argument says whose it was. */
static void on_err(void *arg, err_t err)
{
	(void)err;
	if (arg != NULL)
		accepted_from[(uintptr_t)arg - 1] = NULL;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	uintptr_t v = (uintptr_t)arg;
	int tag = (int)(v >> 1);

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	accepted[tag]++;
	if (v & 1) {
		tcp_arg(pcb, NULL);
		return tcp_close(pcb);
	}
	tcp_arg(pcb, (void *)((uintptr_t)pcb->remote_port + 1));
	tcp_recv(pcb, on_recv);
	tcp_err(pcb, on_err);
	accepted_from[pcb->remote_port] = pcb;
	return ERR_OK;
}

int probe_listen(uint16_t port, enum probe_family family, bool specific, bool reuse, int tag,
		 bool close_at_once)
{
	static const u8_t types[] = { IPADDR_TYPE_V4, IPADDR_TYPE_V6, IPADDR_TYPE_ANY };
	ip_addr_t addr;
	struct tcp_pcb *pcb, *l;
	int slot;

	for (slot = 0; slot < MAX_LISTENERS && listeners[slot] != NULL; slot++)
		;
	if (slot == MAX_LISTENERS || tag < 0 || tag >= MAX_TAGS)
		return -1;
	pcb = tcp_new_ip_type(types[family]);
	if (pcb == NULL)
		return -1;
	if (reuse)
		ip_set_option(pcb, SOF_REUSEADDR);
	if (specific)
		IP_ADDR4(&addr, 198, 18, 0, 2);
	else if (family == PROBE_V6)
		ip_addr_copy(addr, *IP6_ADDR_ANY);
	else if (family == PROBE_ANY_FAMILY)
		ip_addr_copy(addr, *IP_ANY_TYPE);
	else
		ip_addr_set_zero_ip4(&addr);
	if (tcp_bind(pcb, &addr, port) != ERR_OK) {
		tcp_close(pcb);
		return -1;
	}
	l = tcp_listen(pcb);
	if (l == NULL) {
		tcp_close(pcb);
		return -1;
	}
	tcp_arg(l, (void *)(((uintptr_t)tag << 1) | (close_at_once ? 1 : 0)));
	tcp_accept(l, on_accept);
	listeners[slot] = l;
	return slot;
}

void probe_listen_close(int listener)
{
	if (listener >= 0 && listener < MAX_LISTENERS && listeners[listener] != NULL) {
		tcp_close(listeners[listener]);
		listeners[listener] = NULL;
	}
}

unsigned probe_accepted(int tag)
{
	return tag >= 0 && tag < MAX_TAGS ? accepted[tag] : 0;
}

uint32_t probe_bytes_from(uint16_t peer_port)
{
	return bytes_from[peer_port];
}

bool probe_keepalive(uint16_t peer_port, uint32_t idle_ms)
{
	struct tcp_pcb *pcb = accepted_from[peer_port];

	if (pcb == NULL)
		return false;
	ip_set_option(pcb, SOF_KEEPALIVE);
	pcb->keep_idle = idle_ms;
	pcb->keep_intvl = idle_ms;
	tcp_timers_on(pcb);
	return true;
}

unsigned probe_bind_ephemeral(unsigned max, int *next_err, bool *distinct)
{
	static uint8_t seen[65536];
	struct tcp_pcb *pcb;

	bound = calloc(max + 1, sizeof(*bound));
	*distinct = true;
	*next_err = ERR_OK;
	for (n_bound = 0; bound != NULL && n_bound <= max; n_bound++) {
		err_t err;

		pcb = tcp_new();
		if (pcb == NULL) {
			*next_err = ERR_MEM;
			break;
		}
		err = tcp_bind(pcb, IP4_ADDR_ANY, 0);
		if (err != ERR_OK) {
			*next_err = err;
			tcp_close(pcb);
			break;
		}
		if (seen[pcb->local_port]++)
			*distinct = false;
		bound[n_bound] = pcb;
	}
	return n_bound;
}

uint16_t probe_rebind_one(uint16_t *freed)
{
	struct tcp_pcb *pcb;

	*freed = 0;
	if (n_bound == 0)
		return 0;
	*freed = bound[0]->local_port;
	tcp_close(bound[0]);
	pcb = tcp_new();
	if (pcb == NULL || tcp_bind(pcb, IP4_ADDR_ANY, 0) != ERR_OK) {
		bound[0] = NULL;
		if (pcb != NULL)
			tcp_close(pcb);
		return 0;
	}
	bound[0] = pcb;
	return pcb->local_port;
}

void probe_release_bound(void)
{
	for (unsigned i = 0; i < n_bound; i++)
		if (bound[i] != NULL)
			tcp_close(bound[i]);
	free(bound);
	bound = NULL;
	n_bound = 0;
}

static struct tcp_pcb *connecting;

int probe_connect(uint16_t port)
{
	ip_addr_t addr;

	IP_ADDR4(&addr, 198, 18, 0, 1);
	connecting = tcp_new();
	if (connecting == NULL)
		return -1;
	if (tcp_connect(connecting, &addr, port, NULL) != ERR_OK) {
		tcp_abort(connecting);
		connecting = NULL;
		return -1;
	}
	return 0;
}

void probe_connect_abort(void)
{
	if (connecting != NULL)
		tcp_abort(connecting);
	connecting = NULL;
}
