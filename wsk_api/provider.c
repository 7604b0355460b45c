/* The provider's top: attaching to engines (one lcore each), each lcore's request ring
 * drained once per loop pass, and dpw_submit, which hands a call to the lcore it belongs to
 * or, on that lcore itself, runs it at once. Requests themselves (their pool, queues,
 * completion) are request.c's. */
#include <sched.h>
#include <stdio.h>
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

/* Runs once per loop pass on the lcore; arg is its struct dpw_lcore. */
static void drain_requests(void *arg)
{
	struct dpw_lcore *l = arg;
	struct dpw_req *reqs[REQ_BURST];
	unsigned n;

	if (!atomic_load_explicit(&l->known, memory_order_relaxed)) {
		l->thread = pthread_self();
		atomic_store_explicit(&l->known, true, memory_order_release);
		dpw_lcores_changed();
	}
	dpw_flush_completions();   /* what the timers completed after the last pass */
	n = rte_ring_sc_dequeue_burst(l->requests, (void **)reqs, REQ_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		dpw_execute(reqs[i]);
	dpw_transports_poll();
	dpw_flush_completions();   /* this pass's: received data, requests run */
	dpw_run_due_completions();   /* DpwDeliverLcore clients' routines */
	dpw_flush_completions();   /* what calls made by those routines completed at once */
}

/* The first engine attaches the provider; each further one (several engines on one port,
 * the per-thread build: each has an lwIP of its own) adds an lcore. All of them before the
 * first socket is made, and before WskCaptureProviderNPI lets a client in. */
static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;

static NTSTATUS attach(struct dpw_engine *Engine);

NTSTATUS DpwProviderAttach(struct dpw_engine *Engine)
{
	NTSTATUS st;

	if (Engine == NULL)
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&attach_lock);   /* engines may attach from their threads at once */
	st = attach(Engine);
	pthread_mutex_unlock(&attach_lock);
	return st;
}

static NTSTATUS attach(struct dpw_engine *Engine)
{
	unsigned i = dpw_lcore_count();
	struct dpw_lcore *l;
	char name[32];

	if (i == DPW_MAX_LCORES)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (unsigned k = 0; k < i; k++)
		if (dpw_provider.lcores[k].engine == Engine)
			return STATUS_INVALID_DEVICE_STATE;
#ifndef DPW_LWIP_PER_THREAD
	if (i > 0)   /* one lwIP in the process: one engine */
		return STATUS_INVALID_DEVICE_STATE;
#endif
	l = &dpw_provider.lcores[i];
	if (l->requests == NULL) {
		snprintf(name, sizeof(name), "wsk_requests_%u", i);
		l->requests = rte_ring_create(name, REQ_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
		if (l->requests == NULL)
			return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (dpw_engine_add_poll_hook(Engine, drain_requests, l) != 0)
		return STATUS_INSUFFICIENT_RESOURCES;
	l->engine = Engine;
	atomic_store(&l->known, false);
	atomic_store_explicit(&dpw_provider.nb_lcores, (uint16_t)(i + 1), memory_order_release);
	dpw_lcores_changed();
	if (i == 0) {
		atomic_store(&dpw_provider.attached, true);
		dpw_telemetry_provider();
		dpw_clients_provider_ready();
	}
	return STATUS_SUCCESS;
}

VOID DpwProviderDetach(VOID)
{
	unsigned n = dpw_lcore_count();
	struct dpw_req *r;

	if (!atomic_load(&dpw_provider.attached))
		return;
	atomic_store(&dpw_provider.attached, false);
	/* What the lcores' last passes held goes first, ahead of the cancellations below: per
	 * socket, completions keep their order. */
	dpw_flush_all_completions();
	for (unsigned i = 0; i < n; i++) {
		struct dpw_lcore *l = &dpw_provider.lcores[i];

		dpw_engine_remove_poll_hook(l->engine, drain_requests, l);
		/* Requests that never reached the lcore still complete, once (WSK-R2). */
		while (rte_ring_sc_dequeue(l->requests, (void **)&r) == 0)
			dpw_req_complete(r, STATUS_CANCELLED, 0);
		rte_ring_free(l->requests);
		l->requests = NULL;
		l->engine = NULL;
		atomic_store(&l->known, false);
	}
	dpw_lcores_changed();
	dpw_flush_all_completions();   /* the cancellations, if this thread is an lcore */
	dpw_due_to_rings();   /* routines the lcores will not run now: the clients' polls will */
	atomic_store(&dpw_provider.nb_lcores, 0);
}

void dpw_run_own_requests(void)
{
	struct dpw_req *reqs[REQ_BURST];
	int me = dpw_self_lcore();
	unsigned n;

	if (me < 0 || dpw_inline_call != NULL || dpw_callbacks_running != 0)
		return;   /* not an lcore, or inside a call or callback: never re-entered */
	n = rte_ring_sc_dequeue_burst(dpw_provider.lcores[me].requests, (void **)reqs, REQ_BURST,
				      NULL);
	for (unsigned i = 0; i < n; i++)
		dpw_execute(reqs[i]);
	dpw_flush_completions();
	dpw_run_due_completions();
	dpw_flush_completions();
}

/* lcore: are calls from other threads waiting in its request ring? Its tails are read with
 * atomic loads (rte_ring_count reads them plainly): the ring is built in DPDK's C11 flavour,
 * whose producers publish prod.tail with a release store. */
static bool requests_waiting(unsigned lcore)
{
	const struct rte_ring *q = dpw_provider.lcores[lcore].requests;

	return __atomic_load_n(&q->prod.tail, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&q->cons.tail, __ATOMIC_RELAXED);
}

/* The lcore a request is sent to. A socket's calls go to the lcore it was made on (its entry),
 * which is its owner unless a bind moved it (bind_move.c: they are handed on from there). A
 * new socket is owned by the lcore it is made on: for a WskSocketConnect from a fixed local
 * port, the lcore that holds the port; else the calling lcore (a call from an event
 * callback), else the next in turn. Data lent by an lcore goes back to it, and a sweep goes
 * where it was asked. */
static unsigned target_lcore(const struct dpw_req *r)
{
	unsigned n = dpw_lcore_count();
	int me;

	switch (r->op) {
	case DPW_OP_SOCKET_CONNECT:
		if ((me = dpw_socket_connect_home(r)) >= 0)
			return (unsigned)me;
		/* fall through */
	case DPW_OP_SOCKET:
		me = dpw_self_lcore();
		if (me >= 0 || n <= 1)
			return me >= 0 ? (unsigned)me : 0;
		return atomic_fetch_add_explicit(&dpw_provider.next_owner, 1,
						 memory_order_relaxed) % n;
	case DPW_OP_RELEASE:   /* the data's lcore, read from client memory: checked */
		return r->u.release.lcore < n ? r->u.release.lcore : 0;
	case DPW_OP_SWEEP_LENT:
		return r->u.sweep.lcore;
	case DPW_OP_SPREAD:
		return r->u.spread.lcore;
	default:
		/* A stale handle's slot may belong to another socket by now: wherever this goes,
		 * the generation check there refuses it. */
		return r->sock != NULL ? dpw_socket_entry(r->sock) : 0;
	}
}

/* Whether the calling thread is the lcore a request is sent to, and its socket (if any) lives
 * there: only then may the call run inline. A moved socket's calls on the lcore it was made on
 * queue behind the others that are handed on. */
static bool runs_here(const struct dpw_req *r, unsigned lcore)
{
	return dpw_self_lcore() == (int)lcore &&
	       (r->sock == NULL || dpw_socket_owner(r->sock) == lcore);
}

/* W1: PendingReturned is set exactly when the call returns STATUS_PENDING, before its
 * completion routine can run (drivers signal their event only if it is set). */
static void mark_pending(PIRP irp)
{
	if (irp != NULL)
		IoMarkIrpPending(irp);
}

static NTSTATUS execute_inline(struct dpw_req *r)
{
	struct dpw_inline_call me = { r, STATUS_PENDING, dpw_inline_call };
	PIRP irp = r->irp;   /* r is freed if it completes within */

	dpw_inline_call = &me;
	dpw_execute(r);
	dpw_inline_call = me.outer;
	/* Still pending here means not completed: this thread is the lcore, nothing else
	 * completes it before the flush below posts what did complete. Not so for a request
	 * sent on to another lcore (a bind that moves its socket, bind_move.c): that one marked
	 * its IRP before it went, and the IRP may be complete, even reused, by now. */
	if (me.status == STATUS_PENDING && me.r != NULL)
		mark_pending(irp);
	/* Made by the application on the lcore's own thread, outside any callback (an embedded
	 * application between passes): no pass end will come to post its completion soon. */
	if (me.outer == NULL && dpw_callbacks_running == 0)
		dpw_flush_completions();
	return me.status;
}

NTSTATUS dpw_submit(struct dpw_req *r)
{
	unsigned lcore = target_lcore(r);

	if (runs_here(r, lcore)) {
		/* C2: calls made on other threads before this close (a send whose data the peer
		 * answered, and that answer's callback now closes) may still wait in the ring; run
		 * inline, the close would overtake them and they would complete after it, with
		 * STATUS_INVALID_HANDLE. Queued behind them, it cancels them first. */
		if (r->op == DPW_OP_CLOSE && requests_waiting(lcore) && dpw_req_post_pending(r, lcore))
			return STATUS_PENDING;
		/* W2: run inline, the call could return a status whose routine the client's
		 * delivery thread has not run yet (and the close's would race the cancellations
		 * it made, C2). Queued, it returns STATUS_PENDING, which Windows allows always. */
		if (!dpw_windows_timing(r->client)) {
			dpw_count(DPW_C_INLINE_REQUESTS, 1);
			return execute_inline(r);
		}
	}
	if (!dpw_req_post_pending(r, lcore)) {
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

NTSTATUS dpw_submit_wait(struct dpw_req *r)
{
	unsigned lcore = target_lcore(r);
	int me = dpw_self_lcore();
	struct dpw_req_waiter *w;
	struct timespec t0, t;
	NTSTATUS st;

	if (me >= 0) {
		/* Behind requests already queued there (Windows timing queues the lcore's own
		 * calls), it queues too: per socket, calls keep their order. */
		if (runs_here(r, lcore) && !requests_waiting(lcore)) {
			dpw_count(DPW_C_INLINE_REQUESTS, 1);
			return execute_inline(r);
		}
		if (dpw_req_post(r, lcore))
			return STATUS_SUCCESS;
		atomic_fetch_add_explicit(&dpw_counters.ring_full, 1, memory_order_relaxed);
		dpw_req_free(r);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		dpw_req_free(r);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	atomic_init(&w->refs, 2);
	r->waiter = w;
	if (!dpw_req_post(r, lcore)) {
		atomic_fetch_add_explicit(&dpw_counters.ring_full, 1, memory_order_relaxed);
		dpw_req_free(r);
		free(w);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load_explicit(&w->done, memory_order_acquire)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!atomic_load(&dpw_provider.attached) || t.tv_sec - t0.tv_sec > 30)
			break;   /* detached (a detach completes what it finds), or not polling */
		sched_yield();
	}
	st = atomic_load_explicit(&w->done, memory_order_acquire) ? w->status
								 : STATUS_DEVICE_NOT_READY;
	dpw_req_waiter_put(w);
	return st;
}
