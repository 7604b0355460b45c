/* Inside the TCP transport: connection, stream and listening sockets over lwIP's raw TCP
 * API, on the lcore. Split by concern as lwIP is:
 *   tcp_conn.c   the connection's life: bind, connect, listen, WskAccept, disconnect, close;
 *                the transport's table. It calls into everything below.
 *   tcp_spread.c a listener over several lcores: the other lcores listen too, and what they
 *                accept is offered there or handed to the listener's lcore.
 *   tcp_accept.c the accept path both of those use: listening, a connection made a socket,
 *                the accept event, the backlog, a WskAccept taking a connection.
 *   tcp_pcb.c    a socket's pcb: lwIP's callbacks wired, addresses, options (F9), errors.
 *   tcp_rx.c     receive (F4): pending WskReceive IRPs, data indications (F7), the window.
 *   tcp_tx.c     send (F3), the FIN of a graceful disconnect (F5) and its acknowledgement.
 * Each calls only files below it in this list; rx and tx never call each other; what they
 * all need is inline here. */
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

/* ---- tcp_pcb.c -------------------------------------------------------------------------------- */

/* pcb belongs to s from now on: lwIP's callbacks for it reach s. */
void dpw_tcp_attach_pcb(struct dpw_socket *s, struct tcp_pcb *pcb);
/* The pcb's local (and, connected, remote) address kept in s: valid after the pcb goes. */
void dpw_tcp_remember_addresses(struct dpw_socket *s);
/* s's options (reuse, keepalive, Nagle) onto its pcb, if it has one (F9). */
void dpw_tcp_apply_options(struct dpw_socket *s);
/* lwIP's error callback: it has freed s's pcb (a RST, retransmissions given up, or, ERR_CLSD,
 * the last ACK of a graceful close); pending requests complete with the reset's status. */
void dpw_tcp_on_err(void *arg, err_t err);

/* ---- tcp_accept.c: the accept path, shared by tcp_conn.c and tcp_spread.c ------------------- */

#define DPW_ACCEPT_BACKLOG 1024   /* connections a listener holds for the client, at most */

/* What a connection takes from its listener when accepted (F9, F2). A copy: an lcore that
 * accepts for a listener of another lcore reads nothing of the listener's but its events. */
struct dpw_listen_terms {
	struct dpw_client *client;
	const struct dpw_socket_kind *kind;   /* the accepted connections' */
	ADDRESS_FAMILY af;
	bool reuse_addr, exclusive_addr, dual_stack;
	struct dpw_sockopts opt;
	PVOID security;                       /* the listener's descriptor, or NULL */
};
void dpw_tcp_listen_terms(const struct dpw_socket *l, struct dpw_listen_terms *t);
/* A socket of this lcore for a connection lwIP accepted, OPEN; NULL when out of sockets. */
struct dpw_socket *dpw_tcp_accept_pcb(const struct dpw_listen_terms *t, struct tcp_pcb *pcb);
/* F7's accept event, if the listener has it enabled: true if it was offered (taken, or
 * refused and reset). Any lcore (tcp_spread.c). */
bool dpw_tcp_offer_to_accept_event(struct dpw_socket *l, struct dpw_socket *conn);
/* A queued WskAccept r takes conn: conn's side (its lcore), then r's (the listener's). */
void dpw_tcp_take_accepted(struct dpw_socket *conn, const struct dpw_req *r);
void dpw_tcp_complete_accept(struct dpw_socket *conn, struct dpw_req *r);
/* Both, for a connection of this lcore (and its send backlog indicated, F7). */
void dpw_tcp_give_accepted(struct dpw_socket *conn, struct dpw_req *r);
/* Into the listener's backlog, for a later WskAccept, and out of it (NULL: empty).
 * [listener's lcore] */
void dpw_tcp_backlog_push(struct dpw_socket *l, struct dpw_socket *conn);
struct dpw_socket *dpw_tcp_backlog_pop(struct dpw_socket *l);
/* tcp_listen on this lcore, the socket bound: LISTENING, or the status that refused it. */
NTSTATUS dpw_tcp_listen_now(struct dpw_socket *s);

/* tcp_spread.c: a listener over several lcores (docs/many-lcores.md, step 5). All on the
 * listener's lcore but the messages', which run where they are sent. */
/* Listen on every lcore for request r (a bind or listen): false if not for this listener
 * (one lcore; a port not fixed, or shared), else r is held and completed once every lcore
 * listens, or this one alone if another could not. */
bool dpw_tcp_spread_begin(struct dpw_socket *l, struct dpw_req *r);
/* conn, another lcore's connection in the listener's backlog, to WskAccept r. */
void dpw_tcp_spread_adopt(struct dpw_socket *conn, struct dpw_req *r);
/* conn, another lcore's connection in the listener's backlog, refused (reset there). */
void dpw_tcp_spread_refuse(struct dpw_socket *conn);
/* In the listener's close: the other lcores stop listening; the close completes once they
 * have, and no connection is still between lcores (it takes l->close_req then). */
void dpw_tcp_spread_close(struct dpw_socket *l);
/* The listener's options changed (F9): the other lcores' copies follow. */
void dpw_tcp_spread_options(struct dpw_socket *l);
void dpw_tcp_spread_message(struct dpw_req *m);
/* Once a pass: messages a full ring refused, sent again in order. */
void dpw_tcp_spread_poll(void);

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
