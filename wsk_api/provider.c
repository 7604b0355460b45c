/* The provider's spine: attaching to an engine, the request ring drained on the lcore, and
 * the completion of requests. */
#include <stdlib.h>
#include <string.h>

#include <rte_ring.h>

#include "dpw/engine.h"
#include "provider_internal.h"
#include "socket_internal.h"

#define REQ_RING_SIZE 65536
#define REQ_BURST 64

struct dpw_provider dpw_provider;
struct dpw_provider_counters dpw_counters;

void dpw_registration_provider_ready(void);
void dpw_telemetry_provider(void);   /* telemetry.c */

bool dpw_on_lcore(void)
{
	return atomic_load_explicit(&dpw_provider.lcore_known, memory_order_acquire) &&
	       pthread_equal(pthread_self(), dpw_provider.lcore_thread);
}

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
	n = rte_ring_sc_dequeue_burst(dpw_provider.requests, (void **)reqs, REQ_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		dpw_execute(reqs[i]);
	dpw_tcp_poll();
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
	dpw_registration_provider_ready();
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
	rte_ring_free(dpw_provider.requests);
	dpw_provider.requests = NULL;
	dpw_provider.engine = NULL;
	atomic_store(&dpw_provider.lcore_known, false);
}

struct dpw_req *dpw_req_new(enum dpw_op op, PIRP irp)
{
	struct dpw_req *r = calloc(1, sizeof(*r));

	if (r != NULL) {
		r->op = op;
		r->irp = irp;
	}
	return r;
}

void dpw_req_free(struct dpw_req *r)
{
	free(r);
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

/* The call now running inline on this thread (the lcore) and how it ended. R3 lets a call
 * whose IRP completes before it returns return that status instead of STATUS_PENDING; F6
 * wants exactly that of a WskAccept that finds a connection queued. A call made inside
 * another's callback nests, hence a chain. Thread-local: app threads never see it. */
struct inline_call {
	const struct dpw_req *r;
	NTSTATUS status;
	struct inline_call *outer;
};
static __thread struct inline_call *inline_call;

static NTSTATUS execute_inline(struct dpw_req *r)
{
	struct inline_call me = { r, STATUS_PENDING, inline_call };

	inline_call = &me;
	dpw_execute(r);
	inline_call = me.outer;
	return me.status;
}

NTSTATUS dpw_submit(struct dpw_req *r)
{
	if (dpw_on_lcore()) {
		/* C2: calls made on other threads before this close (a send whose data the peer
		 * answered, and that answer's callback now closes) may still wait in the ring; run
		 * inline, the close would overtake them and they would complete after it, with
		 * STATUS_INVALID_HANDLE. Queued behind them, it cancels them first. */
		if (r->op == DPW_OP_CLOSE && requests_waiting() &&
		    rte_ring_mp_enqueue(dpw_provider.requests, r) == 0) {
			atomic_fetch_add_explicit(&dpw_counters.requests, 1, memory_order_relaxed);
			return STATUS_PENDING;
		}
		atomic_fetch_add_explicit(&dpw_counters.inline_requests, 1, memory_order_relaxed);
		return execute_inline(r);
	}
	if (!atomic_load(&dpw_provider.attached) ||
	    rte_ring_mp_enqueue(dpw_provider.requests, r) != 0) {
		/* A full ring refuses the call instead of losing it (the IRP says so). */
		NTSTATUS st = STATUS_INSUFFICIENT_RESOURCES;

		atomic_fetch_add_explicit(&dpw_counters.ring_full, 1, memory_order_relaxed);
		dpw_req_complete(r, st, 0);
		return st;
	}
	atomic_fetch_add_explicit(&dpw_counters.requests, 1, memory_order_relaxed);
	return STATUS_PENDING;
}

void dpw_req_complete(struct dpw_req *r, NTSTATUS status, ULONG_PTR info)
{
	if (inline_call != NULL && inline_call->r == r) {
		inline_call->status = status;
		inline_call->r = NULL;   /* r is freed below; its address may come back */
	}
	if (r->irp != NULL && DpwCompleteIrpDeferred(r->irp, status, info) == STATUS_SUCCESS)
		dpw_post_completion(r->client, r->irp);
	dpw_req_free(r);
}

void dpw_queue_complete_all(struct dpw_req_queue *q, NTSTATUS status)
{
	struct dpw_req *r;

	while ((r = dpw_queue_pop(q)) != NULL)
		dpw_req_complete(r, status, 0);
}

bool dpw_queue_remove(struct dpw_req_queue *q, struct dpw_req *r)
{
	struct dpw_req **pp, *prev = NULL;

	for (pp = &q->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			if (q->tail == r)
				q->tail = prev;
			q->count--;
			r->next = NULL;
			return true;
		}
	}
	return false;
}

NTSTATUS dpw_fail_call(struct dpw_client *c, PIRP irp, NTSTATUS status)
{
	if (irp != NULL && c != NULL && DpwStartIrp(irp) == STATUS_SUCCESS &&
	    DpwCompleteIrpDeferred(irp, status, 0) == STATUS_SUCCESS)
		dpw_post_completion(c, irp);
	return status;
}

VOID DpwGetProviderStats(PDPW_PROVIDER_STATS s)
{
	if (s == NULL)
		return;
	s->Requests = atomic_load(&dpw_counters.requests);
	s->InlineRequests = atomic_load(&dpw_counters.inline_requests);
	s->RingFull = atomic_load(&dpw_counters.ring_full);
	s->Completions = atomic_load(&dpw_counters.completions);
	s->CompletionSpills = atomic_load(&dpw_counters.spills);
	s->InvalidHandles = atomic_load(&dpw_counters.invalid_handles);
	s->ConcurrentClose = atomic_load(&dpw_counters.concurrent_close);
	s->SocketsOpen = atomic_load(&dpw_counters.sockets_open);
	s->UnreleasedAtDeregister = atomic_load(&dpw_counters.unreleased_at_deregister);
}
