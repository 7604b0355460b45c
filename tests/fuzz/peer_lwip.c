/* The fuzzed engine's applications and the reset between inputs (see peer_lwip.h). */
#include <stdbool.h>

#include "lwip/etharp.h"
#include "lwip/memp.h"
#include "lwip/nd6.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "lwip_listen.h"
#include "lwip_reset.h"
#include "peer_lwip.h"

#define HELD_DATAGRAMS 4

_Static_assert(sizeof(struct pbuf_custom) <= FUZZ_RX_PRIV, "FUZZ_RX_PRIV too small");

static struct pbuf *held[HELD_DATAGRAMS];
static unsigned held_next;
static struct tcp_pcb *client;

/* Echo what fits in the send buffer; the rest is dropped (acknowledged all the same), so
 * a peer that never reads cannot make us hold unbounded data. */
static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (p == NULL) {
		if (tcp_close(pcb) != ERR_OK) {
			tcp_abort(pcb);
			return ERR_ABRT;
		}
		return ERR_OK;
	}
	for (struct pbuf *q = p; q != NULL; q = q->next) {
		u16_t n = LWIP_MIN(q->len, tcp_sndbuf(pcb));

		if (n == 0 || tcp_write(pcb, q->payload, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

/* ERR_MEM refuses the data: lwIP keeps it and offers it again from its timer, so the
 * received mbufs stay lwIP's until the connection goes, like an indication retained. */
static err_t hold_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)pcb;
	(void)err;
	return p == NULL ? ERR_OK : ERR_MEM;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	tcp_recv(pcb, echo_recv);
	return ERR_OK;
}

static err_t hold_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	tcp_recv(pcb, hold_recv);
	return ERR_OK;
}

static void udp_echo(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		     u16_t port)
{
	(void)arg;
	udp_sendto(pcb, p, addr, port);
	pbuf_free(p);
}

static void udp_hold(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		     u16_t port)
{
	(void)arg;
	(void)pcb;
	(void)addr;
	(void)port;
	if (held[held_next] != NULL)
		pbuf_free(held[held_next]);
	held[held_next] = p;
	held_next = (held_next + 1) % HELD_DATAGRAMS;
}

static int listen_on(u16_t port, tcp_accept_fn accept)
{
	return lwip_listen(IPADDR_TYPE_ANY, port, 0, accept, NULL) != NULL ? 0 : -1;
}

static int udp_on(u16_t port, udp_recv_fn recv)
{
	struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_ANY);

	if (pcb == NULL || udp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK)
		return -1;
	udp_recv(pcb, recv, NULL);
	return 0;
}

int fuzz_apps_start(void)
{
	if (listen_on(FUZZ_TCP_ECHO_PORT, echo_accept) != 0 ||
	    listen_on(FUZZ_TCP_HOLD_PORT, hold_accept) != 0 ||
	    udp_on(FUZZ_UDP_ECHO_PORT, udp_echo) != 0 || udp_on(FUZZ_UDP_HOLD_PORT, udp_hold) != 0)
		return -1;
	return 0;
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	(void)err;
	tcp_recv(pcb, echo_recv);
	return ERR_OK;
}

static void client_error(void *arg, err_t err)
{
	(void)arg;
	(void)err;
	client = NULL;   /* lwIP freed it */
}

void fuzz_apps_open_client(uint32_t peer_ip)
{
	ip_addr_t peer;

	client = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (client == NULL)
		return;
	tcp_err(client, client_error);
	ip_addr_set_ip4_u32_val(peer, peer_ip);
	/* A fixed local port, free again once the previous input's connection was aborted:
	 * lwIP's ephemeral port counter would make every input see another port. */
	if (tcp_bind(client, IP_ANY_TYPE, FUZZ_CLIENT_PORT) != ERR_OK ||
	    tcp_connect(client, &peer, FUZZ_PEER_PORT, client_connected) != ERR_OK) {
		tcp_abort(client);
		client = NULL;
	}
}

void fuzz_apps_reset(void *netif)
{
	client = NULL;   /* aborted below with the rest */
	dpw_lwip_drop_connections();   /* reassembly aged out too */
	for (unsigned i = 0; i < HELD_DATAGRAMS; i++) {
		if (held[i] != NULL)
			pbuf_free(held[i]);
		held[i] = NULL;
	}
	held_next = 0;
	etharp_cleanup_netif(netif);
	nd6_cleanup_netif(netif);
}

/* Pools that must be empty once every connection is gone. */
const char *fuzz_apps_leftover(void)
{
	static const struct {
		memp_t pool;
		u16_t expected;
		const char *what;
	} pools[] = {
		{ MEMP_TCP_PCB, 0, "a TCP pcb" },
		{ MEMP_TCP_PCB_LISTEN, 2, "listeners other than the two" },
		{ MEMP_UDP_PCB, 2, "UDP pcbs other than the two" },
		{ MEMP_TCP_SEG, 0, "a TCP segment" },
		{ MEMP_REASSDATA, 0, "an IPv4 reassembly" },
		{ MEMP_IP6_REASSDATA, 0, "an IPv6 reassembly" },
		{ MEMP_ARP_QUEUE, 0, "a packet waiting for ARP" },
		{ MEMP_ND6_QUEUE, 0, "a packet waiting for Neighbor Discovery" },
	};

	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		if (lwip_stats.memp[pools[i].pool]->used != pools[i].expected)
			return pools[i].what;
	return NULL;
}
