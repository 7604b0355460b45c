/* The lcore side of every call: socket-level requests (create, close, cancel, release,
 * control) to the socket core and control.c, the rest to the socket's transport through its
 * table. Above the transports: nothing below calls in here. */
#include <stdlib.h>

#include "provider_internal.h"
#include "socket_internal.h"

/* WskGetLocalAddress, WskGetRemoteAddress: the addresses are the socket's, whatever its
 * transport (the transport records them as it binds and connects). */
static void get_address(struct dpw_req *r, bool local)
{
	struct dpw_socket *s = r->sock;

	if (local ? !s->has_local : !s->has_remote) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);   /* F1 */
		return;
	}
	dpw_copy_sockaddr(r->u.addr.addr, local ? &s->local_addr : &s->remote_addr);
	dpw_req_complete(r, STATUS_SUCCESS, 0);
}

/* A call on a socket whose bind moved it to another lcore (bind_move.c) came to the lcore it
 * was made on, as every call on it does: handed on there, in the order the calls came. A full
 * ring refuses it, as one does at the call. Not the requests that are not the socket's own
 * (made, released, swept, spread), nor a cancel: that goes where its IRP waits. */
static bool handed_on(struct dpw_req *r)
{
	unsigned owner;

	switch (r->op) {
	case DPW_OP_SOCKET:
	case DPW_OP_SOCKET_CONNECT:
	case DPW_OP_CANCEL:
	case DPW_OP_SWEEP_LENT:
	case DPW_OP_SPREAD:
	case DPW_OP_RELEASE:
		return false;
	default:
		break;
	}
	if (r->sock == NULL || (owner = dpw_socket_owner(r->sock)) == dpw_lcore_here())
		return false;
	if (dpw_req_post(r, owner)) {
		atomic_fetch_add_explicit(&dpw_counters.requests_handed_on, 1, memory_order_relaxed);
		return true;
	}
	atomic_fetch_add_explicit(&dpw_counters.ring_full, 1, memory_order_relaxed);
	dpw_req_complete(r, STATUS_INSUFFICIENT_RESOURCES, 0);
	return true;
}

void dpw_execute(struct dpw_req *r)
{
	if (handed_on(r))
		return;
	switch (r->op) {
	case DPW_OP_SOCKET:
	case DPW_OP_SOCKET_CONNECT:
		dpw_socket_create_execute(r);
		return;
	case DPW_OP_CANCEL:
		dpw_cancel_execute(r);
		return;
	case DPW_OP_CLOSE:
		dpw_close_execute(r);
		return;
	case DPW_OP_SWEEP_LENT:
		dpw_lent_sweep_execute(r);
		return;
	case DPW_OP_SPREAD:
		dpw_tcp_transport.internal(r);
		return;
	case DPW_OP_RELEASE:
		/* C9: retained data is freed even through a closed handle. */
		r->u.release.tp->release(r);
		return;
	default:
		break;
	}
	if (r->sock != NULL) {
		/* One look at the handle: another thread's WskCloseSocket may move it to CLOSING
		 * at any moment, and a second look could see a different state than the first. */
		uint32_t state = atomic_load(&r->sock->handle_state);
		bool same = atomic_load(&r->sock->gen) == r->sock_gen;

		/* Issued before the close that is now in progress: to the client it was pending
		 * when it called WskCloseSocket, so it is cancelled like every other pending
		 * request (C2). (Seen LIVE, it runs; the close, behind it in the ring, cancels it
		 * if it is still pending.) */
		if (same && state == DPW_HANDLE_CLOSING) {
			dpw_req_complete(r, STATUS_CANCELLED, 0);
			return;
		}
		if (!same || state != DPW_HANDLE_LIVE)
			r->sock = NULL;   /* refused below, never run */
	}
	/* Made through a stale handle (closed before the call), or racing a close (C6). */
	if (r->sock == NULL) {
		atomic_fetch_add_explicit(&dpw_counters.invalid_handles, 1, memory_order_relaxed);
		dpw_req_complete(r, STATUS_INVALID_HANDLE, 0);
		return;
	}
	switch (r->op) {
	case DPW_OP_CONTROL_SOCKET: dpw_control_execute(r); return;
	case DPW_OP_GET_LOCAL_ADDRESS: get_address(r, true); return;
	case DPW_OP_GET_REMOTE_ADDRESS: get_address(r, false); return;
	default: break;
	}
	if (r->sock->tp->execute == NULL) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_REQUEST, 0);   /* a basic socket */
		return;
	}
	r->sock->tp->execute(r);
}

static void not_implemented(struct dpw_req *r)
{
	dpw_req_complete(r, STATUS_NOT_IMPLEMENTED, 0);   /* W4 */
}

const struct dpw_transport dpw_unimplemented_transport = { .execute = not_implemented };

void dpw_transports_poll(void)
{
	static const struct dpw_transport *const all[] = { &dpw_tcp_transport, &dpw_udp_transport };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->poll != NULL)
			all[i]->poll();
}

void dpw_socket_create_execute(struct dpw_req *r)
{
	struct dpw_client *c = r->client;
	struct dpw_socket *s;

	if (atomic_load(&c->deregistering)) {
		dpw_req_complete(r, STATUS_DEVICE_NOT_READY, 0);
		return;
	}
	s = dpw_socket_alloc(c, r->u.socket.kind);
	if (s == NULL) {
		dpw_req_complete(r, STATUS_INSUFFICIENT_RESOURCES, 0);
		return;
	}
	atomic_store_explicit(&c->static_locked, true, memory_order_relaxed);
	s->af = r->u.socket.af;
	s->context = r->u.socket.ctx;
	s->client_dispatch = r->u.socket.dispatch;
	/* F7: events start disabled, unless the client set static callbacks. */
	s->events = s->client_dispatch != NULL ? c->static_events : 0;
	/* F2, C7: a cached security descriptor, checked against the client's handles. */
	if (r->u.socket.sd != NULL && dpw_security_socket_set(s, r->u.socket.sd) != STATUS_SUCCESS) {
		dpw_req_complete(r, STATUS_INVALID_PARAMETER, 0);
		dpw_socket_destroy(s);
		return;
	}
	if (r->op == DPW_OP_SOCKET_CONNECT) {
		/* Bind, connect, then complete with the socket (the transport owns the rest). */
		r->sock = s;
		r->sock_gen = atomic_load(&s->gen);
		s->tp->socket_connect(r);
		return;
	}
	dpw_req_complete(r, STATUS_SUCCESS, (ULONG_PTR)&s->wsk);
}
