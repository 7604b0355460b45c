/* TCP send (F3) and the FIN of a graceful disconnect (F5), on the lcore. Bytes are copied
 * into lwIP's send buffer and the IRP completes once all of them are in; the rest waits for
 * lwIP's sent callback. A graceful disconnect sends its FIN after the queued sends and
 * completes when the FIN is acknowledged, which no lwIP callback announces: such sockets are
 * listed and looked at once per loop pass. */
#include "tcp_internal.h"

/* One list per lcore, of its own sockets. (Untouched, an lcore's list costs address space
 * only.) */
#define MAX_DISCONNECTING 65536
static struct disconnecting {
	DPW_LCORE_ALIGNED unsigned n;
	struct dpw_socket *list[MAX_DISCONNECTING];
} disconnecting[DPW_MAX_LCORES];

static void list_disconnecting(struct dpw_socket *s)
{
	struct disconnecting *d = &disconnecting[dpw_socket_owner(s)];

	if (!s->t.tcp.disconnect_listed && d->n < MAX_DISCONNECTING) {
		s->t.tcp.disconnect_slot = d->n;
		d->list[d->n++] = s;
		s->t.tcp.disconnect_listed = true;
	}
}


/* Swap the last entry into s's slot: no search, whatever the list's length. */
void dpw_tcp_unlist_disconnecting(struct dpw_socket *s)
{
	struct disconnecting *d = &disconnecting[dpw_socket_owner(s)];
	struct dpw_socket *last;

	if (!s->t.tcp.disconnect_listed)
		return;
	last = d->list[--d->n];
	d->list[s->t.tcp.disconnect_slot] = last;
	last->t.tcp.disconnect_slot = s->t.tcp.disconnect_slot;
	s->t.tcp.disconnect_listed = false;
}

/* Our FIN is acknowledged once lwIP leaves FIN_WAIT_1/CLOSING/LAST_ACK. */
static bool fin_acknowledged(struct dpw_socket *s)
{
	if (s->t.tcp.pcb == NULL)
		return s->t.tcp.state == DPW_TCP_DISCONNECTED;   /* not by a reset */
	return s->t.tcp.pcb->state == FIN_WAIT_2 || s->t.tcp.pcb->state == TIME_WAIT;
}

void dpw_tcp_poll(void)
{
	struct disconnecting *d = &disconnecting[dpw_lcore_here()];

	for (unsigned i = 0; i < d->n;) {
		struct dpw_socket *s = d->list[i];

		dpw_tcp_release_time_wait(s);

		if (dpw_tcp_fin_out(s) && fin_acknowledged(s)) {
			dpw_tcp_unlist_disconnecting(s);   /* slot i now holds the next one to look at */
			if (s->disconnectq.head != NULL) {
				struct dpw_req *r = dpw_queue_pop(&s->disconnectq);

				dpw_req_complete(r, STATUS_SUCCESS, r->done);
			}
			continue;
		}
		i++;
	}
}

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
			return false;   /* queue full: wait for dpw_tcp_on_sent */
		r->done += piece;
	}
	return true;
}

static void start_fin(struct dpw_socket *s)
{
	struct dpw_req *r = s->disconnectq.head;

	if (r == NULL || dpw_tcp_fin_out(s) || s->sendq.head != NULL || s->t.tcp.pcb == NULL)
		return;
	if (r->u.io.buf != NULL && !write_buffer(s->t.tcp.pcb, r, r->u.io.buf, false))
		return;
	if (tcp_shutdown(s->t.tcp.pcb, 0, 1) != ERR_OK)
		return;   /* out of memory for the FIN segment: retried on the next sent callback */
	dpw_tcp_set_state(s, s->t.tcp.state == DPW_TCP_RECEIVE_CLOSED ? DPW_TCP_DISCONNECTED
								    : DPW_TCP_SEND_CLOSED);
	list_disconnecting(s);
}

void dpw_tcp_tx_pump(struct dpw_socket *s)
{
	struct dpw_req *r;
	bool nodelay = false;

	if (s->t.tcp.pcb == NULL)
		return;
	while ((r = s->sendq.head) != NULL) {
		if (!write_buffer(s->t.tcp.pcb, r, r->u.io.buf, r->next != NULL))
			break;
		nodelay |= (r->flags & WSK_FLAG_NODELAY) != 0;
		dpw_queue_pop(&s->sendq);
		dpw_req_complete(r, STATUS_SUCCESS, r->done);
	}
	start_fin(s);
	if (s->t.tcp.pcb == NULL)
		return;
	if (nodelay && !tcp_nagle_disabled(s->t.tcp.pcb)) {
		/* F3: WSK_FLAG_NODELAY for this send only. */
		tcp_nagle_disable(s->t.tcp.pcb);
		tcp_output(s->t.tcp.pcb);
		tcp_nagle_enable(s->t.tcp.pcb);
	} else {
		tcp_output(s->t.tcp.pcb);
	}
}

err_t dpw_tcp_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct dpw_socket *s = arg;

	(void)pcb;
	(void)len;
	if (s != NULL)
		dpw_tcp_tx_pump(s);
	return ERR_OK;
}

void dpw_tcp_send(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (s->t.tcp.state == DPW_TCP_RESET) {
		dpw_req_complete(r, s->t.tcp.reset_status, 0);
		return;
	}
	if (!dpw_tcp_can_send(s) || s->disconnectq.head != NULL) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	dpw_pend(&s->sendq, r);
	dpw_tcp_tx_pump(s);
}

void dpw_tcp_indicate_send_backlog(struct dpw_socket *s)
{
	const WSK_CLIENT_CONNECTION_DISPATCH *ev = dpw_tcp_conn_events(s);

	if (!(s->events & WSK_EVENT_SEND_BACKLOG) || ev == NULL ||
	    ev->WskSendBacklogEvent == NULL || !dpw_tcp_can_send(s) ||
	    s->close_req != NULL)
		return;
	dpw_callback_enter(s);
	ev->WskSendBacklogEvent(s->context, TCP_SND_BUF);   /* dpw_tcp_ideal_send_backlog */
	dpw_callback_leave(s);
}

/* What lwIP can hold in flight and queued for one connection: the most send data worth
 * keeping outstanding. It is fixed when the stack is built, so the event that reports it
 * runs once per connection and never again for a change. */
NTSTATUS dpw_tcp_ideal_send_backlog(const struct dpw_socket *s, SIZE_T *bytes)
{
	if (!dpw_tcp_was_connected(s))
		return STATUS_INVALID_DEVICE_STATE;
	*bytes = TCP_SND_BUF;
	return STATUS_SUCCESS;
}
