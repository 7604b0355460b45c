/* The provider's top: attaching to an engine, the request ring drained on the lcore once
 * per loop pass, and dpw_submit, which hands a call to the lcore or, on the lcore itself,
 * runs it at once. Requests themselves (their pool, queues, completion) are request.c's. */
#include <stdlib.h>
#include <string.h>

#include <rte_ring.h>

#include "dpw/engine.h"
#include "provider_internal.h"
#include "socket_internal.h"

#define REQ_RING_SIZE 65536
#define REQ_BURST 64

void dpw_clients_provider_ready(void);
void dpw_telemetry_provider(void);   /* telemetry.c */

/* Runs once per loop pass on the lcore. */
static void drain_requests(void *arg)
{
	struct dpw_req *reqs[REQ_BURST];
	unsigned n;

	(void)arg;
	if (!atomic_load_explicit(&dpw_provider.lcore_known, memory_order_relaxed)) {
		dpw_provider.lcore_thread = pthread_self();
		atomic_store_explicit(&dpw_provider.lcore_known, true, memory_order_release);
	}
	dpw_flush_completions();   /* what the timers completed after the last pass */
	n = rte_ring_sc_dequeue_burst(dpw_provider.requests, (void **)reqs, REQ_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		dpw_execute(reqs[i]);
	dpw_transports_poll();
	dpw_flush_completions();   /* this pass's: received data, requests run */
}

NTSTATUS DpwProviderAttach(struct dpw_engine *Engine)
{
	if (Engine == NULL)
		return STATUS_INVALID_PARAMETER;
	if (atomic_load(&dpw_provider.attached))
		return STATUS_INVALID_DEVICE_STATE;
	if (dpw_provider.requests == NULL) {
		dpw_provider.requests = rte_ring_create("wsk_requests", REQ_RING_SIZE, SOCKET_ID_ANY,
							RING_F_SC_DEQ);
		if (dpw_provider.requests == NULL)
			return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (dpw_engine_add_poll_hook(Engine, drain_requests, NULL) != 0)
		return STATUS_INSUFFICIENT_RESOURCES;
	dpw_provider.engine = Engine;
	atomic_store(&dpw_provider.lcore_known, false);
	atomic_store(&dpw_provider.attached, true);
	dpw_telemetry_provider();
	dpw_clients_provider_ready();
	return STATUS_SUCCESS;
}

VOID DpwProviderDetach(VOID)
{
	struct dpw_req *r;

	if (!atomic_load(&dpw_provider.attached))
		return;
	atomic_store(&dpw_provider.attached, false);
	dpw_engine_remove_poll_hook(dpw_provider.engine, drain_requests, NULL);
	/* Requests that never reached the lcore still complete, once (WSK-R2). */
	while (rte_ring_sc_dequeue(dpw_provider.requests, (void **)&r) == 0)
		dpw_req_complete(r, STATUS_CANCELLED, 0);
	dpw_flush_completions();   /* the lcore has stopped: what it held goes now */
	rte_ring_free(dpw_provider.requests);
	dpw_provider.requests = NULL;
	dpw_provider.engine = NULL;
	atomic_store(&dpw_provider.lcore_known, false);
}

/* lcore: are calls from other threads waiting in the request ring? Its tails are read with
 * atomic loads (rte_ring_count reads them plainly): the ring is built in DPDK's C11 flavour,
 * whose producers publish prod.tail with a release store. */
static bool requests_waiting(void)
{
	const struct rte_ring *q = dpw_provider.requests;

	return __atomic_load_n(&q->prod.tail, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&q->cons.tail, __ATOMIC_RELAXED);
}

/* W1: PendingReturned is set exactly when the call returns STATUS_PENDING, before its
 * completion routine can run (drivers signal their event only if it is set). */
static void mark_pending(PIRP irp)
{
	if (irp != NULL)
		IoMarkIrpPending(irp);
}

/* Queue the request for the lcore, its IRP marked pending first (the lcore may complete it
 * at once); unmarked again if the ring refuses it. */
static bool post_pending(struct dpw_req *r)
{
	PIRP irp = r->irp;

	mark_pending(irp);
	if (dpw_req_post(r))
		return true;
	if (irp != NULL)
		irp->PendingReturned = FALSE;
	return false;
}

static NTSTATUS execute_inline(struct dpw_req *r)
{
	struct dpw_inline_call me = { r, STATUS_PENDING, dpw_inline_call };
	PIRP irp = r->irp;   /* r is freed if it completes within */

	dpw_inline_call = &me;
	dpw_execute(r);
	dpw_inline_call = me.outer;
	/* Still pending means not completed: this thread is the lcore, nothing else completes
	 * it before the flush below posts what did complete. */
	if (me.status == STATUS_PENDING)
		mark_pending(irp);
	/* Made by the application on the lcore's own thread, outside any callback (an embedded
	 * application between passes): no pass end will come to post its completion soon. */
	if (me.outer == NULL && dpw_callbacks_running == 0)
		dpw_flush_completions();
	return me.status;
}

NTSTATUS dpw_submit(struct dpw_req *r)
{
	if (dpw_on_lcore()) {
		/* C2: calls made on other threads before this close (a send whose data the peer
		 * answered, and that answer's callback now closes) may still wait in the ring; run
		 * inline, the close would overtake them and they would complete after it, with
		 * STATUS_INVALID_HANDLE. Queued behind them, it cancels them first. */
		if (r->op == DPW_OP_CLOSE && requests_waiting() && post_pending(r))
			return STATUS_PENDING;
		/* W2: run inline, the call could return a status whose routine the client's
		 * delivery thread has not run yet (and the close's would race the cancellations
		 * it made, C2). Queued, it returns STATUS_PENDING, which Windows allows always. */
		if (!dpw_windows_timing(r->client)) {
			dpw_count(DPW_C_INLINE_REQUESTS, 1);
			return execute_inline(r);
		}
	}
	if (!post_pending(r)) {
		/* A full ring refuses the call instead of losing it (the IRP says so, and completes
		 * on this thread: W2 wants its routine run before we return). */
		NTSTATUS st = STATUS_INSUFFICIENT_RESOURCES;
		PIRP irp = r->irp;
		struct dpw_client *c = r->client;

		atomic_fetch_add_explicit(&dpw_counters.ring_full, 1, memory_order_relaxed);
		dpw_req_free(r);
		if (irp != NULL)
			dpw_fail_taken(c, irp, st);
		return st;
	}
	return STATUS_PENDING;
}
