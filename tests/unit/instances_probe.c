/* The lwIP side of test_lwip_instances.c (instances_probe.h). */
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"

#include "instances_probe.h"
#include "lwip_listen.h"

/* Sent ahead of what came back, at most: the echo side's send buffer never fills. */
#define IN_FLIGHT_MAX (64 * 1024)

static uint8_t pattern_byte(uint32_t i, uint8_t seed)
{
	return (uint8_t)(i * 7 + (i >> 11) + seed);
}

/* --- the echo server: whatever arrives goes back ---------------------------------------- */

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	if (p == NULL) {
		tcp_recv(pcb, NULL);
		return tcp_close(pcb);
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	}
	/* The client keeps at most IN_FLIGHT_MAX unechoed, less than the send buffer: a
	 * refusal here is a failure, and the reset it causes fails the client. */
	for (struct pbuf *q = p; q != NULL; q = q->next)
		if (tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK) {
			pbuf_free(p);
			tcp_abort(pcb);
			return ERR_ABRT;
		}
	tcp_output(pcb);
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	unsigned *accepted = arg;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	if (accepted != NULL)
		(*accepted)++;
	tcp_recv(pcb, echo_recv);
	return ERR_OK;
}

bool probe_echo_listen(uint16_t port, unsigned *accepted)
{
	return lwip_listen(IPADDR_TYPE_V4, port, 0, echo_accept, accepted) != NULL;
}

/* --- the client: a pattern out, the same pattern back ------------------------------------ */

static void client_fail(struct echo_client *c, const char *why)
{
	if (!c->failed) {
		c->failed = true;
		c->failure = why;
	}
}

static void client_send(struct echo_client *c)
{
	struct tcp_pcb *pcb = c->pcb;
	uint8_t chunk[1024];

	while (c->sent < c->len && c->sent - c->echoed < IN_FLIGHT_MAX &&
	       tcp_sndbuf(pcb) >= sizeof(chunk)) {
		uint32_t n = c->len - c->sent < sizeof(chunk) ? c->len - c->sent : sizeof(chunk);

		for (uint32_t i = 0; i < n; i++)
			chunk[i] = pattern_byte(c->sent + i, c->seed);
		if (tcp_write(pcb, chunk, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		c->sent += n;
	}
	tcp_output(pcb);
}

static err_t client_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct echo_client *c = arg;

	(void)err;
	if (p == NULL) {
		if (c->echoed < c->len)
			client_fail(c, "the echo server closed before everything came back");
		return ERR_OK;
	}
	for (struct pbuf *q = p; q != NULL; q = q->next)
		for (u16_t i = 0; i < q->len; i++)
			if (((uint8_t *)q->payload)[i] != pattern_byte(c->echoed + i, c->seed))
				c->mismatches++;
	c->echoed += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	client_send(c);
	return ERR_OK;
}

static err_t client_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	client_send(arg);
	return ERR_OK;
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)pcb;
	if (err != ERR_OK) {
		client_fail(arg, "connect failed");
		return err;
	}
	client_send(arg);
	return ERR_OK;
}

static void client_err(void *arg, err_t err)
{
	struct echo_client *c = arg;

	(void)err;
	c->pcb = NULL;   /* lwIP has freed it */
	client_fail(c, "the connection was reset or aborted");
}

bool probe_client_start(struct echo_client *c, uint32_t peer_ip, uint16_t port)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	ip_addr_t peer;

	if (pcb == NULL)
		return false;
	IP_SET_TYPE_VAL(peer, IPADDR_TYPE_V4);
	ip4_addr_set_u32(ip_2_ip4(&peer), peer_ip);
	c->pcb = pcb;
	tcp_arg(pcb, c);
	tcp_recv(pcb, client_recv);
	tcp_sent(pcb, client_sent);
	tcp_err(pcb, client_err);
	if (tcp_connect(pcb, &peer, port, client_connected) != ERR_OK)
		return false;
	c->local_port = pcb->local_port;
	return true;
}

bool probe_client_done(const struct echo_client *c)
{
	return c->failed || c->echoed >= c->len;
}

void probe_client_close(struct echo_client *c)
{
	struct tcp_pcb *pcb = c->pcb;

	if (pcb == NULL)
		return;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
	c->pcb = NULL;
}

/* --- what this instance holds ------------------------------------------------------------- */

void probe_note_peak(struct echo_client *c)
{
	unsigned active = 0, used = probe_pcbs_in_pool();

	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next)
		active++;
	if (active > c->active_at_peak)
		c->active_at_peak = active;
	if (used > c->pcbs_used_at_peak)
		c->pcbs_used_at_peak = used;
}

unsigned probe_pcbs_in_pool(void)
{
	return lwip_stats.memp[MEMP_TCP_PCB]->used;
}

unsigned probe_netifs(uint32_t own_ip, unsigned *own)
{
	unsigned n = 0;

	*own = 0;
	for (struct netif *i = netif_list; i != NULL; i = i->next) {
		n++;
		if (ip4_addr_get_u32(netif_ip4_addr(i)) == own_ip)
			(*own)++;
	}
	return n;
}

bool probe_no_pools(void)
{
	return memp_pools[MEMP_TCP_PCB] == NULL && memp_pools[MEMP_PBUF_POOL] == NULL;
}

bool probe_no_netifs(void)
{
	return netif_list == NULL;
}
