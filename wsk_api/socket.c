/* The socket core: a socket's life, whatever carries it. Event callbacks are bracketed here
 * (C5), requests wait here cancellably, and WskCloseSocket runs here on the lcore (contract
 * §3), in order:
 *   1. a close called inside one of the socket's own event callbacks waits until that
 *      callback has returned (C5);
 *   2. every pending request of the socket completes with STATUS_CANCELLED, 0 bytes (C2);
 *   3. the transport goes, through its table: a connection not fully disconnected both ways
 *      is reset and freed at once, a fully disconnected one goes silently, a listener resets
 *      its queued connections (C3, C4); unread data is dropped, retained indications are
 *      not (C9);
 *   4. the handle is quarantined (C6) and the close IRP completes, last (C1, C2).
 * All completions go to the client's ring in this order (C10).
 *
 * IoCancelIrp on a pending request: the cancel hook runs on the cancelling thread and only
 * sends a cancel request to the lcore, which completes just that IRP with STATUS_CANCELLED
 * if it is still pending (the same path close uses for all of them). */
#include "socket_internal.h"

#define CTX_SOCK 1   /* IRP DriverContext slots the hook may read: socket and generation */
#define CTX_GEN  2

__thread unsigned dpw_callbacks_running;

static void cancel_all(struct dpw_socket *s)
{
	dpw_queue_complete_all(&s->recvq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->sendq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->acceptq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->connectq, STATUS_CANCELLED);
	dpw_queue_complete_all(&s->disconnectq, STATUS_CANCELLED);
}

/* Steps 2 and 3 of §3, and the handle's quarantine. Returns the close request unless the
 * transport kept it (see finish_close). */
static struct dpw_req *teardown(struct dpw_socket *s)
{
	struct dpw_req *r;

	cancel_all(s);
	if (s->tp->close != NULL)
		s->tp->close(s);
	/* After the pcb went (an RST or FIN may just have left): a TIME_WAIT pcb outlives the
	 * socket, and a FIN resent into it is then steered by hash, as after a restart. */
	dpw_socket_unpin_port(s);
	dpw_security_socket_closed(s);   /* the socket's reference; the client's stays (C7) */
	r = s->close_req;
	s->close_req = NULL;
	dpw_socket_release(s);
	return r;
}

void dpw_socket_destroy(struct dpw_socket *s)
{
	atomic_store(&s->handle_state, DPW_HANDLE_CLOSING);
	teardown(s);
	dpw_flush_completions();   /* before the client may see the socket gone */
	dpw_client_socket_closed(s->client);
}

void dpw_close_finished(struct dpw_req *r, struct dpw_client *c)
{
	dpw_req_complete(r, STATUS_SUCCESS, 0);
	/* Only now may WskDeregister see the socket gone and free the client: the completion
	 * above has gone to that client's ring. */
	dpw_flush_completions();
	dpw_client_socket_closed(c);
}

static void finish_close(struct dpw_socket *s, struct dpw_req *r)
{
	struct dpw_client *c = s->client;

	/* The transport's close may keep the request (taking it from close_req): a listener
	 * over several lcores completes it once the other lcores have stopped listening and
	 * the connections in flight between them are placed (C2: it completes last). */
	s->close_req = r;
	if (teardown(s) != NULL)
		dpw_close_finished(r, c);
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

void dpw_callback_leave(struct dpw_socket *s)
{
	struct dpw_req *r = s->close_req;

	dpw_callbacks_running--;
	/* The outermost callback of s has returned: a close made inside it goes on now. */
	if (--s->in_callback == 0 && r != NULL) {
		s->close_req = NULL;
		finish_close(s, r);
	}
}

/* ---- cancellation ------------------------------------------------------------------------- */

static VOID cancel_hook(PIRP irp)
{
	struct dpw_socket *s = irp->Tail.Overlay.DriverContext[CTX_SOCK];
	struct dpw_req *r = dpw_req_new(DPW_OP_CANCEL, NULL);

	if (r == NULL)
		return;   /* out of memory: the IRP completes normally later */
	r->sock = s;
	r->sock_gen = (uint32_t)(uintptr_t)irp->Tail.Overlay.DriverContext[CTX_GEN];
	r->client = s->client;
	r->u.cancel.target = irp;
	/* On the socket's lcore (IoCancelIrp from an event callback) it runs now, as any call
	 * there. */
	if (dpw_self_lcore() == (int)dpw_socket_owner(s)) {
		dpw_count(DPW_C_INLINE_REQUESTS, 1);
		dpw_cancel_execute(r);
	} else if (!dpw_req_post(r, dpw_socket_owner(s))) {
		/* Ring full or provider gone: the IRP completes normally later. */
		atomic_fetch_add_explicit(&dpw_counters.ring_full, 1, memory_order_relaxed);
		dpw_req_free(r);
	}
}

/* lcore: the request became pending on s; let IoCancelIrp reach it. */
static void arm_cancel(struct dpw_req *r)
{
	PIRP irp = r->irp;

	if (irp == NULL)
		return;
	irp->Tail.Overlay.DriverContext[CTX_SOCK] = r->sock;
	irp->Tail.Overlay.DriverContext[CTX_GEN] = (PVOID)(uintptr_t)r->sock_gen;
	DpwSetCancelRoutine(irp, cancel_hook);
	/* Cancelled before the hook was armed: nobody will call it, so act now. */
	if (atomic_load(&irp->Cancel) && DpwSetCancelRoutine(irp, NULL) != NULL)
		cancel_hook(irp);
}

void dpw_pend(struct dpw_req_queue *q, struct dpw_req *r)
{
	dpw_queue_push(q, r);
	arm_cancel(r);
}

static bool cancel_in(struct dpw_req_queue *q, PIRP target)
{
	for (struct dpw_req *r = q->head; r != NULL; r = r->next) {
		if (r->irp == target) {
			/* A cancelled WskSocketConnect: the client never got the socket, so it
			 * goes with the IRP, as when the connect fails. */
			struct dpw_socket *orphan =
				r->op == DPW_OP_SOCKET_CONNECT ? r->sock : NULL;

			dpw_queue_remove(q, r);
			/* F4: a receive that already holds data completes with it on cancel; those
			 * bytes are gone from the stream, so reporting 0 would lose them. */
			if (r->op == DPW_OP_RECEIVE && r->done > 0 && !(r->flags & WSK_FLAG_DRAIN))
				dpw_req_complete(r, STATUS_SUCCESS, r->done);
			else
				dpw_req_complete(r, STATUS_CANCELLED, 0);
			if (orphan != NULL)
				dpw_socket_destroy(orphan);
			return true;
		}
	}
	return false;
}

void dpw_cancel_execute(struct dpw_req *c)
{
	struct dpw_socket *s = c->sock;
	PIRP target = c->u.cancel.target;

	/* The IRP may have completed (and the socket closed) since the hook ran: then there is
	 * nothing left to cancel. */
	if (s != NULL && atomic_load(&s->gen) == c->sock_gen &&
	    atomic_load(&s->handle_state) != DPW_HANDLE_FREE) {
		if (!cancel_in(&s->recvq, target) && !cancel_in(&s->sendq, target) &&
		    !cancel_in(&s->acceptq, target) && !cancel_in(&s->connectq, target))
			cancel_in(&s->disconnectq, target);
	}
	dpw_req_free(c);
}
