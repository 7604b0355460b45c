/* The TCP transport's connection side, on the lcore: bind, connect, listen, accept (F6),
 * disconnect (F5: graceful after the queued sends, abortive is a RST), transport errors,
 * close (C3, C4), options; and the transport's table, through which the socket core and the
 * request router reach all of TCP. Receive is tcp_rx.c's, send tcp_tx.c's. */
#include "lwip/ip.h"

#include "tcp_internal.h"

static void on_err(void *arg, err_t err);

static void attach_pcb(struct dpw_socket *s, struct tcp_pcb *pcb)
{
	s->t.tcp.pcb = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, dpw_tcp_on_recv);
	tcp_sent(pcb, dpw_tcp_on_sent);
	tcp_err(pcb, on_err);
}

static void remember_addresses(struct dpw_socket *s)
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
static void on_err(void *arg, err_t err)
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
static void apply_options(struct dpw_socket *s)
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

void dpw_tcp_listen_terms(const struct dpw_socket *l, struct dpw_listen_terms *t)
{
	t->client = l->client;
	t->kind = l->kind->accepted;
	t->af = l->af;
	t->reuse_addr = l->reuse_addr;
	t->exclusive_addr = l->exclusive_addr;
	t->dual_stack = l->dual_stack;
	t->opt = l->opt;
	t->security = l->security;
}

struct dpw_socket *dpw_tcp_accept_pcb(const struct dpw_listen_terms *t, struct tcp_pcb *pcb)
{
	struct dpw_socket *conn = dpw_socket_alloc(t->client, t->kind);

	if (conn == NULL)
		return NULL;
	conn->af = t->af;
	attach_pcb(conn, pcb);
	/* The listener's options and security descriptor (F9, F2). */
	conn->reuse_addr = t->reuse_addr;
	conn->exclusive_addr = t->exclusive_addr;
	conn->dual_stack = t->dual_stack;
	conn->opt = t->opt;
	dpw_security_inherit_sd(conn, t->security);
	apply_options(conn);
	dpw_socket_set_bound(conn);
	dpw_tcp_set_state(conn, DPW_TCP_OPEN);
	remember_addresses(conn);
	return conn;
}

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
	attach_pcb(s, pcb);
	apply_options(s);   /* SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY set before (F9) */
	return STATUS_SUCCESS;
}

static NTSTATUS bind_pcb(struct dpw_socket *s, const SOCKADDR *addr)
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
	err = dpw_bind_pcb(s, &ip, port, &refusal);   /* tcp_bind, with W5's sharing rules */
	if (err == ERR_USE)
		return refusal;   /* F2, W5 */
	if (err == ERR_BUF && port == 0)
		return STATUS_TOO_MANY_ADDRESSES;   /* no ephemeral port free */
	if (err != ERR_OK)
		return STATUS_INVALID_ADDRESS;
	dpw_socket_set_bound(s);
	dpw_tcp_set_state(s, DPW_TCP_BOUND);
	remember_addresses(s);
	return STATUS_SUCCESS;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err);

NTSTATUS dpw_tcp_listen_now(struct dpw_socket *s)
{
	struct tcp_pcb *lpcb;
	u8_t reuse = s->t.tcp.pcb->so_options & SOF_REUSEADDR;
	err_t err;

	/* Who may share the address was decided at bind, by Microsoft's table (W5): two
	 * sockets with SO_REUSEADDR may both listen on it, and either takes a connection, as on
	 * Windows. lwIP would refuse a listener with SOF_REUSEADDR on a port another listens on
	 * (its bind let the flag through only for TIME_WAIT's sake): the flag stays off for
	 * tcp_listen's check and is put back on the listening pcb. */
	s->t.tcp.pcb->so_options &= (u8_t)~SOF_REUSEADDR;
	dpw_tcp_detach(s->t.tcp.pcb);
	lpcb = tcp_listen_with_backlog_and_err(s->t.tcp.pcb, TCP_DEFAULT_LISTEN_BACKLOG, &err);
	if (lpcb == NULL) {
		s->t.tcp.pcb->so_options |= reuse;
		attach_pcb(s, s->t.tcp.pcb);
		return err == ERR_USE ? STATUS_ADDRESS_ALREADY_ASSOCIATED
				      : STATUS_INSUFFICIENT_RESOURCES;
	}
	lpcb->so_options |= reuse;
	s->t.tcp.pcb = lpcb;
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, on_accept);
	dpw_tcp_set_state(s, DPW_TCP_LISTENING);
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
	NTSTATUS st = bind_pcb(s, r->u.addr.addr);

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
		on_err(s, err);
		return ERR_ABRT;
	}
	dpw_tcp_set_state(s, DPW_TCP_OPEN);
	remember_addresses(s);
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
	err = tcp_connect(s->t.tcp.pcb, &ip, port, on_connected);
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
	NTSTATUS st = bind_pcb(s, r->u.socket.local);

	if (st == STATUS_SUCCESS)
		st = start_connect(s, r, r->u.socket.remote);
	if (st != STATUS_PENDING) {
		dpw_req_complete(r, st, 0);
		dpw_socket_destroy(s);
	}
}

void dpw_tcp_take_accepted(struct dpw_socket *conn, const struct dpw_req *r)
{
	conn->context = r->u.accept.ctx;
	conn->client_dispatch = r->u.accept.dispatch;
	conn->events = conn->client_dispatch != NULL ? conn->client->static_events : 0;
	conn->t.tcp.listener = NULL;
}

void dpw_tcp_complete_accept(struct dpw_socket *conn, struct dpw_req *r)
{
	dpw_copy_sockaddr(r->u.accept.local, &conn->local_addr);
	dpw_copy_sockaddr(r->u.accept.remote, &conn->remote_addr);
	dpw_req_complete(r, STATUS_SUCCESS, (ULONG_PTR)&conn->wsk);
}

/* Hand a transport-accepted connection of this lcore to a waiting WskAccept IRP; one of
 * another lcore's goes back there first (tcp_spread.c). */
static void complete_accept(struct dpw_socket *conn, struct dpw_req *r)
{
	if (dpw_socket_owner(conn) != dpw_lcore_here()) {
		dpw_tcp_spread_adopt(conn, r);
		return;
	}
	dpw_tcp_take_accepted(conn, r);
	dpw_tcp_complete_accept(conn, r);
	dpw_tcp_indicate_send_backlog(conn);
}

void dpw_tcp_backlog_push(struct dpw_socket *l, struct dpw_socket *conn)
{
	conn->t.tcp.listener = l;
	conn->t.tcp.backlog_next = NULL;
	if (l->t.tcp.backlog_tail != NULL)
		l->t.tcp.backlog_tail->t.tcp.backlog_next = conn;
	else
		l->t.tcp.backlog_head = conn;
	l->t.tcp.backlog_tail = conn;
	l->t.tcp.backlog_len++;
}

static struct dpw_socket *backlog_pop(struct dpw_socket *l)
{
	struct dpw_socket *conn = l->t.tcp.backlog_head;

	if (conn != NULL) {
		l->t.tcp.backlog_head = conn->t.tcp.backlog_next;
		if (l->t.tcp.backlog_head == NULL)
			l->t.tcp.backlog_tail = NULL;
		l->t.tcp.backlog_len--;
		conn->t.tcp.backlog_next = NULL;
	}
	return conn;
}

bool dpw_tcp_offer_to_accept_event(struct dpw_socket *l, struct dpw_socket *conn)
{
	const WSK_CLIENT_LISTEN_DISPATCH *ev = dpw_tcp_listen_events(l);
	PVOID ctx = NULL;
	const WSK_CLIENT_CONNECTION_DISPATCH *dispatch = NULL;
	/* A listener over several lcores is offered connections on each (as Windows calls
	 * WskAcceptEvent on any processor). Only its own lcore brackets the callback for C5:
	 * on another, a close of the listener waits for that lcore to stop listening, which it
	 * does between passes, so after the callback (tcp_spread.c). */
	bool home = dpw_socket_owner(l) == dpw_lcore_here();
	NTSTATUS st;

	if (ev == NULL || ev->WskAcceptEvent == NULL ||
	    !(__atomic_load_n(&l->events, __ATOMIC_RELAXED) & WSK_EVENT_ACCEPT))
		return false;
	if (home)
		dpw_callback_enter(l);
	else
		dpw_callbacks_running++;
	st = ev->WskAcceptEvent(l->context, 0, (PSOCKADDR)&conn->local_addr,
				(PSOCKADDR)&conn->remote_addr, &conn->wsk, &ctx, &dispatch);
	if (home)
		dpw_callback_leave(l);
	else
		dpw_callbacks_running--;
	if (st == STATUS_SUCCESS) {
		conn->context = ctx;
		conn->client_dispatch = dispatch;
		conn->events = dispatch != NULL ? conn->client->static_events : 0;
		return true;
	}
	dpw_socket_destroy(conn);   /* refused: reset */
	return true;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct dpw_socket *l = arg, *conn;
	struct dpw_listen_terms terms;
	struct dpw_req *r;

	if (l == NULL || err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	dpw_tcp_listen_terms(l, &terms);
	if (l->t.tcp.backlog_len >= DPW_ACCEPT_BACKLOG ||
	    (conn = dpw_tcp_accept_pcb(&terms, pcb)) == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	/* Its frames come to the listener's port: pinned while it lives too (the same lcore's
	 * pin, so it cannot be refused), or, the listener spread over the lcores, held. */
	if (!dpw_socket_pin_port(conn, l->pinned_port))
		dpw_socket_join_port(conn, l->pinned_port);
	/* F6: queued accept IRPs first, then the accept event, else the backlog. */
	r = dpw_queue_pop(&l->acceptq);
	if (r != NULL) {
		complete_accept(conn, r);
		return ERR_OK;
	}
	if (dpw_tcp_offer_to_accept_event(l, conn))
		return conn->t.tcp.pcb == NULL ? ERR_ABRT : ERR_OK;
	dpw_tcp_backlog_push(l, conn);
	return ERR_OK;
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
	conn = backlog_pop(l);
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
	while ((conn = backlog_pop(s)) != NULL) {
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
	.release = dpw_tcp_release,
	.lent_by = dpw_tcp_lent_by,
	.apply_options = apply_options,
	.events_enabled = events_enabled,
	.receive_backlog = dpw_tcp_receive_backlog,
	.ideal_send_backlog = dpw_tcp_ideal_send_backlog,
	.poll = poll_pass,
	.internal = dpw_tcp_spread_message,
};
