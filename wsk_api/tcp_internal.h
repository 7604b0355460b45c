/* Inside the TCP transport: connection, stream and listening sockets over lwIP's raw TCP
 * API, on the lcore. Split by concern as lwIP is:
 *   tcp_conn.c  the connection's life: bind, connect, listen, accept, disconnect, errors,
 *               close, options; the transport's table. It calls into the two below.
 *   tcp_rx.c    receive (F4): pending WskReceive IRPs, data indications (F7), the window.
 *   tcp_tx.c    send (F3), the FIN of a graceful disconnect (F5) and its acknowledgement.
 * rx and tx never call each other or tcp_conn.c; what all three need is inline here. */
#ifndef DPWSK_TCP_INTERNAL_H
#define DPWSK_TCP_INTERNAL_H

#include "lwip/tcp.h"

#include "socket_internal.h"

/* A stream socket's client table holds both kinds (R5): Listen and Connect. */
static inline const WSK_CLIENT_CONNECTION_DISPATCH *dpw_tcp_conn_events(const struct dpw_socket *s)
{
	if (s->client_dispatch != NULL && s->category == WSK_FLAG_STREAM_SOCKET)
		return ((const WSK_CLIENT_STREAM_DISPATCH *)s->client_dispatch)->Connect;
	return (const WSK_CLIENT_CONNECTION_DISPATCH *)s->client_dispatch;
}

static inline const WSK_CLIENT_LISTEN_DISPATCH *dpw_tcp_listen_events(const struct dpw_socket *s)
{
	if (s->client_dispatch != NULL && s->category == WSK_FLAG_STREAM_SOCKET)
		return ((const WSK_CLIENT_STREAM_DISPATCH *)s->client_dispatch)->Listen;
	return (const WSK_CLIENT_LISTEN_DISPATCH *)s->client_dispatch;
}

/* Every change of a TCP socket's state, held to the transitions drawn in socket_internal.h.
 * One that is not there is a provider bug: counted, reported, and made all the same (the
 * socket goes on as before rather than the process stopping). */
void dpw_tcp_set_state(struct dpw_socket *s, enum dpw_tcp_state to);

/* Our FIN is out (a graceful disconnect's). */
static inline bool dpw_tcp_fin_out(const struct dpw_socket *s)
{
	return s->t.tcp.state == DPW_TCP_SEND_CLOSED || s->t.tcp.state == DPW_TCP_DISCONNECTED;
}

/* Nothing more will come from the peer: its FIN, or a reset. */
static inline bool dpw_tcp_peer_done(const struct dpw_socket *s)
{
	return s->t.tcp.state == DPW_TCP_RECEIVE_CLOSED || s->t.tcp.state == DPW_TCP_DISCONNECTED ||
	       s->t.tcp.state == DPW_TCP_RESET;
}

/* We may still send: established, and our FIN not yet out. */
static inline bool dpw_tcp_can_send(const struct dpw_socket *s)
{
	return s->t.tcp.state == DPW_TCP_OPEN || s->t.tcp.state == DPW_TCP_RECEIVE_CLOSED;
}

/* lwIP calls nothing of ours on this pcb any more. */
static inline void dpw_tcp_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

/* Once both FINs are through, lwIP keeps the pcb in TIME_WAIT and frees it later without a
 * callback (also when it reclaims TIME_WAIT pcbs under pressure): let go of it now, so that
 * the socket never holds a pcb lwIP may have recycled. TIME_WAIT is the transport's (C3). */
static inline void dpw_tcp_release_time_wait(struct dpw_socket *s)
{
	if (s->t.tcp.pcb != NULL && s->t.tcp.pcb->state == TIME_WAIT) {
		dpw_tcp_detach(s->t.tcp.pcb);
		s->t.tcp.pcb = NULL;
		dpw_tcp_set_state(s, DPW_TCP_DISCONNECTED);
	}
}

/* tcp_rx.c */
err_t dpw_tcp_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
void dpw_tcp_receive(struct dpw_req *r);
/* Serve pending receives from what has arrived, then indicate the rest (F4, F7). */
void dpw_tcp_rx_deliver(struct dpw_socket *s);
void dpw_tcp_drop_rx(struct dpw_socket *s);
/* Once a pass: indicate again the data a lack of memory held back. */
void dpw_tcp_rx_retry(void);
/* WskDisconnectEvent, once, unless the socket is closing (F7, C5). */
void dpw_tcp_indicate_disconnect(struct dpw_socket *s, ULONG flags);
void dpw_tcp_release(struct dpw_req *r);
unsigned dpw_tcp_lent_by(const VOID *list);
NTSTATUS dpw_tcp_receive_backlog(const struct dpw_socket *s, SIZE_T *bytes);

/* tcp_tx.c */
err_t dpw_tcp_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
void dpw_tcp_send(struct dpw_req *r);
/* Move queued sends (then a pending graceful disconnect's FIN) into lwIP. */
void dpw_tcp_tx_pump(struct dpw_socket *s);
/* Disconnects whose FIN is out are checked once a pass until it is acknowledged. */
void dpw_tcp_poll(void);
void dpw_tcp_unlist_disconnecting(struct dpw_socket *s);
NTSTATUS dpw_tcp_ideal_send_backlog(const struct dpw_socket *s, SIZE_T *bytes);
/* WskSendBacklogEvent, when enabled on a connected socket (F7). */
void dpw_tcp_indicate_send_backlog(struct dpw_socket *s);
/* Connected, or was: a socket whose backlogs may be queried ("after connected"). */
static inline bool dpw_tcp_was_connected(const struct dpw_socket *s)
{
	return (s->t.tcp.state >= DPW_TCP_OPEN && s->t.tcp.state <= DPW_TCP_DISCONNECTED) ||
	       (s->t.tcp.state == DPW_TCP_RESET && s->has_remote);
}

#endif /* DPWSK_TCP_INTERNAL_H */
