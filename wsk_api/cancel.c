/* IoCancelIrp on a pending request: the cancel hook runs on the cancelling thread and only
 * sends a cancel request to the lcore, which completes just that IRP with STATUS_CANCELLED
 * if it is still pending (the same path close uses for all of them). */
#include "socket_internal.h"

#define CTX_SOCK 1   /* IRP DriverContext slots the hook may read: socket and generation */
#define CTX_GEN  2

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
	dpw_submit(r);
}

/* lcore: the request became pending on s; let IoCancelIrp reach it. */
void dpw_arm_cancel(struct dpw_req *r)
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

static bool cancel_in(struct dpw_req_queue *q, PIRP target)
{
	for (struct dpw_req *r = q->head; r != NULL; r = r->next) {
		if (r->irp == target) {
			/* A cancelled WskSocketConnect: the client never got the socket, so it
			 * goes with the IRP, as when the connect fails (tcp.c, on_err). */
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
