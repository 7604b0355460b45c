/* The TCP listener's accept path, on the lcore (F6, F7, F9): listening, the connection lwIP
 * accepted made a socket with its listener's options, the accept event, the backlog, and a
 * queued WskAccept taking a connection. Shared by the listener's own lcore (tcp_conn.c) and a
 * listener spread over several (tcp_spread.c), which both sit above it. */
#include "tcp_internal.h"

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
	dpw_tcp_attach_pcb(conn, pcb);
	/* The listener's options and security descriptor (F9, F2). */
	conn->reuse_addr = t->reuse_addr;
	conn->exclusive_addr = t->exclusive_addr;
	conn->dual_stack = t->dual_stack;
	conn->opt = t->opt;
	dpw_security_inherit_sd(conn, t->security);
	dpw_tcp_apply_options(conn);
	dpw_socket_set_bound(conn);
	dpw_tcp_set_state(conn, DPW_TCP_OPEN);
	dpw_tcp_remember_addresses(conn);
	return conn;
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
		dpw_tcp_attach_pcb(s, s->t.tcp.pcb);
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

/* Hand a connection of this lcore to a waiting WskAccept IRP. */
void dpw_tcp_give_accepted(struct dpw_socket *conn, struct dpw_req *r)
{
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

struct dpw_socket *dpw_tcp_backlog_pop(struct dpw_socket *l)
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
	 * pin, so it cannot be refused), or, the listener spread over the lcores, held as the
	 * other lcores' connections hold it (one hold per engine, no lock per connection). */
	if (!(l->t.tcp.spread != NULL && dpw_socket_join_port(conn, l->pinned_port)) &&
	    !dpw_socket_pin_port(conn, l->pinned_port))
		dpw_socket_join_port(conn, l->pinned_port);
	/* F6: queued accept IRPs first, then the accept event, else the backlog. */
	r = dpw_queue_pop(&l->acceptq);
	if (r != NULL) {
		dpw_tcp_give_accepted(conn, r);
		return ERR_OK;
	}
	if (dpw_tcp_offer_to_accept_event(l, conn))
		return conn->t.tcp.pcb == NULL ? ERR_ABRT : ERR_OK;
	dpw_tcp_backlog_push(l, conn);
	return ERR_OK;
}
