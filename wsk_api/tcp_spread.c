/* A listening socket over several lcores (docs/many-lcores.md, step 5).
 *
 * With one engine per lcore, a listener bound to a fixed port would take every connection on
 * its own lcore: the port is pinned there (step 5a). Spread, every lcore listens on the port,
 * the port's frames go by the remote's hash (stack/steer.c, DPW_STEER_PIN_SPREAD), and each
 * connection stays on the lcore it arrived at, as that lcore's socket. The listener stays one
 * socket, owned by its home lcore H, where its calls, its queued WskAccepts and its close run.
 *
 * Messages between lcores (DPW_OP_SPREAD requests without an IRP; a connection's one request
 * object is carried through all its hops, so none can fail for want of memory half-way):
 *   H -> k  LISTEN     k opens its listening pcb on the port; answers LISTENING.
 *   k -> H  LISTENING  once every lcore has answered, H listens too, the port is spread, and
 *                      the bind (or listen) completes. Until then the port's frames still
 *                      go to H, which does not listen yet either: no connection can arrive
 *                      at an lcore before it listens.
 *   (k accepts)        with the listener's accept event enabled and no WskAccept issued on
 *                      it (F6: those come first; accepts_issued), k offers the
 *                      connection there and then (F7; Windows too calls WskAcceptEvent on any
 *                      processor). Otherwise ACCEPTED to H.
 *   k -> H  ACCEPTED   H gives it to a queued WskAccept (ADOPT); none there after all, and the
 *                      event enabled: OFFER, unless k offered it already; else H holds it in
 *                      the listener's backlog. The listener closing, or its backlog full:
 *                      REFUSE.
 *   H -> k  OFFER      k offers it to the accept event; not offered (disabled meanwhile):
 *                      ACCEPTED again, marked offered, for the backlog.
 *   H -> k  ADOPT      k makes it the client's (its context and dispatch); answers ADOPTED.
 *   k -> H  ADOPTED    H completes the WskAccept: the listener's IRP completes on the
 *                      listener's lcore, in order with its others, and only once the
 *                      connection is the client's (its calls go to k, behind the ADOPT).
 *   H -> k  REFUSE     k resets and frees it.
 *   H -> k  OPTIONS    the listener's options changed (F9): k's copy, which the connections
 *                      it accepts take, and its pcb's keepalive follow.
 *   H -> k  CLOSE      the listener closes (or could not spread): k closes its pcb; CLOSED.
 *   k -> H  CLOSED     once every lcore has answered and no ADOPT is out, the close completes,
 *                      last (C2). No callback of the listener runs after: k answers between
 *                      passes, so after any accept event it was running.
 * One lcore's messages keep their order (one ring each, and an outbox in order when a ring is
 * full), so H sees all of k's ACCEPTED before its CLOSED.
 */
#include <stdlib.h>

#include "tcp_internal.h"

enum spread_msg {
	SP_LISTEN, SP_LISTENING, SP_ACCEPTED, SP_OFFER, SP_ADOPT, SP_ADOPTED, SP_REFUSE, SP_OPTIONS,
	SP_CLOSE, SP_CLOSED
};

struct dpw_spread {
	/* Fixed from the start: the other lcores read these. */
	struct dpw_socket *listener;
	uint32_t listener_gen;
	unsigned home;
	ip_addr_t ip;
	uint16_t port;
	u8_t ip_type, so_options;               /* the listening pcb's */
	struct dpw_listen_terms terms;          /* holds a reference on the descriptor */
	/* [that lcore] */
	struct tcp_pcb *pcb[DPW_MAX_LCORES];    /* its listening pcb */
	struct dpw_sockopts opt[DPW_MAX_LCORES];   /* the listener's options, as last sent */
	/* [home] */
	struct dpw_req *close_msg[DPW_MAX_LCORES];  /* taken at the start: a close never fails */
	unsigned answers_due;                   /* LISTENING and CLOSED still to come */
	unsigned adopts_out;                    /* ADOPT sent, ADOPTED still to come */
	bool failed;                            /* an lcore could not listen */
	bool stopping;                          /* the listener closes, or listens at home alone */
	struct dpw_req *held;                   /* the bind or listen, later the close */
};

/* Messages a full ring refused, per sending lcore, sent again in order. [that lcore] How many
 * wait in all the outboxes: the poll, on every lcore's every pass, reads only that (one
 * relaxed load of a line written only when a ring was full). */
static struct {
	DPW_LCORE_ALIGNED struct dpw_req *head;
	struct dpw_req *tail;
} outbox[DPW_MAX_LCORES];
static atomic_uint outbox_waiting;

static void send_msg(struct dpw_req *m, enum spread_msg what, unsigned to)
{
	unsigned me = dpw_lcore_here();

	m->u.spread.what = what;
	m->u.spread.lcore = to;
	if (outbox[me].head == NULL && dpw_req_post(m, to))
		return;
	m->next = NULL;
	atomic_fetch_add_explicit(&outbox_waiting, 1, memory_order_relaxed);
	if (outbox[me].tail != NULL)
		outbox[me].tail->next = m;
	else
		outbox[me].head = m;
	outbox[me].tail = m;
}

void dpw_tcp_spread_poll(void)
{
	unsigned me;
	struct dpw_req *m;

	if (atomic_load_explicit(&outbox_waiting, memory_order_relaxed) == 0)
		return;
	me = dpw_lcore_here();
	while ((m = outbox[me].head) != NULL && dpw_req_post(m, m->u.spread.lcore)) {
		atomic_fetch_sub_explicit(&outbox_waiting, 1, memory_order_relaxed);
		outbox[me].head = m->next;
		if (outbox[me].head == NULL)
			outbox[me].tail = NULL;
	}
}

/* ---- the listener's lcore ---------------------------------------------------------------- */

static void free_spread(struct dpw_spread *sp)
{
	for (unsigned k = 0; k < DPW_MAX_LCORES; k++)
		if (sp->close_msg[k] != NULL)
			dpw_req_free(sp->close_msg[k]);
	free(sp);
}

/* Every lcore has stopped and no connection is between lcores: the close completes. */
static void maybe_done(struct dpw_spread *sp)
{
	struct dpw_req *close = sp->held;

	if (!sp->stopping || sp->answers_due > 0 || sp->adopts_out > 0)
		return;
	dpw_security_unref(sp->terms.security);
	if (close != NULL)
		dpw_close_finished(close, sp->terms.client);
	free_spread(sp);
}

/* The other lcores close their pcbs (those that were asked to listen). */
static void stop(struct dpw_spread *sp)
{
	sp->stopping = true;
	for (unsigned k = 0; k < DPW_MAX_LCORES; k++) {
		struct dpw_req *m = sp->close_msg[k];

		if (m == NULL)
			continue;
		sp->close_msg[k] = NULL;
		m->u.spread.sp = sp;
		sp->answers_due++;
		send_msg(m, SP_CLOSE, k);
	}
}

bool dpw_tcp_spread_begin(struct dpw_socket *l, struct dpw_req *r)
{
	unsigned n = dpw_lcore_count(), me = dpw_lcore_here();
	struct dpw_req *listen_msg[DPW_MAX_LCORES] = { NULL };
	struct dpw_spread *sp;

	/* Only a fixed port this lcore holds alone spreads (W5 sharing stays on one lwIP). */
	if (n <= 1 || dpw_self_lcore() < 0 || l->pinned_on == NULL || l->t.tcp.pcb == NULL)
		return false;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return false;
	for (unsigned k = 0; k < n; k++) {
		if (k == me)
			continue;
		listen_msg[k] = dpw_req_new(DPW_OP_SPREAD, NULL);
		sp->close_msg[k] = dpw_req_new(DPW_OP_SPREAD, NULL);
		if (listen_msg[k] == NULL || sp->close_msg[k] == NULL) {
			for (unsigned j = 0; j <= k; j++)
				if (listen_msg[j] != NULL)
					dpw_req_free(listen_msg[j]);
			free_spread(sp);
			return false;   /* out of memory: it listens here alone */
		}
	}
	sp->listener = l;
	sp->listener_gen = atomic_load(&l->gen);
	sp->home = me;
	ip_addr_copy(sp->ip, l->t.tcp.pcb->local_ip);
	sp->port = l->t.tcp.pcb->local_port;
	sp->ip_type = IP_GET_TYPE(&l->t.tcp.pcb->local_ip);
	sp->so_options = l->t.tcp.pcb->so_options & (SOF_REUSEADDR | SOF_KEEPALIVE);
	dpw_tcp_listen_terms(l, &sp->terms);
	sp->terms.security = dpw_security_ref(l->security);
	sp->held = r;
	l->t.tcp.spread = sp;
	for (unsigned k = 0; k < n; k++) {
		if (listen_msg[k] == NULL)
			continue;
		listen_msg[k]->u.spread.sp = sp;
		sp->answers_due++;
		send_msg(listen_msg[k], SP_LISTEN, k);
	}
	return true;
}

/* Every lcore has answered LISTEN: listen here too, and spread the port; or, if any could not
 * (or another socket of this lcore took the port meanwhile, as W5 allows), listen here alone. */
static void finish_start(struct dpw_spread *sp)
{
	struct dpw_socket *l = sp->listener;
	struct dpw_req *r = sp->held;
	/* Beside another spread listener (W5 let it share the port), listening here alone would
	 * take only this lcore's share of the port's connections: refused instead. */
	NTSTATUS st = sp->failed && l->port_spread ? STATUS_INSUFFICIENT_RESOURCES
						   : dpw_tcp_listen_now(l);

	sp->held = NULL;
	if (st == STATUS_SUCCESS && !sp->failed && dpw_socket_spread_port(l)) {
		atomic_fetch_add_explicit(&dpw_counters.listeners_spread, 1, memory_order_relaxed);
		dpw_req_complete(r, STATUS_SUCCESS, 0);
		return;
	}
	atomic_fetch_add_explicit(&dpw_counters.listeners_not_spread, 1, memory_order_relaxed);
	l->t.tcp.spread = NULL;
	if (st != STATUS_SUCCESS)   /* accepts waited for a listen that failed */
		dpw_queue_complete_all(&l->acceptq, STATUS_INVALID_DEVICE_STATE);
	dpw_req_complete(r, st, 0);
	stop(sp);
	maybe_done(sp);
}

static void adopt(struct dpw_req *m, struct dpw_req *accept)
{
	struct dpw_spread *sp = m->u.spread.sp;

	sp->adopts_out++;
	m->u.spread.accept = accept;
	send_msg(m, SP_ADOPT, dpw_socket_owner(m->u.spread.conn));
}

void dpw_tcp_spread_adopt(struct dpw_socket *conn, struct dpw_req *r)
{
	struct dpw_req *m = conn->t.tcp.handover;

	conn->t.tcp.handover = NULL;
	adopt(m, r);
}

void dpw_tcp_spread_refuse(struct dpw_socket *conn)
{
	struct dpw_req *m = conn->t.tcp.handover;

	conn->t.tcp.handover = NULL;
	send_msg(m, SP_REFUSE, dpw_socket_owner(conn));
}

void dpw_tcp_spread_close(struct dpw_socket *l)
{
	struct dpw_spread *sp = l->t.tcp.spread;

	l->t.tcp.spread = NULL;
	if (sp->held != NULL) {
		/* Closed while starting: its bind or listen was still pending (C2). */
		dpw_req_complete(sp->held, STATUS_CANCELLED, 0);
		sp->held = NULL;
	}
	stop(sp);
	if (sp->answers_due > 0 || sp->adopts_out > 0) {
		sp->held = l->close_req;   /* completed by maybe_done */
		l->close_req = NULL;
		return;
	}
	maybe_done(sp);
}

void dpw_tcp_spread_options(struct dpw_socket *l)
{
	struct dpw_spread *sp = l->t.tcp.spread;

	if (sp->stopping)
		return;
	for (unsigned k = 0; k < DPW_MAX_LCORES; k++) {
		struct dpw_req *m;
		struct dpw_sockopts *copy;

		if (sp->close_msg[k] == NULL)   /* not listening there */
			continue;
		m = dpw_req_new(DPW_OP_SPREAD, NULL);
		copy = malloc(sizeof(*copy));
		if (m == NULL || copy == NULL) {
			/* Out of memory: that lcore's connections keep the options they had. */
			if (m != NULL)
				dpw_req_free(m);
			free(copy);
			continue;
		}
		*copy = l->opt;
		m->u.spread.sp = sp;
		m->u.spread.payload = copy;
		send_msg(m, SP_OPTIONS, k);
	}
}

static void on_listening(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;

	if (m->u.spread.status != STATUS_SUCCESS)
		sp->failed = true;
	dpw_req_free(m);
	sp->answers_due--;
	if (sp->stopping)
		maybe_done(sp);
	else if (sp->answers_due == 0)
		finish_start(sp);
}

/* F6 on the listener's lcore: a queued WskAccept, else the accept event (on the connection's
 * lcore), else the backlog. */
static void on_accepted(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;
	struct dpw_socket *l = sp->listener, *conn = m->u.spread.conn;
	const WSK_CLIENT_LISTEN_DISPATCH *ev = dpw_tcp_listen_events(l);
	struct dpw_req *r;

	if (sp->stopping || l->t.tcp.backlog_len >= DPW_ACCEPT_BACKLOG) {
		send_msg(m, SP_REFUSE, dpw_socket_owner(conn));
		return;
	}
	r = dpw_queue_pop(&l->acceptq);
	if (r != NULL) {
		adopt(m, r);
		return;
	}
	if (!m->u.spread.offered && ev != NULL && ev->WskAcceptEvent != NULL &&
	    (l->events & WSK_EVENT_ACCEPT)) {
		send_msg(m, SP_OFFER, dpw_socket_owner(conn));
		return;
	}
	conn->t.tcp.handover = m;
	dpw_tcp_backlog_push(l, conn);
}

static void on_adopted(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;

	dpw_tcp_complete_accept(m->u.spread.conn, m->u.spread.accept);
	dpw_req_free(m);
	sp->adopts_out--;
	maybe_done(sp);
}

static void on_closed(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;

	dpw_req_free(m);
	sp->answers_due--;
	maybe_done(sp);
}

/* ---- the other lcores --------------------------------------------------------------------- */

static err_t on_accept_here(void *arg, struct tcp_pcb *pcb, err_t err);

static NTSTATUS listen_here(struct dpw_spread *sp, unsigned me)
{
	struct tcp_pcb *pcb, *lpcb;
	err_t err;

	pcb = tcp_new_ip_type(sp->ip_type);
	if (pcb == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	/* Connections of an earlier listener may be in TIME_WAIT here: they give way, as they do
	 * on the listener's lcore (W5). So do another listener's copy and connections, where W5
	 * let the two share the port. Nothing else of this lcore is on the port: it was pinned to
	 * the listener's lcore until now, and binds to it move there (bind_move.c). */
	if ((err = dpw_bind_beside(pcb, &sp->ip, sp->port)) != ERR_OK) {
		tcp_close(pcb);
		return err == ERR_MEM ? STATUS_INSUFFICIENT_RESOURCES
				      : STATUS_ADDRESS_ALREADY_ASSOCIATED;
	}
	lpcb = tcp_listen_with_backlog_and_err(pcb, TCP_DEFAULT_LISTEN_BACKLOG, &err);
	if (lpcb == NULL) {
		tcp_close(pcb);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	lpcb->so_options |= sp->so_options;
	sp->opt[me] = sp->terms.opt;
	tcp_arg(lpcb, sp);
	tcp_accept(lpcb, on_accept_here);
	sp->pcb[me] = lpcb;
	return STATUS_SUCCESS;
}

/* F7 on this lcore, while the listener is open: true if the event was offered it. */
static bool offer(struct dpw_spread *sp, struct dpw_socket *conn)
{
	struct dpw_socket *l = sp->listener;

	return atomic_load(&l->gen) == sp->listener_gen && !dpw_socket_gone(l) &&
	       dpw_tcp_offer_to_accept_event(l, conn);
}

static err_t on_accept_here(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct dpw_spread *sp = arg;
	struct dpw_socket *l = sp->listener, *conn;
	struct dpw_listen_terms terms = sp->terms;
	struct dpw_req *m;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	terms.opt = sp->opt[dpw_lcore_here()];
	conn = dpw_tcp_accept_pcb(&terms, pcb);
	if (conn == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	/* It holds the port as the listener does; when the listener (and every connection it
	 * had) has gone, the port is no longer spread, and this one goes too. */
	if (!dpw_socket_join_port(conn, sp->port)) {
		dpw_socket_destroy(conn);
		return ERR_ABRT;
	}
	if (atomic_load_explicit(&l->accepts_issued, memory_order_relaxed) == 0 && offer(sp, conn))
		return conn->t.tcp.pcb == NULL ? ERR_ABRT : ERR_OK;
	m = dpw_req_new(DPW_OP_SPREAD, NULL);
	if (m == NULL) {
		dpw_socket_destroy(conn);
		return ERR_ABRT;
	}
	m->u.spread.sp = sp;
	m->u.spread.conn = conn;
	atomic_fetch_add_explicit(&dpw_counters.accepts_handed_over, 1, memory_order_relaxed);
	send_msg(m, SP_ACCEPTED, sp->home);
	return ERR_OK;
}

static void on_listen(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;

	m->u.spread.status = listen_here(sp, dpw_lcore_here());
	send_msg(m, SP_LISTENING, sp->home);
}

static void on_offer(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;

	struct dpw_socket *conn = m->u.spread.conn;

	if (offer(sp, conn)) {
		/* Taken (or refused and reset). Data that came meanwhile is indicated now, as
		 * when events are enabled (F7). */
		if (conn->t.tcp.pcb != NULL && !dpw_socket_gone(conn))
			dpw_tcp_rx_deliver(conn);
		dpw_req_free(m);
		return;
	}
	m->u.spread.offered = true;
	send_msg(m, SP_ACCEPTED, sp->home);
}

static void on_adopt(struct dpw_req *m)
{
	struct dpw_socket *conn = m->u.spread.conn;

	dpw_tcp_take_accepted(conn, m->u.spread.accept);
	dpw_tcp_indicate_send_backlog(conn);
	send_msg(m, SP_ADOPTED, m->u.spread.sp->home);
}

static void on_refuse(struct dpw_req *m)
{
	struct dpw_socket *conn = m->u.spread.conn;

	dpw_req_free(m);
	dpw_socket_destroy(conn);   /* never the client's: reset */
}

static void on_options(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;
	struct dpw_sockopts *copy = m->u.spread.payload;
	unsigned me = dpw_lcore_here();

	sp->opt[me] = *copy;
	if (sp->pcb[me] != NULL) {   /* a listening pcb takes keepalive only (tcp_pcb.c) */
		if (copy->keepalive)
			sp->pcb[me]->so_options |= SOF_KEEPALIVE;
		else
			sp->pcb[me]->so_options &= (u8_t)~SOF_KEEPALIVE;
	}
	free(copy);
	dpw_req_free(m);
}

static void on_close(struct dpw_req *m)
{
	struct dpw_spread *sp = m->u.spread.sp;
	unsigned me = dpw_lcore_here();
	struct tcp_pcb *pcb = sp->pcb[me];

	if (pcb != NULL) {
		tcp_arg(pcb, NULL);
		tcp_accept(pcb, NULL);
		tcp_close(pcb);
		sp->pcb[me] = NULL;
	}
	send_msg(m, SP_CLOSED, sp->home);
}

void dpw_tcp_spread_message(struct dpw_req *m)
{
	switch ((enum spread_msg)m->u.spread.what) {
	case SP_LISTEN: on_listen(m); break;
	case SP_LISTENING: on_listening(m); break;
	case SP_ACCEPTED: on_accepted(m); break;
	case SP_OFFER: on_offer(m); break;
	case SP_ADOPT: on_adopt(m); break;
	case SP_ADOPTED: on_adopted(m); break;
	case SP_REFUSE: on_refuse(m); break;
	case SP_OPTIONS: on_options(m); break;
	case SP_CLOSE: on_close(m); break;
	case SP_CLOSED: on_closed(m); break;
	}
}
