/* A TCP socket's pcb, on the lcore: wired to lwIP's callbacks, its addresses remembered, its
 * options applied (F9), and what lwIP's freeing it means for the socket (a RST, retransmissions
 * given up, the last ACK of a graceful close). Below the accept path and the connection's life
 * (tcp_accept.c, tcp_conn.c). */
#include "lwip/ip.h"

#include "tcp_internal.h"

void dpw_tcp_attach_pcb(struct dpw_socket *s, struct tcp_pcb *pcb)
{
	s->t.tcp.pcb = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, dpw_tcp_on_recv);
	tcp_sent(pcb, dpw_tcp_on_sent);
	tcp_err(pcb, dpw_tcp_on_err);
}

void dpw_tcp_remember_addresses(struct dpw_socket *s)
{
	struct tcp_pcb *pcb = s->t.tcp.pcb;

	dpw_socket_sockaddr(s, &pcb->local_ip, pcb->local_port, &s->local_addr);
	s->has_local = true;
	if (pcb->state != LISTEN && pcb->remote_port != 0) {
		dpw_socket_sockaddr(s, &pcb->remote_ip, pcb->remote_port, &s->remote_addr);
		s->has_remote = true;
	}
}

static NTSTATUS map_err(err_t err, bool connecting)
{
	switch (err) {
	case ERR_RST:
		return connecting ? STATUS_CONNECTION_REFUSED : STATUS_CONNECTION_RESET;
	case ERR_ABRT:
		return connecting ? STATUS_IO_TIMEOUT : STATUS_CONNECTION_ABORTED;
	default:
		return STATUS_CONNECTION_ABORTED;
	}
}

/* lwIP has freed the pcb: a RST arrived, retransmissions gave up, or (ERR_CLSD) the last
 * ACK of a graceful close came in. */
void dpw_tcp_on_err(void *arg, err_t err)
{
	struct dpw_socket *s = arg;
	struct dpw_req *r;
	bool connecting;

	if (s == NULL)
		return;
	s->t.tcp.pcb = NULL;
	connecting = s->t.tcp.state == DPW_TCP_CONNECTING;
	if (err == ERR_CLSD) {
		dpw_tcp_set_state(s, DPW_TCP_DISCONNECTED);
		dpw_tcp_poll();
		return;
	}
	dpw_tcp_set_state(s, DPW_TCP_RESET);
	s->t.tcp.reset_status = map_err(err, connecting);
	while ((r = dpw_queue_pop(&s->connectq)) != NULL) {
		if (r->op == DPW_OP_SOCKET_CONNECT) {
			/* The socket was never the client's: it goes with the failure. */
			struct dpw_socket *dead = r->sock;

			dpw_req_complete(r, s->t.tcp.reset_status, 0);
			dpw_socket_destroy(dead);
			return;
		}
		dpw_req_complete(r, s->t.tcp.reset_status, 0);
	}
	dpw_queue_complete_all(&s->sendq, s->t.tcp.reset_status);
	dpw_queue_complete_all(&s->disconnectq, s->t.tcp.reset_status);
	dpw_tcp_unlist_disconnecting(s);
	dpw_tcp_rx_deliver(s);   /* pending receives: unread data first, then the reset status */
	if (!dpw_socket_gone(s))
		dpw_tcp_indicate_disconnect(s, WSK_FLAG_ABORTIVE);
}

/* ---- options (F9) ------------------------------------------------------------------------ */

static void set_flag(u8_t *so_options, u8_t flag, bool on)
{
	if (on)
		*so_options |= flag;
	else
		*so_options &= (u8_t)~flag;
}

/* The socket's options onto its pcb. A listening pcb is a smaller struct without Nagle or
 * timers: only its so_options apply (and accepted connections inherit them). */
void dpw_tcp_apply_options(struct dpw_socket *s)
{
	struct tcp_pcb *pcb = s->t.tcp.pcb;

	if (pcb == NULL)
		return;
	if (pcb->state == CLOSED && pcb->local_port == 0) {
		/* Not bound yet (a bind failed): the family it takes may still change (W6). */
		IP_SET_TYPE_VAL(pcb->local_ip, dpw_socket_ip_type(s));
		IP_SET_TYPE_VAL(pcb->remote_ip, dpw_socket_ip_type(s));
	}
	set_flag(&pcb->so_options, SOF_REUSEADDR, s->reuse_addr);
	set_flag(&pcb->so_options, SOF_KEEPALIVE, s->opt.keepalive);
	if (pcb->state == LISTEN)
		return;
	/* lwIP's timers skip idle connections (lwip-0014): keepalive is timer work */
	if (s->opt.keepalive)
		tcp_timers_on(pcb);
	if (s->opt.nodelay)
		tcp_nagle_disable(pcb);
	else
		tcp_nagle_enable(pcb);
}
