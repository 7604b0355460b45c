/* TIME_WAIT: a SYN that may reopen such a connection, and a bound on how many there are.
 *
 * A SYN for a connection lwIP still holds in TIME_WAIT (the LWIP_HOOK_TCP_INPACKET_PCB hook).
 *
 * The side that closes first keeps the connection in TIME_WAIT for 2*MSL. For a server that
 * closes (HTTP/1.0, Connection: close) that is one pcb per recent client connection, and a
 * client making many short connections soon reuses a port: its SYN then matches the
 * TIME_WAIT pcb. lwIP answers such a SYN with an ACK (or a RST, when it falls in the old
 * window), the client's kernel resets that, and its connect stalls a second or more, until a
 * retransmitted SYN comes after the pcb is gone: ab -n 10000 -c 50 against dpwsk-httpd saw
 * 1 connection in 15 stall, up to 4 s.
 *
 * RFC 1122 4.2.2.13 lets a SYN reopen a connection in TIME_WAIT when its sequence number is
 * beyond everything the old incarnation received, as Linux and the BSDs do (clients choose
 * ISNs from a clock, RFC 6528, so a later connection's is higher). Such a SYN ends the
 * TIME_WAIT pcb quietly (nothing is sent) and goes through tcp_input() again, where the
 * listener takes it as a new connection. Only for a pcb nobody holds any more (no callback
 * argument: the WSK provider lets go of a pcb when it enters TIME_WAIT), and only a plain SYN
 * (no ACK, RST or FIN) with its options in the first pbuf and no data. */
#include "lwip/def.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "dpw_lwip_hooks.h"

err_t dpw_tcp_timewait_syn(struct tcp_pcb *pcb, struct tcp_hdr *hdr, u16_t optlen, u8_t *opt2,
			   struct pbuf *p)
{
	struct netif *inp = ip_current_input_netif();

	/* tcp_input() has turned the header's ports, numbers and window to host order. */
	if (pcb->state != TIME_WAIT || pcb->callback_arg != NULL || opt2 != NULL ||
	    p->tot_len != 0 ||
	    (TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN ||
	    !TCP_SEQ_GT(hdr->seqno, pcb->rcv_nxt))
		return ERR_OK;   /* lwIP's own TIME_WAIT handling */
	/* tcp_input() returns as soon as this hook does, without touching pcb again. */
	tcp_pcb_remove(&tcp_tw_pcbs, pcb);
	tcp_free(pcb);
	/* Hand the segment in again as it came off the wire: the header back in network order,
	 * the payload pointer back on it, and a reference of its own (the caller frees its one
	 * when we return). */
	hdr->src = lwip_htons(hdr->src);
	hdr->dest = lwip_htons(hdr->dest);
	hdr->seqno = lwip_htonl(hdr->seqno);
	hdr->ackno = lwip_htonl(hdr->ackno);
	hdr->wnd = lwip_htons(hdr->wnd);
	if (pbuf_add_header_force(p, (size_t)TCP_HLEN + optlen) != 0)
		return ERR_ABRT;   /* cannot happen; the client's retransmission will get through */
	pbuf_ref(p);
	tcp_input(p, inp);
	return ERR_ABRT;
}

/* The bound. Every graceful close we start leaves a TIME_WAIT pcb for 2*MSL, each holding its
 * local port, and lwIP's ephemeral range has 16,384 ports. A client closing gracefully faster
 * than 16,384 / 2*MSL connections a second runs out: then tcp_new_port() tries every port
 * against every pcb for each connect, about a second of lcore time per connect. Like Linux's
 * tcp_max_tw_buckets, we keep at most DPW_TIME_WAIT_MAX of them: beyond that the oldest go
 * early, quietly (a TIME_WAIT pcb sends nothing when freed). The engine calls this once a
 * millisecond. */
#define DPW_TIME_WAIT_MAX  8192u
#define DPW_TIME_WAIT_KEEP (DPW_TIME_WAIT_MAX / 2)   /* trimmed down to this, newest kept */

static LWIP_PER_INSTANCE uint64_t time_wait_trimmed;

void dpw_tcp_time_wait_trim(void)
{
	struct tcp_pcb *pcb = tcp_tw_pcbs, *next;
	unsigned n;

	/* lwip-0012 counts them, so the check every millisecond costs nothing. */
	if (tcp_tw_pcbs_count <= DPW_TIME_WAIT_MAX)
		return;
	/* tcp_tw_pcbs is newest first (TCP_REG pushes at its head): keep the first KEEP, free
	 * what follows (each leaves the list and the connection table in O(1)). */
	for (n = 1; n < DPW_TIME_WAIT_KEEP && pcb != NULL; n++)
		pcb = pcb->next;
	for (pcb = pcb != NULL ? pcb->next : NULL; pcb != NULL; pcb = next) {
		next = pcb->next;
		if (pcb->callback_arg != NULL)   /* a socket still holds it: not ours to free */
			continue;
		tcp_pcb_remove(&tcp_tw_pcbs, pcb);
		tcp_free(pcb);
		time_wait_trimmed++;
	}
}

uint64_t dpw_tcp_time_wait_trimmed(void)
{
	return time_wait_trimmed;
}
