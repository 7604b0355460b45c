/* The TCP transport's connection side, on the lcore: bind, connect, listen, WskAccept (F6),
 * disconnect (F5: graceful after the queued sends, abortive is a RST), close (C3, C4); and the
 * transport's table, through which the socket core and the request router reach all of TCP.
 * The pcb's wiring, errors and options are tcp_pcb.c's, the accept path tcp_accept.c's, a
 * listener over several lcores tcp_spread.c's; receive is tcp_rx.c's, send tcp_tx.c's. */
#include "lwip/ip.h"

#include "dpw/engine.h"
#include "tcp_internal.h"


/* Events just enabled on a connection: data already received (and a FIN already seen) is
 * indicated now, not when more arrives; the send backlog is reported (F7). */
static void events_enabled(struct dpw_socket *s, ULONG enabled)
{
	if (s->category == WSK_FLAG_LISTEN_SOCKET)
		return;
	if (enabled & (WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT))
		dpw_tcp_rx_deliver(s);
	if ((enabled & WSK_EVENT_SEND_BACKLOG) && !dpw_socket_gone(s))
		dpw_tcp_indicate_send_backlog(s);
}

static NTSTATUS ensure_pcb(struct dpw_socket *s)
{
	struct tcp_pcb *pcb;

	if (s->t.tcp.pcb != NULL)
		return STATUS_SUCCESS;
	pcb = tcp_new_ip_type(dpw_socket_ip_type(s));
	if (pcb == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	dpw_tcp_attach_pcb(s, pcb);
	dpw_tcp_apply_options(s);   /* SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY set before (F9) */
	return STATUS_SUCCESS;
}

/* A WskSocketConnect's bind to port 0 takes the address only, as tcp_bind would set it, and
 * leaves the port to tcp_connect, which picks it knowing the remote: with several lcores
 * steered by the port's hash, one whose frames the NIC brings back to this lcore (steer.h).
 * Nothing can look at the socket in between (one request makes, binds and connects it). */
static void bind_address_only(struct tcp_pcb *pcb, const ip_addr_t *ip)
{
	if (!ip_addr_isany(ip) || IP_GET_TYPE(ip) != IP_GET_TYPE(&pcb->local_ip))
		ip_addr_set(&pcb->local_ip, ip);
}

/* Bind s to addr; port_at_connect: a port 0 is picked by the connect that follows at once. */
static NTSTATUS bind_pcb(struct dpw_socket *s, const SOCKADDR *addr, bool port_at_connect)
{
	ip_addr_t ip;
	uint16_t port;
	NTSTATUS st = dpw_sockaddr_for_socket(s, addr, &ip, &port), refusal;
	err_t err;

	if (st != STATUS_SUCCESS)
		return st;
	if (s->bound)
		return STATUS_INVALID_DEVICE_STATE;
	if (!dpw_ip_is_bindable(&ip))
		return STATUS_INVALID_ADDRESS_COMPONENT;   /* Windows' WSAEADDRNOTAVAIL */
	if ((st = ensure_pcb(s)) != STATUS_SUCCESS)
		return st;
	if (port == 0 && port_at_connect) {
		bind_address_only(s->t.tcp.pcb, &ip);
		err = ERR_OK;
	} else {
		err = dpw_bind_pcb(s, &ip, port, &refusal);   /* tcp_bind, with W5's sharing rules */
	}
	if (err == ERR_USE)
		return refusal;   /* F2, W5 */
	if (err == ERR_BUF && port == 0)
		return STATUS_TOO_MANY_ADDRESSES;   /* no ephemeral port free */
	if (err != ERR_OK)
		return STATUS_INVALID_ADDRESS;
	dpw_socket_set_bound(s);
	dpw_tcp_set_state(s, DPW_TCP_BOUND);
	dpw_tcp_remember_addresses(s);
	return STATUS_SUCCESS;
}

/* Listen, for request r: at once, or over every lcore (tcp_spread.c), which completes r when
 * all of them listen. */
static void start_listening(struct dpw_socket *s, struct dpw_req *r)
{
	if (!dpw_tcp_spread_begin(s, r))
		dpw_req_complete(r, dpw_tcp_listen_now(s), 0);
}

static void do_bind(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	NTSTATUS st;

	if (dpw_socket_bind_moves(r))   /* to the lcore that holds the port (step 6) */
		return;
	st = bind_pcb(s, r->u.addr.addr, false);

	/* A listening socket listens as soon as it is bound (WSK semantics). */
	if (st == STATUS_SUCCESS && s->category == WSK_FLAG_LISTEN_SOCKET)
		start_listening(s, r);
	else
		dpw_req_complete(r, st, 0);
}

static void do_listen(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (s->t.tcp.state != DPW_TCP_BOUND || s->t.tcp.spread != NULL) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	start_listening(s, r);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct dpw_socket *s = arg;
	struct dpw_req *r;

	(void)pcb;
	if (s == NULL)
		return ERR_OK;
	if (err != ERR_OK) {
		dpw_tcp_on_err(s, err);   /* the connect failed: as any error */
		return ERR_ABRT;
	}
	dpw_tcp_set_state(s, DPW_TCP_OPEN);
	dpw_tcp_remember_addresses(s);
	r = dpw_queue_pop(&s->connectq);
	if (r != NULL && r->op == DPW_OP_CONNECT && r->u.addr.buf != NULL) {
		/* WskConnectEx: the same IRP now sends its buffer (F3), completing with the bytes
		 * sent; a close meanwhile cancels it like any pending send (C2). */
		PWSK_BUF buf = r->u.addr.buf;

		r->op = DPW_OP_SEND;
		r->flags = 0;
		r->done = 0;
		r->u.io.buf = buf;
		dpw_pend(&s->sendq, r);
		dpw_tcp_tx_pump(s);
	} else if (r != NULL) {
		if (r->op == DPW_OP_SOCKET_CONNECT)
			dpw_req_complete(r, STATUS_SUCCESS, (ULONG_PTR)&s->wsk);
		else
			dpw_req_complete(r, STATUS_SUCCESS, 0);
	}
	dpw_tcp_indicate_send_backlog(s);
	return s->t.tcp.pcb == NULL ? ERR_ABRT : ERR_OK;
}

/* The address bytes of ip, in network order (4 or 16). */
static const void *ip_bytes(const ip_addr_t *ip)
{
	return IP_IS_V6(ip) ? (const void *)ip_2_ip6(ip)->addr : (const void *)&ip_2_ip4(ip)->addr;
}

/* tcp_connect; a pcb still without a port gets one the engine's steering agrees with. */
static err_t connect_pcb(struct tcp_pcb *pcb, const ip_addr_t *ip, uint16_t port)
{
	err_t err;

	if (pcb->local_port != 0)
		return tcp_connect(pcb, ip, port, on_connected);
	/* lwIP fills pcb->local_ip in (when the bind left it open) before it picks the port. */
	/* (An ANY local address: its IPv4 and IPv6 forms both start the union, where lwIP
	 * writes the one it picks.) */
	dpw_engine_connect_begin(IP_IS_V6(ip), ip_bytes(&pcb->local_ip), ip_bytes(ip), port);
	err = tcp_connect(pcb, ip, port, on_connected);
	/* Every port that hashes here is taken: one by the port rule, its frames handed on. */
	if (err == ERR_BUF && dpw_engine_connect_fallback(dpw_engine_here()))
		err = tcp_connect(pcb, ip, port, on_connected);
	dpw_engine_connect_end();
	return err;
}

static NTSTATUS start_connect(struct dpw_socket *s, struct dpw_req *r, const SOCKADDR *remote)
{
	ip_addr_t ip;
	uint16_t port;
	NTSTATUS st = dpw_sockaddr_for_socket(s, remote, &ip, &port);
	err_t err;

	if (st != STATUS_SUCCESS)
		return st;
	if (port == 0 || ip_addr_isany(&ip))
		return STATUS_INVALID_ADDRESS;
	if (!dpw_ip_reachable(&ip))
		return STATUS_NETWORK_UNREACHABLE;
	/* Bound beside a listener spread over the lcores (W5 let it share): the answers to a
	 * connection from this port would be spread by the remote's hash too, most of them to
	 * another lcore's copy of the listener. Refused as an address in use (ours). */
	if (s->port_spread)
		return STATUS_ADDRESS_ALREADY_ASSOCIATED;
	err = connect_pcb(s->t.tcp.pcb, &ip, port);
	if (err == ERR_BUF)
		return STATUS_TOO_MANY_ADDRESSES;   /* no ephemeral port free */
	if (err == ERR_RTE)
		return STATUS_NETWORK_UNREACHABLE;
	if (err == ERR_USE)
		return STATUS_ADDRESS_ALREADY_ASSOCIATED;
	if (err != ERR_OK)
		return STATUS_INSUFFICIENT_RESOURCES;
	dpw_tcp_set_state(s, DPW_TCP_CONNECTING);
	dpw_pend(&s->connectq, r);
	return STATUS_PENDING;
}

static void do_connect(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	NTSTATUS st;

	if (!s->bound) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);   /* F1 */
		return;
	}
	if (s->t.tcp.state != DPW_TCP_BOUND) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	st = start_connect(s, r, r->u.addr.addr);
	if (st != STATUS_PENDING)
		dpw_req_complete(r, st, 0);
}

static void socket_connect(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	NTSTATUS st = bind_pcb(s, r->u.socket.local, true);

	if (st == STATUS_SUCCESS)
		st = start_connect(s, r, r->u.socket.remote);
	if (st != STATUS_PENDING) {
		dpw_req_complete(r, st, 0);
		dpw_socket_destroy(s);
	}
}

/* Hand a connection in the backlog to a waiting WskAccept IRP; one of another lcore's goes
 * back there first (tcp_spread.c). */
static void complete_accept(struct dpw_socket *conn, struct dpw_req *r)
{
	if (dpw_socket_owner(conn) != dpw_lcore_here())
		dpw_tcp_spread_adopt(conn, r);
	else
		dpw_tcp_give_accepted(conn, r);
}

static void do_accept(struct dpw_req *r)
{
	struct dpw_socket *l = r->sock, *conn;

	/* Still starting to listen on the other lcores (tcp_spread.c): it waits as if listening. */
	if (l->t.tcp.state != DPW_TCP_LISTENING &&
	    !(l->t.tcp.state == DPW_TCP_BOUND && l->t.tcp.spread != NULL)) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	conn = dpw_tcp_backlog_pop(l);
	if (conn != NULL) {
		complete_accept(conn, r);
		return;
	}
	dpw_pend(&l->acceptq, r);
}

static void do_disconnect(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	/* Anything established whose pcb is still there (both FINs out, ours unacknowledged:
	 * an abortive disconnect still resets it). */
	if (s->t.tcp.state < DPW_TCP_OPEN || s->t.tcp.state > DPW_TCP_DISCONNECTED ||
	    s->t.tcp.pcb == NULL) {
		dpw_req_complete(r, s->t.tcp.state == DPW_TCP_RESET ? s->t.tcp.reset_status
								    : STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	if (r->flags & WSK_FLAG_ABORTIVE) {
		struct tcp_pcb *pcb = s->t.tcp.pcb;

		dpw_tcp_detach(pcb);
		tcp_abort(pcb);   /* RST */
		s->t.tcp.pcb = NULL;
		dpw_tcp_set_state(s, DPW_TCP_RESET);
		s->t.tcp.reset_status = STATUS_CONNECTION_ABORTED;
		dpw_queue_complete_all(&s->sendq, STATUS_CONNECTION_ABORTED);
		dpw_queue_complete_all(&s->recvq, STATUS_CONNECTION_ABORTED);
		dpw_queue_complete_all(&s->disconnectq, STATUS_CONNECTION_ABORTED);
		dpw_tcp_unlist_disconnecting(s);
		dpw_req_complete(r, STATUS_SUCCESS, 0);
		return;
	}
	if (dpw_tcp_fin_out(s) || s->disconnectq.head != NULL) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	dpw_pend(&s->disconnectq, r);
	dpw_tcp_tx_pump(s);
}

static void execute(struct dpw_req *r)
{
	switch (r->op) {
	case DPW_OP_BIND: do_bind(r); break;
	case DPW_OP_CONNECT: do_connect(r); break;
	case DPW_OP_LISTEN: do_listen(r); break;
	case DPW_OP_ACCEPT: do_accept(r); break;
	case DPW_OP_SEND: dpw_tcp_send(r); break;
	case DPW_OP_RECEIVE: dpw_tcp_receive(r); break;
	case DPW_OP_DISCONNECT: do_disconnect(r); break;
	default: dpw_req_complete(r, STATUS_INVALID_DEVICE_REQUEST, 0); break;
	}
}

/* C3/C4: reset unless both directions are finished; a listener resets its backlog. Unread
 * data goes with the connection. */
static void close_socket(struct dpw_socket *s)
{
	struct tcp_pcb *pcb = s->t.tcp.pcb;
	struct dpw_socket *conn;

	dpw_tcp_unlist_disconnecting(s);
	dpw_tcp_drop_rx(s);
	while ((conn = dpw_tcp_backlog_pop(s)) != NULL) {
		if (dpw_socket_owner(conn) != dpw_lcore_here())
			dpw_tcp_spread_refuse(conn);   /* another lcore's: reset there */
		else
			dpw_socket_destroy(conn);
	}
	if (s->t.tcp.spread != NULL)
		dpw_tcp_spread_close(s);   /* the other lcores stop listening; may hold the close */
	s->t.tcp.pcb = NULL;
	if (pcb == NULL)
		return;
	if (s->t.tcp.state == DPW_TCP_LISTENING) {
		tcp_arg(pcb, NULL);
		tcp_accept(pcb, NULL);
		tcp_close(pcb);
		return;
	}
	dpw_tcp_detach(pcb);
	switch (pcb->state) {
	case CLOSED:        /* bound or new, never connected: nothing on the wire */
		tcp_close(pcb);
		break;
	case TIME_WAIT:     /* both FINs exchanged and acknowledged: TIME_WAIT is lwIP's */
		break;
	default:            /* anything still open in either direction: RST, no TIME_WAIT */
		tcp_abort(pcb);
		dpw_tcp_set_state(s, DPW_TCP_RESET);
		break;
	}
}

/* The socket moves to another lcore before its first bind (bind_move.c): a pcb a failed bind
 * left here goes, unused. */
static bool leave(struct dpw_socket *s)
{
	struct tcp_pcb *pcb = s->t.tcp.pcb;

	if (s->t.tcp.state != DPW_TCP_NONE)
		return false;
	if (pcb != NULL) {
		dpw_tcp_detach(pcb);
		tcp_close(pcb);   /* CLOSED, never bound: freed at once */
		s->t.tcp.pcb = NULL;
	}
	return true;
}

/* The socket's options onto its pcb; a listener over several lcores sends them to the others. */
static void apply_options(struct dpw_socket *s)
{
	dpw_tcp_apply_options(s);
	if (s->t.tcp.spread != NULL)
		dpw_tcp_spread_options(s);
}

/* Once a pass: disconnects whose FIN may have been acknowledged, data held for memory. */
static void poll_pass(void)
{
	dpw_tcp_poll();
	dpw_tcp_rx_retry();
	dpw_tcp_spread_poll();
}

const struct dpw_transport dpw_tcp_transport = {
	.execute = execute,
	.socket_connect = socket_connect,
	.close = close_socket,
	.leave = leave,
	.release = dpw_tcp_release,
	.lent_by = dpw_tcp_lent_by,
	.apply_options = apply_options,
	.events_enabled = events_enabled,
	.receive_backlog = dpw_tcp_receive_backlog,
	.ideal_send_backlog = dpw_tcp_ideal_send_backlog,
	.poll = poll_pass,
	.internal = dpw_tcp_spread_message,
};
