/* WskCloseSocket on the lcore (WSK-SPEC §3). In order:
 *   1. a close called inside one of the socket's own event callbacks waits until that
 *      callback has returned (C5);
 *   2. every pending request of the socket completes with STATUS_CANCELLED, 0 bytes (C2);
 *   3. the transport goes: a connection not fully disconnected both ways is reset and freed
 *      at once, a fully disconnected one goes silently, a listener resets its queued
 *      connections (C3, C4); unread data is dropped, retained indications are not (C9);
 *   4. the handle is quarantined (C6) and the close IRP completes, last (C1, C2).
 * All completions go to the client's ring in this order (C10). */
#include "socket_internal.h"

static void cancel_all(struct dpw_socket *s)
{
	dpw_queue_complete_all(&s->recvq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->sendq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->acceptq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->connectq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->disconnectq, STATUS_CANCELLED);
}

/* Tear a socket down without a close request: connections the client never accepted, and
 * sockets of a listener being closed. */
void dpw_socket_destroy(struct dpw_socket *s)
{
	atomic_store(&s->handle_state, DPW_HANDLE_CLOSING);
	cancel_all(s);
	if (s->category == WSK_FLAG_DATAGRAM_SOCKET)
		dpw_udp_close(s);
	else
		dpw_tcp_close(s);
	dpw_socket_drop_rx(s);
	dpw_socket_release(s);
	dpw_client_socket_closed(s->client);
}

static void finish_close(struct dpw_socket *s, struct dpw_req *r)
{
	struct dpw_client *c = s->client;

	cancel_all(s);
	if (s->category == WSK_FLAG_DATAGRAM_SOCKET)
		dpw_udp_close(s);
	else if (s->category != WSK_FLAG_BASIC_SOCKET)
		dpw_tcp_close(s);
	dpw_socket_drop_rx(s);
	dpw_socket_release(s);
	dpw_req_complete(r, STATUS_SUCCESS, 0);
	/* Only now may WskDeregister see the socket gone and free the client: the completion
	 * above went to that client's ring. */
	dpw_client_socket_closed(c);
}

void dpw_close_execute(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	/* dispatch.c moved the handle to CLOSING for this very request; anything else means the
	 * slot was reused, which quarantine makes practically impossible: refuse safely. */
	if (atomic_load(&s->gen) != r->sock_gen ||
	    atomic_load(&s->handle_state) != DPW_HANDLE_CLOSING || s->close_req != NULL) {
		dpw_req_complete(r, STATUS_INVALID_HANDLE, 0);
		return;
	}
	if (s->in_callback > 0) {
		/* C5: called from inside this socket's callback; finish when it returns. */
		s->close_req = r;
		return;
	}
	finish_close(s, r);
}

/* Called by the event-callback wrapper when the outermost callback of s has returned. */
void dpw_close_after_callback(struct dpw_socket *s)
{
	struct dpw_req *r = s->close_req;

	if (r != NULL && s->in_callback == 0) {
		s->close_req = NULL;
		finish_close(s, r);
	}
}
