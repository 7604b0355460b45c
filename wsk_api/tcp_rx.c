/* TCP receive (F4), on the lcore. Data lands in s->t.tcp.rx (the received mbufs, no copy);
 * pending WskReceive IRPs are served first, in order; with none pending and the receive event
 * on, the data is indicated in place (F7), one indication per pbuf. Retained indications are
 * the client's until WskRelease, whatever becomes of the socket (C9). */
#include <stdlib.h>
#include <string.h>

#include "lwip/pbuf.h"

#include "objcache_internal.h"
#include "tcp_internal.h"

/* The transport took n more bytes off our hands: reopen the window by that much. */
static void window_update(struct dpw_socket *s, uint32_t n)
{
	while (n > 0 && s->t.tcp.pcb != NULL) {
		u16_t chunk = (u16_t)(n > 0xffff ? 0xffff : n);

		tcp_recved(s->t.tcp.pcb, chunk);
		n -= chunk;
	}
}

/* Copy up to max bytes from the head of s->t.tcp.rx into buf, offset bytes past the buffer's own
 * Offset (as DpwCopyToWskBuf counts), then drop them. */
static uint32_t rx_take(struct dpw_socket *s, PWSK_BUF buf, SIZE_T offset, uint32_t max,
			bool discard)
{
	uint32_t n = max < s->t.tcp.rx_len ? max : s->t.tcp.rx_len, copied = 0;

	for (struct pbuf *q = s->t.tcp.rx; q != NULL && copied < n; q = q->next) {
		uint32_t piece = q->len < n - copied ? q->len : n - copied;

		if (!discard)
			DpwCopyToWskBuf(buf, offset + copied, q->payload, piece);
		copied += piece;
	}
	for (uint32_t left = copied; left > 0;) {
		u16_t chunk = (u16_t)(left > 0xffff ? 0xffff : left);   /* lwIP's u16_t sizes */

		s->t.tcp.rx = pbuf_free_header(s->t.tcp.rx, chunk);
		left -= chunk;
	}
	s->t.tcp.rx_len -= copied;
	window_update(s, copied);
	return copied;
}

/* One received pbuf lent to the client as a data indication. */
struct dpw_indication {
	WSK_DATA_INDICATION di;      /* first: the client sees a PWSK_DATA_INDICATION */
	MDL mdl;
	struct pbuf *p;
	struct dpw_lent lent;        /* on the client's list while retained (C9) */
	struct dpw_socket *sock;     /* whose window it holds shut while retained */
	uint32_t gen;                /* sock's generation then: a reused slot is not it */
};

/* Indications come from the lcore's cache: no heap call per received segment. */
static struct dpw_objcache indications[DPW_MAX_LCORES] = {
	[0 ... DPW_MAX_LCORES - 1] = DPW_OBJCACHE(sizeof(struct dpw_indication), 64, &dpw_counters.heap_indications)
};

static void free_indications(struct dpw_indication *first, bool free_data)
{
	while (first != NULL) {
		struct dpw_indication *next = (struct dpw_indication *)first->di.Next;

		dpw_lent_forget(&first->lent);
		if (free_data)
			pbuf_free(first->p);
		dpw_objcache_put(&indications[dpw_lcore_here()], first);
		first = next;
	}
}

/* WskDeregister's sweep of an indication never released (lent.c). */
static void free_lent(struct dpw_lent *l)
{
	struct dpw_indication *d =
		(struct dpw_indication *)((char *)l - offsetof(struct dpw_indication, lent));

	pbuf_free(d->p);
	dpw_objcache_put(&indications[dpw_lcore_here()], d);
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

/* Data a client retained counts against the connection's receive window until it gives it
 * back: the peer can have no more outstanding than the window, and a client that holds on to
 * everything holds at most that much of the mbuf pool, not all of it. */
static void reopen_window(struct dpw_socket *s, uint32_t gen, uint32_t bytes)
{
	if (bytes > 0 && atomic_load_explicit(&s->gen, memory_order_relaxed) == gen &&
	    !dpw_socket_gone(s))
		window_update(s, bytes);
}

unsigned dpw_tcp_lent_by(const VOID *list)
{
	return ((const struct dpw_indication *)list)->lent.lcore;
}

void dpw_tcp_release(struct dpw_req *r)
{
	struct dpw_indication *d = (struct dpw_indication *)r->u.release.list;
	struct dpw_socket *s = NULL;
	uint32_t gen = 0, bytes = 0;

	/* C9: whatever became of the socket, the indications and their data go now. One walk;
	 * the window reopens once per run of one connection's indications (a list usually holds
	 * one connection's), not once per segment. */
	while (d != NULL) {
		struct dpw_indication *next = (struct dpw_indication *)d->di.Next;

		if (d->sock != s || d->gen != gen) {
			if (s != NULL)
				reopen_window(s, gen, bytes);
			s = d->sock;
			gen = d->gen;
			bytes = 0;
		}
		bytes += d->p->len;
		d->di.Next = NULL;
		free_indications(d, true);
		d = next;
	}
	if (s != NULL)
		reopen_window(s, gen, bytes);
	dpw_req_free(r);
}

static struct pbuf *rejoin(struct dpw_indication *first);


/* Split s->t.tcp.rx into single pbufs, each described by one indication (no copy). On failure
 * s->t.tcp.rx is whole again and NULL is returned. */
static struct dpw_indication *build_indications(struct dpw_socket *s)
{
	struct dpw_indication *first = NULL, *last = NULL;
	struct pbuf *q = s->t.tcp.rx;

	while (q != NULL) {
		struct pbuf *next = q->next;
		struct dpw_indication *d = dpw_objcache_get(&indications[dpw_lcore_here()]);

		if (d == NULL) {
			/* Out of memory: put the pbufs split off so far back in front of the rest. */
			struct pbuf *head = rejoin(first);

			if (head != NULL)
				pbuf_cat(head, q);
			s->t.tcp.rx = head != NULL ? head : q;
			free_indications(first, false);
			return NULL;
		}
		q->next = NULL;
		q->tot_len = q->len;
		d->p = q;
		d->sock = s;
		d->gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
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

/* Sockets whose received data could not be indicated for want of memory: tried again each
 * loop pass, so that data already here reaches the receive event once memory is back, not
 * only when the peer sends more. Doubly linked: a close takes a socket off in O(1). One list
 * per lcore, of its own sockets. */
static struct {
	DPW_LCORE_ALIGNED struct dpw_socket *head;
} retry[DPW_MAX_LCORES];

static void retry_list(struct dpw_socket *s)
{
	struct dpw_socket **retry_head = &retry[dpw_socket_owner(s)].head;

	if (s->t.tcp.retry_listed)
		return;
	s->t.tcp.retry_prev = NULL;
	s->t.tcp.retry_next = *retry_head;
	if (*retry_head != NULL)
		(*retry_head)->t.tcp.retry_prev = s;
	*retry_head = s;
	s->t.tcp.retry_listed = true;
}

static void retry_unlist(struct dpw_socket *s)
{
	struct dpw_socket **retry_head = &retry[dpw_socket_owner(s)].head;

	if (!s->t.tcp.retry_listed)
		return;
	if (s->t.tcp.retry_prev != NULL)
		s->t.tcp.retry_prev->t.tcp.retry_next = s->t.tcp.retry_next;
	else
		*retry_head = s->t.tcp.retry_next;
	if (s->t.tcp.retry_next != NULL)
		s->t.tcp.retry_next->t.tcp.retry_prev = s->t.tcp.retry_prev;
	s->t.tcp.retry_listed = false;
}

void dpw_tcp_rx_retry(void)
{
	struct dpw_socket **retry_head = &retry[dpw_lcore_here()].head;
	struct dpw_socket *s = *retry_head, *next;

	if (s == NULL)
		return;   /* every pass: only a read */
	*retry_head = NULL;   /* each one relists itself if it fails again */
	for (; s != NULL; s = next) {
		next = s->t.tcp.retry_next;
		s->t.tcp.retry_listed = false;
		if (!dpw_socket_gone(s))
			dpw_tcp_rx_deliver(s);
	}
}

static void indicate_receive(struct dpw_socket *s)
{
	const WSK_CLIENT_CONNECTION_DISPATCH *ev = dpw_tcp_conn_events(s);
	struct dpw_indication *list;
	SIZE_T accepted = 0;
	uint32_t len = s->t.tcp.rx_len;
	NTSTATUS st;

	if (len == 0 || ev == NULL || ev->WskReceiveEvent == NULL ||
	    !(s->events & WSK_EVENT_RECEIVE) || s->t.tcp.receive_event_blocked)
		return;
	list = build_indications(s);
	if (list == NULL) {
		retry_list(s);   /* out of memory: the data waits, and is tried again next pass */
		return;
	}
	s->t.tcp.rx = NULL;
	s->t.tcp.rx_len = 0;
	lend_all(s->client, list, true);
	dpw_callback_enter(s);
	st = ev->WskReceiveEvent(s->context, 0, &list->di, len, &accepted);
	if (st != STATUS_PENDING)
		lend_all(s->client, list, false);
	if (st == STATUS_PENDING) {
		/* Retained: the client owns the data until WskRelease (F7, C9), and the window
		 * reopens then (dpw_tcp_release). */
	} else if (st == STATUS_DATA_NOT_ACCEPTED) {
		/* Keep it for the next WskReceive, and stop indicating until then. */
		s->t.tcp.rx = rejoin(list);
		s->t.tcp.rx_len = len;
		free_indications(list, false);
		s->t.tcp.receive_event_blocked = true;
	} else {
		free_indications(list, true);
		window_update(s, len);
	}
	dpw_callback_leave(s);
}

void dpw_tcp_indicate_disconnect(struct dpw_socket *s, ULONG flags)
{
	const WSK_CLIENT_CONNECTION_DISPATCH *ev = dpw_tcp_conn_events(s);

	/* C5: a receive event just before may have closed the socket (and dropped what was
	 * left of its data, so the FIN looks due): no callback once the socket is closing. */
	if (dpw_socket_gone(s) || s->t.tcp.disconnect_indicated || ev == NULL ||
	    ev->WskDisconnectEvent == NULL || !(s->events & WSK_EVENT_DISCONNECT))
		return;
	s->t.tcp.disconnect_indicated = true;
	dpw_callback_enter(s);
	ev->WskDisconnectEvent(s->context, flags);
	dpw_callback_leave(s);
}

void dpw_tcp_rx_deliver(struct dpw_socket *s)
{
	struct dpw_req *r;

	while ((r = s->recvq.head) != NULL && !dpw_socket_gone(s)) {
		PWSK_BUF buf = r->u.io.buf;
		bool ended = dpw_tcp_peer_done(s);

		if (r->flags & WSK_FLAG_DRAIN) {
			/* Discard whatever arrives; complete when the peer is done (or on cancel). */
			r->done += rx_take(s, NULL, 0, s->t.tcp.rx_len, true);
			if (!ended)
				return;
		} else if (buf->Length == 0) {
			/* A zero-length receive completes when there is data (left in place). */
			if (s->t.tcp.rx_len == 0 && !ended)
				return;
		} else {
			r->done += rx_take(s, buf, r->done,
					   (uint32_t)(buf->Length - r->done), false);
			if (r->done < buf->Length && !ended &&
			    (r->done == 0 || (r->flags & WSK_FLAG_WAITALL)))
				return;
		}
		dpw_queue_pop(&s->recvq);
		if (s->t.tcp.state == DPW_TCP_RESET && r->done == 0 && s->t.tcp.rx_len == 0)
			dpw_req_complete(r, s->t.tcp.reset_status, 0);
		else
			dpw_req_complete(r, STATUS_SUCCESS, r->done);   /* F4: FIN -> 0 bytes */
	}
	if (dpw_socket_gone(s))
		return;
	indicate_receive(s);
	if ((s->t.tcp.state == DPW_TCP_RECEIVE_CLOSED || s->t.tcp.state == DPW_TCP_DISCONNECTED) &&
	    s->t.tcp.rx_len == 0)
		dpw_tcp_indicate_disconnect(s, 0);
}

void dpw_tcp_receive(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (s->t.tcp.state < DPW_TCP_OPEN) {   /* established once: what is left, then the end */
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	/* F7: a receive call re-enables indications stopped by STATUS_DATA_NOT_ACCEPTED. */
	s->t.tcp.receive_event_blocked = false;
	dpw_pend(&s->recvq, r);
	dpw_tcp_rx_deliver(s);
}

err_t dpw_tcp_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
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
		dpw_tcp_set_state(s, s->t.tcp.state == DPW_TCP_SEND_CLOSED ? DPW_TCP_DISCONNECTED
									     : DPW_TCP_RECEIVE_CLOSED);
		dpw_tcp_release_time_wait(s);
	} else {
		if (s->t.tcp.rx == NULL)
			s->t.tcp.rx = p;
		else
			pbuf_cat(s->t.tcp.rx, p);
		s->t.tcp.rx_len += p->tot_len;
	}
	dpw_tcp_rx_deliver(s);
	/* A callback inside rx_deliver may have closed and aborted the pcb. */
	return s->t.tcp.pcb == NULL && s->t.tcp.state != DPW_TCP_DISCONNECTED && dpw_socket_gone(s)
		       ? ERR_ABRT : ERR_OK;
}

void dpw_tcp_drop_rx(struct dpw_socket *s)
{
	retry_unlist(s);
	if (s->t.tcp.rx != NULL) {
		pbuf_free(s->t.tcp.rx);
		s->t.tcp.rx = NULL;
		s->t.tcp.rx_len = 0;
	}
}

NTSTATUS dpw_tcp_receive_backlog(const struct dpw_socket *s, SIZE_T *bytes)
{
	if (!dpw_tcp_was_connected(s))
		return STATUS_INVALID_DEVICE_STATE;   /* "after connected" */
	*bytes = s->t.tcp.rx_len;
	return STATUS_SUCCESS;
}
