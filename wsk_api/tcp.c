/* Connection, stream and listening sockets over lwIP's raw TCP API, on the lcore.
 *
 * Receive (F4): data lands in s->rx (the received mbufs, no copy); pending WskReceive IRPs
 * are served first, in order; with none pending and the receive event on, the data is
 * indicated in place (F7). Send (F3): bytes are copied into lwIP's send buffer and the IRP
 * completes once all of them are in; the rest waits for lwIP's sent callback. Disconnect
 * (F5): graceful after the queued sends, completing when our FIN is acknowledged; abortive
 * is a RST. Close is in close.c; it calls dpw_tcp_close() for the transport. */
#include <stdlib.h>
#include <string.h>

#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "socket_internal.h"

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void on_err(void *arg, err_t err);
static void rx_deliver(struct dpw_socket *s);
static void tx_pump(struct dpw_socket *s);

/* ---- disconnects in progress: checked each loop pass ---------------------------------------- */

#define MAX_DISCONNECTING 65536
static struct dpw_socket *disconnecting[MAX_DISCONNECTING];
static unsigned nb_disconnecting;

static void list_disconnecting(struct dpw_socket *s)
{
	if (!s->disconnect_listed && nb_disconnecting < MAX_DISCONNECTING) {
		s->disconnect_slot = nb_disconnecting;
		disconnecting[nb_disconnecting++] = s;
		s->disconnect_listed = true;
	}
}

/* Swap the last entry into s's slot: no search, whatever the list's length. */
static void unlist_disconnecting(struct dpw_socket *s)
{
	struct dpw_socket *last;

	if (!s->disconnect_listed)
		return;
	last = disconnecting[--nb_disconnecting];
	disconnecting[s->disconnect_slot] = last;
	last->disconnect_slot = s->disconnect_slot;
	s->disconnect_listed = false;
}

/* Our FIN is acknowledged once lwIP leaves FIN_WAIT_1/CLOSING/LAST_ACK. */
static bool fin_acknowledged(struct dpw_socket *s)
{
	if (s->pcb.tcp == NULL)
		return s->graceful_closed;
	return s->pcb.tcp->state == FIN_WAIT_2 || s->pcb.tcp->state == TIME_WAIT;
}

static void detach_pcb(struct tcp_pcb *pcb);

/* Once both FINs are through, lwIP keeps the pcb in TIME_WAIT and frees it later without a
 * callback (also when it reclaims TIME_WAIT pcbs under pressure): let go of it now, so that
 * the socket never holds a pcb lwIP may have recycled. TIME_WAIT is the transport's (C3). */
static void release_time_wait(struct dpw_socket *s)
{
	if (s->pcb.tcp != NULL && s->pcb.tcp->state == TIME_WAIT) {
		detach_pcb(s->pcb.tcp);
		s->pcb.tcp = NULL;
		s->graceful_closed = true;
		s->tstate = DPW_TCP_CLOSED;
	}
}

void dpw_tcp_poll(void)
{
	for (unsigned i = 0; i < nb_disconnecting;) {
		struct dpw_socket *s = disconnecting[i];

		release_time_wait(s);

		if (s->fin_sent && fin_acknowledged(s)) {
			unlist_disconnecting(s);   /* slot i now holds the next one to look at */
			if (s->disconnectq.head != NULL) {
				struct dpw_req *r = dpw_queue_pop(&s->disconnectq);

				dpw_req_complete(r, STATUS_SUCCESS, r->done);
			}
			continue;
		}
		i++;
	}
}

/* ---- helpers ----------------------------------------------------------------------------------- */

void dpw_callback_leave(struct dpw_socket *s)
{
	if (--s->in_callback == 0 && s->close_req != NULL)
		dpw_close_after_callback(s);
}

static bool socket_gone(struct dpw_socket *s)
{
	return atomic_load_explicit(&s->handle_state, memory_order_relaxed) != DPW_HANDLE_LIVE;
}

static void attach_pcb(struct dpw_socket *s, struct tcp_pcb *pcb)
{
	s->pcb.tcp = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
}

static void detach_pcb(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

static void remember_addresses(struct dpw_socket *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;

	dpw_lwip_to_sockaddr(&pcb->local_ip, pcb->local_port, &s->local_addr);
	s->has_local = true;
	if (pcb->state != LISTEN && pcb->remote_port != 0) {
		dpw_lwip_to_sockaddr(&pcb->remote_ip, pcb->remote_port, &s->remote_addr);
		s->has_remote = true;
	}
}

static void pend(struct dpw_req_queue *q, struct dpw_req *r)
{
	dpw_queue_push(q, r);
	dpw_arm_cancel(r);
}

void dpw_socket_drop_rx(struct dpw_socket *s)
{
	if (s->rx != NULL) {
		pbuf_free(s->rx);
		s->rx = NULL;
		s->rx_len = 0;
	}
}

/* The transport took n more bytes off our hands: reopen the window by that much. */
static void window_update(struct dpw_socket *s, uint32_t n)
{
	while (n > 0 && s->pcb.tcp != NULL) {
		u16_t chunk = (u16_t)(n > 0xffff ? 0xffff : n);

		tcp_recved(s->pcb.tcp, chunk);
		n -= chunk;
	}
}

/* Copy up to max bytes from the head of s->rx into buf, offset bytes past the buffer's own
 * Offset (as DpwCopyToWskBuf counts), then drop them. */
static uint32_t rx_take(struct dpw_socket *s, PWSK_BUF buf, SIZE_T offset, uint32_t max,
			bool discard)
{
	uint32_t n = max < s->rx_len ? max : s->rx_len, copied = 0;

	for (struct pbuf *q = s->rx; q != NULL && copied < n; q = q->next) {
		uint32_t piece = q->len < n - copied ? q->len : n - copied;

		if (!discard)
			DpwCopyToWskBuf(buf, offset + copied, q->payload, piece);
		copied += piece;
	}
	for (uint32_t left = copied; left > 0;) {
		u16_t chunk = (u16_t)(left > 0xffff ? 0xffff : left);   /* lwIP's u16_t sizes */

		s->rx = pbuf_free_header(s->rx, chunk);
		left -= chunk;
	}
	s->rx_len -= copied;
	window_update(s, copied);
	return copied;
}

/* ---- events (F7) --------------------------------------------------------------------------- */

/* A stream socket's client table holds both kinds (R5): Listen and Connect. */
static const WSK_CLIENT_CONNECTION_DISPATCH *conn_events(struct dpw_socket *s)
{
	if (s->client_dispatch != NULL && s->category == WSK_FLAG_STREAM_SOCKET)
		return ((const WSK_CLIENT_STREAM_DISPATCH *)s->client_dispatch)->Connect;
	return (const WSK_CLIENT_CONNECTION_DISPATCH *)s->client_dispatch;
}

static const WSK_CLIENT_LISTEN_DISPATCH *listen_events(struct dpw_socket *s)
{
	if (s->client_dispatch != NULL && s->category == WSK_FLAG_STREAM_SOCKET)
		return ((const WSK_CLIENT_STREAM_DISPATCH *)s->client_dispatch)->Listen;
	return (const WSK_CLIENT_LISTEN_DISPATCH *)s->client_dispatch;
}

/* One received pbuf lent to the client as a data indication. */
struct dpw_indication {
	WSK_DATA_INDICATION di;      /* first: the client sees a PWSK_DATA_INDICATION */
	MDL mdl;
	struct pbuf *p;
	struct dpw_lent lent;        /* on the client's list while retained (C9) */
};

static void free_indications(struct dpw_indication *first, bool free_data)
{
	while (first != NULL) {
		struct dpw_indication *next = (struct dpw_indication *)first->di.Next;

		dpw_lent_forget(&first->lent);
		if (free_data)
			pbuf_free(first->p);
		free(first);
		first = next;
	}
}

/* WskDeregister's sweep of an indication never released (lent.c). */
static void free_lent(struct dpw_lent *l)
{
	struct dpw_indication *d =
		(struct dpw_indication *)((char *)l - offsetof(struct dpw_indication, lent));

	pbuf_free(d->p);
	free(d);
}

/* Lent before the receive event runs (a WskRelease from inside it runs inline), taken back
 * if the event did not retain them. */
static void lend_all(struct dpw_client *c, struct dpw_indication *first, bool lend)
{
	for (struct dpw_indication *d = first; d != NULL; d = (struct dpw_indication *)d->di.Next)
		if (lend)
			dpw_lent_keep(c, &d->lent, free_lent);
		else
			dpw_lent_forget(&d->lent);
}

void dpw_release_execute(struct dpw_req *r)
{
	/* C9: whatever became of the socket, the indications and their data go now. */
	free_indications((struct dpw_indication *)r->u.release.list, true);
	dpw_req_free(r);
}

static struct pbuf *rejoin(struct dpw_indication *first);

/* Split s->rx into single pbufs, each described by one indication (no copy). On failure
 * s->rx is whole again and NULL is returned. */
static struct dpw_indication *build_indications(struct dpw_socket *s)
{
	struct dpw_indication *first = NULL, *last = NULL;
	struct pbuf *q = s->rx;

	while (q != NULL) {
		struct pbuf *next = q->next;
		struct dpw_indication *d = calloc(1, sizeof(*d));

		if (d == NULL) {
			/* Out of memory: put the pbufs split off so far back in front of the rest. */
			struct pbuf *head = rejoin(first);

			if (head != NULL)
				pbuf_cat(head, q);
			s->rx = head != NULL ? head : q;
			free_indications(first, false);
			return NULL;
		}
		q->next = NULL;
		q->tot_len = q->len;
		d->p = q;
		MmInitializeMdl(&d->mdl, q->payload, q->len);
		d->di.Buffer.Mdl = &d->mdl;
		d->di.Buffer.Offset = 0;
		d->di.Buffer.Length = q->len;
		if (last != NULL)
			last->di.Next = &d->di;
		else
			first = d;
		last = d;
		q = next;
	}
	return first;
}

static struct pbuf *rejoin(struct dpw_indication *first)
{
	struct pbuf *head = NULL;

	for (struct dpw_indication *d = first; d != NULL; d = (struct dpw_indication *)d->di.Next)
		if (head == NULL)
			head = d->p;
		else
			pbuf_cat(head, d->p);
	return head;
}

static void indicate_receive(struct dpw_socket *s)
{
	const WSK_CLIENT_CONNECTION_DISPATCH *ev = conn_events(s);
	struct dpw_indication *list;
	SIZE_T accepted = 0;
	uint32_t len = s->rx_len;
	NTSTATUS st;

	if (len == 0 || ev == NULL || ev->WskReceiveEvent == NULL ||
	    !(s->events & WSK_EVENT_RECEIVE) || s->receive_event_blocked)
		return;
	list = build_indications(s);
	if (list == NULL)
		return;
	s->rx = NULL;
	s->rx_len = 0;
	lend_all(s->client, list, true);
	dpw_callback_enter(s);
	st = ev->WskReceiveEvent(s->context, 0, &list->di, len, &accepted);
	if (st != STATUS_PENDING)
		lend_all(s->client, list, false);
	if (st == STATUS_PENDING) {
		/* Retained: the client owns the data until WskRelease (F7, C9). */
		window_update(s, len);
	} else if (st == STATUS_DATA_NOT_ACCEPTED) {
		/* Keep it for the next WskReceive, and stop indicating until then. */
		s->rx = rejoin(list);
		s->rx_len = len;
		free_indications(list, false);
		s->receive_event_blocked = true;
	} else {
		free_indications(list, true);
		window_update(s, len);
	}
	dpw_callback_leave(s);
}

static void indicate_disconnect(struct dpw_socket *s, ULONG flags)
{
	const WSK_CLIENT_CONNECTION_DISPATCH *ev = conn_events(s);

	/* C5: a receive event just before may have closed the socket (and dropped what was
	 * left of its data, so the FIN looks due): no callback once the socket is closing. */
	if (socket_gone(s) || s->disconnect_indicated || ev == NULL ||
	    ev->WskDisconnectEvent == NULL || !(s->events & WSK_EVENT_DISCONNECT))
		return;
	s->disconnect_indicated = true;
	dpw_callback_enter(s);
	ev->WskDisconnectEvent(s->context, flags);
	dpw_callback_leave(s);
}

/* ---- receive (F4) ------------------------------------------------------------------------ */

static void rx_deliver(struct dpw_socket *s)
{
	struct dpw_req *r;

	while ((r = s->recvq.head) != NULL && !socket_gone(s)) {
		PWSK_BUF buf = r->u.io.buf;
		bool ended = s->fin_received || s->reset;

		if (r->flags & WSK_FLAG_DRAIN) {
			/* Discard whatever arrives; complete when the peer is done (or on cancel). */
			r->done += rx_take(s, NULL, 0, s->rx_len, true);
			if (!ended)
				return;
		} else if (buf->Length == 0) {
			/* A zero-length receive completes when there is data (left in place). */
			if (s->rx_len == 0 && !ended)
				return;
		} else {
			r->done += rx_take(s, buf, r->done,
					   (uint32_t)(buf->Length - r->done), false);
			if (r->done < buf->Length && !ended &&
			    (r->done == 0 || (r->flags & WSK_FLAG_WAITALL)))
				return;
		}
		dpw_queue_pop(&s->recvq);
		if (s->reset && r->done == 0 && s->rx_len == 0)
			dpw_req_complete(r, s->reset_status, 0);
		else
			dpw_req_complete(r, STATUS_SUCCESS, r->done);   /* F4: FIN -> 0 bytes */
	}
	if (socket_gone(s))
		return;
	indicate_receive(s);
	if (s->fin_received && s->rx_len == 0)
		indicate_disconnect(s, 0);
}

static void do_receive(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (s->tstate != DPW_TCP_CONNECTED && s->tstate != DPW_TCP_DISCONNECTING &&
	    s->tstate != DPW_TCP_CLOSED) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	/* F7: a receive call re-enables indications stopped by STATUS_DATA_NOT_ACCEPTED. */
	s->receive_event_blocked = false;
	pend(&s->recvq, r);
	rx_deliver(s);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct dpw_socket *s = arg;

	(void)pcb;
	if (s == NULL) {   /* detached while lwIP still had the segment */
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (err != ERR_OK) {
		if (p != NULL)
			pbuf_free(p);
		return ERR_OK;
	}
	if (p == NULL) {
		s->fin_received = true;
		release_time_wait(s);
	} else {
		if (s->rx == NULL)
			s->rx = p;
		else
			pbuf_cat(s->rx, p);
		s->rx_len += p->tot_len;
	}
	rx_deliver(s);
	/* A callback inside rx_deliver may have closed and aborted the pcb. */
	return s->pcb.tcp == NULL && !s->graceful_closed && socket_gone(s) ? ERR_ABRT : ERR_OK;
}

/* ---- send (F3) ------------------------------------------------------------------------------ */

/* Write as much of r's buffer as lwIP takes; true when all of it is in. */
static bool write_buffer(struct tcp_pcb *pcb, struct dpw_req *r, PWSK_BUF buf, bool more)
{
	DPW_WSK_BUF_CURSOR cur;

	if (!DpwWskBufCursorInit(&cur, buf, r->done))
		return true;
	while (r->done < buf->Length) {
		u16_t room = tcp_sndbuf(pcb);
		PUCHAR data;
		SIZE_T piece;
		u8_t flags = TCP_WRITE_FLAG_COPY;

		if (room == 0)
			return false;
		piece = DpwWskBufCursorNext(&cur, &data, room);
		if (piece == 0)
			return true;   /* chain shorter than Length: validated before, cannot happen */
		if (more || r->done + piece < buf->Length)
			flags |= TCP_WRITE_FLAG_MORE;
		if (tcp_write(pcb, data, (u16_t)piece, flags) != ERR_OK)
			return false;   /* queue full: wait for on_sent */
		r->done += piece;
	}
	return true;
}

static void start_fin(struct dpw_socket *s)
{
	struct dpw_req *r = s->disconnectq.head;

	if (r == NULL || s->fin_sent || s->sendq.head != NULL || s->pcb.tcp == NULL)
		return;
	if (r->u.io.buf != NULL && !write_buffer(s->pcb.tcp, r, r->u.io.buf, false))
		return;
	if (tcp_shutdown(s->pcb.tcp, 0, 1) != ERR_OK)
		return;   /* out of memory for the FIN segment: retried on the next sent callback */
	s->fin_sent = true;
	s->tstate = DPW_TCP_DISCONNECTING;
	list_disconnecting(s);
}

static void tx_pump(struct dpw_socket *s)
{
	struct dpw_req *r;
	bool nodelay = false;

	if (s->pcb.tcp == NULL)
		return;
	while ((r = s->sendq.head) != NULL) {
		if (!write_buffer(s->pcb.tcp, r, r->u.io.buf, r->next != NULL))
			break;
		nodelay |= (r->flags & WSK_FLAG_NODELAY) != 0;
		dpw_queue_pop(&s->sendq);
		dpw_req_complete(r, STATUS_SUCCESS, r->done);
	}
	start_fin(s);
	if (s->pcb.tcp == NULL)
		return;
	if (nodelay && !tcp_nagle_disabled(s->pcb.tcp)) {
		/* F3: WSK_FLAG_NODELAY for this send only. */
		tcp_nagle_disable(s->pcb.tcp);
		tcp_output(s->pcb.tcp);
		tcp_nagle_enable(s->pcb.tcp);
	} else {
		tcp_output(s->pcb.tcp);
	}
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct dpw_socket *s = arg;

	(void)pcb;
	(void)len;
	if (s != NULL)
		tx_pump(s);
	return ERR_OK;
}

static void do_send(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (s->reset) {
		dpw_req_complete(r, s->reset_status, 0);
		return;
	}
	if (s->tstate != DPW_TCP_CONNECTED || s->fin_sent || s->disconnectq.head != NULL) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	pend(&s->sendq, r);
	tx_pump(s);
}

/* What lwIP can hold in flight and queued for one connection: the most send data worth
 * keeping outstanding. It is fixed when the stack is built, so the event that reports it
 * runs once per connection and never again for a change. */
SIZE_T dpw_tcp_ideal_send_backlog(const struct dpw_socket *s)
{
	(void)s;
	return TCP_SND_BUF;
}

/* Events just enabled on a connection: data already received (and a FIN already seen) is
 * indicated now, not when more arrives; the send backlog is reported (F7). */
void dpw_tcp_events_enabled(struct dpw_socket *s, ULONG enabled)
{
	if (enabled & (WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT))
		rx_deliver(s);
	if ((enabled & WSK_EVENT_SEND_BACKLOG) && !socket_gone(s))
		dpw_tcp_indicate_send_backlog(s);
}

void dpw_tcp_indicate_send_backlog(struct dpw_socket *s)
{
	const WSK_CLIENT_CONNECTION_DISPATCH *ev = conn_events(s);

	if (!(s->events & WSK_EVENT_SEND_BACKLOG) || ev == NULL ||
	    ev->WskSendBacklogEvent == NULL || s->tstate != DPW_TCP_CONNECTED ||
	    s->close_req != NULL)
		return;
	dpw_callback_enter(s);
	ev->WskSendBacklogEvent(s->context, dpw_tcp_ideal_send_backlog(s));
	dpw_callback_leave(s);
}

/* ---- transport errors --------------------------------------------------------------------- */

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
	s->pcb.tcp = NULL;
	connecting = s->tstate == DPW_TCP_CONNECTING;
	s->tstate = DPW_TCP_CLOSED;
	if (err == ERR_CLSD) {
		s->graceful_closed = true;
		dpw_tcp_poll();
		return;
	}
	s->reset = true;
	s->reset_status = map_err(err, connecting);
	while ((r = dpw_queue_pop(&s->connectq)) != NULL) {
		if (r->op == DPW_OP_SOCKET_CONNECT) {
			/* The socket was never the client's: it goes with the failure. */
			struct dpw_socket *dead = r->sock;

			dpw_req_complete(r, s->reset_status, 0);
			dpw_socket_destroy(dead);
			return;
		}
		dpw_req_complete(r, s->reset_status, 0);
	}
	dpw_queue_complete_all(&s->sendq, s->reset_status);
	dpw_queue_complete_all(&s->disconnectq, s->reset_status);
	unlist_disconnecting(s);
	rx_deliver(s);   /* pending receives: unread data first, then the reset status */
	if (!socket_gone(s))
		indicate_disconnect(s, WSK_FLAG_ABORTIVE);
}

/* ---- bind, connect, listen, accept --------------------------------------------------------- */

static NTSTATUS ensure_pcb(struct dpw_socket *s)
{
	struct tcp_pcb *pcb;

	if (s->pcb.tcp != NULL)
		return STATUS_SUCCESS;
	pcb = tcp_new_ip_type(dpw_socket_ip_type(s));
	if (pcb == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	attach_pcb(s, pcb);
	dpw_options_apply(s);   /* SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY set before (F9) */
	return STATUS_SUCCESS;
}

static NTSTATUS bind_pcb(struct dpw_socket *s, const SOCKADDR *addr)
{
	ip_addr_t ip;
	uint16_t port;
	NTSTATUS st = dpw_sockaddr_for_socket(s, addr, &ip, &port);
	err_t err;

	if (st != STATUS_SUCCESS)
		return st;
	if (s->bound)
		return STATUS_INVALID_DEVICE_STATE;
	if (!dpw_ip_is_bindable(&ip))
		return STATUS_INVALID_ADDRESS_COMPONENT;   /* Windows' WSAEADDRNOTAVAIL */
	if ((st = ensure_pcb(s)) != STATUS_SUCCESS)
		return st;
	err = dpw_bind_pcb(s, &ip, port);   /* tcp_bind, with F2's sharing rules */
	if (err == ERR_USE)
		return STATUS_ADDRESS_ALREADY_ASSOCIATED;   /* F2 */
	if (err == ERR_BUF && port == 0)
		return STATUS_TOO_MANY_ADDRESSES;   /* no ephemeral port free */
	if (err != ERR_OK)
		return STATUS_INVALID_ADDRESS;
	s->bound = true;
	s->tstate = DPW_TCP_BOUND;
	remember_addresses(s);
	return STATUS_SUCCESS;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err);

static NTSTATUS start_listening(struct dpw_socket *s)
{
	struct tcp_pcb *lpcb;
	err_t err;

	detach_pcb(s->pcb.tcp);
	lpcb = tcp_listen_with_backlog_and_err(s->pcb.tcp, TCP_DEFAULT_LISTEN_BACKLOG, &err);
	if (lpcb == NULL) {
		attach_pcb(s, s->pcb.tcp);
		return err == ERR_USE ? STATUS_ADDRESS_ALREADY_ASSOCIATED
				      : STATUS_INSUFFICIENT_RESOURCES;
	}
	s->pcb.tcp = lpcb;
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, on_accept);
	s->tstate = DPW_TCP_LISTENING;
	return STATUS_SUCCESS;
}

static void do_bind(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	NTSTATUS st = bind_pcb(s, r->u.addr.addr);

	/* A listening socket listens as soon as it is bound (WSK semantics). */
	if (st == STATUS_SUCCESS && s->category == WSK_FLAG_LISTEN_SOCKET)
		st = start_listening(s);
	dpw_req_complete(r, st, 0);
}

static void do_listen(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (s->tstate != DPW_TCP_BOUND) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	dpw_req_complete(r, start_listening(r->sock), 0);
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
	s->tstate = DPW_TCP_CONNECTED;
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
		pend(&s->sendq, r);
		tx_pump(s);
	} else if (r != NULL) {
		if (r->op == DPW_OP_SOCKET_CONNECT)
			dpw_req_complete(r, STATUS_SUCCESS, (ULONG_PTR)&s->wsk);
		else
			dpw_req_complete(r, STATUS_SUCCESS, 0);
	}
	dpw_tcp_indicate_send_backlog(s);
	return s->pcb.tcp == NULL ? ERR_ABRT : ERR_OK;
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
	err = tcp_connect(s->pcb.tcp, &ip, port, on_connected);
	if (err == ERR_RTE)
		return STATUS_NETWORK_UNREACHABLE;
	if (err == ERR_USE)
		return STATUS_ADDRESS_ALREADY_ASSOCIATED;
	if (err != ERR_OK)
		return STATUS_INSUFFICIENT_RESOURCES;
	s->tstate = DPW_TCP_CONNECTING;
	pend(&s->connectq, r);
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
	if (s->tstate != DPW_TCP_BOUND) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	st = start_connect(s, r, r->u.addr.addr);
	if (st != STATUS_PENDING)
		dpw_req_complete(r, st, 0);
}

void dpw_tcp_socket_connect(struct dpw_req *r)
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

/* Hand a transport-accepted connection to a waiting WskAccept IRP. */
static void complete_accept(struct dpw_socket *conn, struct dpw_req *r)
{
	conn->context = r->u.accept.ctx;
	conn->client_dispatch = r->u.accept.dispatch;
	conn->events = conn->client_dispatch != NULL ? conn->client->static_events : 0;
	dpw_copy_sockaddr(r->u.accept.local, &conn->local_addr);
	dpw_copy_sockaddr(r->u.accept.remote, &conn->remote_addr);
	conn->listener = NULL;
	dpw_req_complete(r, STATUS_SUCCESS, (ULONG_PTR)&conn->wsk);
	dpw_tcp_indicate_send_backlog(conn);
}

static void backlog_push(struct dpw_socket *l, struct dpw_socket *conn)
{
	conn->listener = l;
	conn->backlog_next = NULL;
	if (l->backlog_tail != NULL)
		l->backlog_tail->backlog_next = conn;
	else
		l->backlog_head = conn;
	l->backlog_tail = conn;
	l->backlog_len++;
}

static struct dpw_socket *backlog_pop(struct dpw_socket *l)
{
	struct dpw_socket *conn = l->backlog_head;

	if (conn != NULL) {
		l->backlog_head = conn->backlog_next;
		if (l->backlog_head == NULL)
			l->backlog_tail = NULL;
		l->backlog_len--;
		conn->backlog_next = NULL;
	}
	return conn;
}

/* The accept event (F7): the client takes the connection now, or refuses it. */
static bool offer_to_accept_event(struct dpw_socket *l, struct dpw_socket *conn)
{
	const WSK_CLIENT_LISTEN_DISPATCH *ev = listen_events(l);
	PVOID ctx = NULL;
	const WSK_CLIENT_CONNECTION_DISPATCH *dispatch = NULL;
	NTSTATUS st;

	if (ev == NULL || ev->WskAcceptEvent == NULL || !(l->events & WSK_EVENT_ACCEPT))
		return false;
	dpw_callback_enter(l);
	st = ev->WskAcceptEvent(l->context, 0, (PSOCKADDR)&conn->local_addr,
				(PSOCKADDR)&conn->remote_addr, &conn->wsk, &ctx, &dispatch);
	dpw_callback_leave(l);
	if (st == STATUS_SUCCESS) {
		conn->context = ctx;
		conn->client_dispatch = dispatch;
		conn->events = dispatch != NULL ? conn->client->static_events : 0;
		return true;
	}
	dpw_socket_destroy(conn);   /* refused: reset */
	return true;
}

#define DPW_ACCEPT_BACKLOG 1024

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct dpw_socket *l = arg, *conn;
	struct dpw_req *r;

	if (l == NULL || err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	if (l->backlog_len >= DPW_ACCEPT_BACKLOG ||
	    (conn = dpw_socket_alloc(l->client, WSK_FLAG_CONNECTION_SOCKET)) == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	conn->af = l->af;
	attach_pcb(conn, pcb);
	dpw_options_inherit(conn, l);   /* options and security descriptor (F9, F2) */
	conn->bound = true;
	conn->tstate = DPW_TCP_CONNECTED;
	remember_addresses(conn);
	/* F6: queued accept IRPs first, then the accept event, else the backlog. */
	r = dpw_queue_pop(&l->acceptq);
	if (r != NULL) {
		complete_accept(conn, r);
		return ERR_OK;
	}
	if (offer_to_accept_event(l, conn))
		return conn->pcb.tcp == NULL ? ERR_ABRT : ERR_OK;
	backlog_push(l, conn);
	return ERR_OK;
}

static void do_accept(struct dpw_req *r)
{
	struct dpw_socket *l = r->sock, *conn;

	if (l->tstate != DPW_TCP_LISTENING) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	conn = backlog_pop(l);
	if (conn != NULL) {
		complete_accept(conn, r);
		return;
	}
	pend(&l->acceptq, r);
}

/* ---- disconnect (F5) -------------------------------------------------------------------------- */

static void do_disconnect(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (s->tstate != DPW_TCP_CONNECTED && s->tstate != DPW_TCP_DISCONNECTING) {
		dpw_req_complete(r, s->reset ? s->reset_status : STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	if (r->flags & WSK_FLAG_ABORTIVE) {
		struct tcp_pcb *pcb = s->pcb.tcp;

		detach_pcb(pcb);
		tcp_abort(pcb);   /* RST */
		s->pcb.tcp = NULL;
		s->tstate = DPW_TCP_CLOSED;
		s->reset = true;
		s->reset_status = STATUS_CONNECTION_ABORTED;
		dpw_queue_complete_all(&s->sendq, STATUS_CONNECTION_ABORTED);
		dpw_queue_complete_all(&s->recvq, STATUS_CONNECTION_ABORTED);
		dpw_queue_complete_all(&s->disconnectq, STATUS_CONNECTION_ABORTED);
		unlist_disconnecting(s);
		dpw_req_complete(r, STATUS_SUCCESS, 0);
		return;
	}
	if (s->fin_sent || s->disconnectq.head != NULL) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	pend(&s->disconnectq, r);
	tx_pump(s);
}

/* ---- addresses, dispatch, close -------------------------------------------------------------- */

static void do_get_address(struct dpw_req *r, bool local)
{
	struct dpw_socket *s = r->sock;

	if (local ? !s->has_local : !s->has_remote) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);   /* F1 */
		return;
	}
	dpw_copy_sockaddr(r->u.addr.addr, local ? &s->local_addr : &s->remote_addr);
	dpw_req_complete(r, STATUS_SUCCESS, 0);
}

void dpw_tcp_execute(struct dpw_req *r)
{
	switch (r->op) {
	case DPW_OP_BIND: do_bind(r); break;
	case DPW_OP_CONNECT: do_connect(r); break;
	case DPW_OP_LISTEN: do_listen(r); break;
	case DPW_OP_ACCEPT: do_accept(r); break;
	case DPW_OP_SEND: do_send(r); break;
	case DPW_OP_RECEIVE: do_receive(r); break;
	case DPW_OP_DISCONNECT: do_disconnect(r); break;
	case DPW_OP_GET_LOCAL_ADDRESS: do_get_address(r, true); break;
	case DPW_OP_GET_REMOTE_ADDRESS: do_get_address(r, false); break;
	default: dpw_req_complete(r, STATUS_INVALID_DEVICE_REQUEST, 0); break;
	}
}

/* C3/C4: reset unless both directions are finished; a listener resets its backlog. */
void dpw_tcp_close(struct dpw_socket *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	struct dpw_socket *conn;

	unlist_disconnecting(s);
	while ((conn = backlog_pop(s)) != NULL)
		dpw_socket_destroy(conn);
	s->pcb.tcp = NULL;
	if (pcb == NULL)
		return;
	if (s->tstate == DPW_TCP_LISTENING) {
		tcp_arg(pcb, NULL);
		tcp_accept(pcb, NULL);
		tcp_close(pcb);
		return;
	}
	detach_pcb(pcb);
	switch (pcb->state) {
	case CLOSED:        /* bound or new, never connected: nothing on the wire */
		tcp_close(pcb);
		break;
	case TIME_WAIT:     /* both FINs exchanged and acknowledged: TIME_WAIT is lwIP's */
		break;
	default:            /* anything still open in either direction: RST, no TIME_WAIT */
		tcp_abort(pcb);
		break;
	}
}
