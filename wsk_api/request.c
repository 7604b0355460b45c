/* Requests: where they come from, how they wait, how they end. The low half of the provider,
 * below the socket core and the transports: nothing here knows what a request does.
 *
 * A request is taken by the calling thread and given back on the lcore once its IRP has
 * completed, so the pool must move objects between threads without a lock or a heap call on
 * the way: each thread keeps a small cache, and caches trade with a shared lock-free ring of
 * free requests in bursts (DPDK's mempool does the same for its lcores; application threads
 * have none, hence this). The pool has a fixed size; once it is empty, requests come from the
 * heap and are counted, so a call is never refused for want of a request object.
 *
 * The shared ring starts empty and fresh requests are handed out only when it has none: the
 * requests in circulation are then the few a workload needs, reused while still in cache.
 * With the whole pool queued in the ring (a FIFO), every request taken was the coldest of
 * 32,768 and, the first time round, a page never touched: a thread that sleeps between calls
 * paid for it in its wake-up's tail (bench/results/provider-core-ab.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_ring.h>

#include "dpw/poison.h"
#include "objcache_internal.h"
#include "request_internal.h"

#define REQ_POOL_SIZE  32768u   /* requests in flight before the heap is used */
#define REQ_CACHE      64u      /* a thread's cache trades this many at a time */

__thread struct dpw_inline_call *dpw_inline_call;

/* A pool request on whole cache lines of its own (the pool is page aligned): requests pass
 * from one thread's cache to another's, and two packed side by side could be two lcores' at
 * once (false sharing, bench/sharing). The heap's, used once the pool is spent, are not. */
union pool_slot {
	struct dpw_req r;
	char lines[RTE_ALIGN_CEIL(sizeof(struct dpw_req), RTE_CACHE_LINE_SIZE)];
};
static union pool_slot *pool;         /* REQ_POOL_SIZE requests, never freed */
static struct rte_ring *pool_free;    /* MPMC ring of free pool requests */
static atomic_uint pool_fresh;        /* pool[pool_fresh..] never handed out yet */
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;

struct req_cache {
	unsigned n;
	struct dpw_req *objs[2 * REQ_CACHE];
};
static __thread struct req_cache cache;
static __thread bool cache_registered;

/* A thread that ends gives its cache back, so that thread churn cannot drain the pool. */
static void cache_flush(void *arg)
{
	struct req_cache *c = arg;

	if (c->n > 0)
		rte_ring_mp_enqueue_burst(pool_free, (void **)c->objs, c->n, NULL);
	c->n = 0;
}

static void pool_init(void)
{
	size_t ring_bytes = (size_t)rte_ring_get_memsize(REQ_POOL_SIZE * 2);
	struct rte_ring *r;

	/* Address space only until used; the ring is ours, so no EAL memory zone is needed. */
	pool = mmap(NULL, sizeof(*pool) * REQ_POOL_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	r = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(ring_bytes, RTE_CACHE_LINE_SIZE));
	if (pool == MAP_FAILED || r == NULL ||
	    rte_ring_init(r, "wsk_req_free", REQ_POOL_SIZE * 2, 0) != 0) {
		fprintf(stderr, "dpwsk: no memory for the request pool; requests use the heap\n");
		if (pool != MAP_FAILED)
			munmap(pool, sizeof(*pool) * REQ_POOL_SIZE);
		free(r);
		pool = NULL;
		return;
	}
	DPW_POISON(pool, sizeof(*pool) * REQ_POOL_SIZE);
	pool_free = r;
	pthread_key_create(&cache_key, cache_flush);
}

static bool from_pool(const struct dpw_req *r)
{
	return pool != NULL && (const void *)r >= (const void *)pool &&
	       (const void *)r < (const void *)(pool + REQ_POOL_SIZE);
}

/* Up to REQ_CACHE requests never used before, into objs; how many (0: the pool is spent). The
 * first look keeps the counter from running on, and wrapping, once the pool is spent. */
static unsigned take_fresh(struct dpw_req **objs)
{
	unsigned first, n;

	if (atomic_load_explicit(&pool_fresh, memory_order_relaxed) >= REQ_POOL_SIZE)
		return 0;
	first = atomic_fetch_add_explicit(&pool_fresh, REQ_CACHE, memory_order_relaxed);
	if (first >= REQ_POOL_SIZE)
		return 0;
	n = REQ_POOL_SIZE - first < REQ_CACHE ? REQ_POOL_SIZE - first : REQ_CACHE;
	for (unsigned i = 0; i < n; i++)
		objs[i] = &pool[first + n - 1 - i].r;   /* taken from the end: in address order */
	return n;
}

struct dpw_req *dpw_req_new(enum dpw_op op, PIRP irp)
{
	struct dpw_req *r = NULL;

	pthread_once(&pool_once, pool_init);
	if (pool != NULL && !atomic_load_explicit(&dpw_heap_only, memory_order_relaxed)) {
		if (!cache_registered) {
			pthread_setspecific(cache_key, &cache);
			cache_registered = true;
		}
		if (cache.n == 0)
			cache.n = rte_ring_mc_dequeue_burst(pool_free, (void **)cache.objs,
							    REQ_CACHE, NULL);
		if (cache.n == 0)
			cache.n = take_fresh(cache.objs);
		if (cache.n > 0)
			r = cache.objs[--cache.n];
	}
	if (r != NULL) {
		DPW_UNPOISON(r, sizeof(*r));
		memset(r, 0, sizeof(*r));
	} else {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return NULL;
		atomic_fetch_add_explicit(&dpw_counters.heap_requests, 1, memory_order_relaxed);
	}
	r->op = op;
	r->irp = irp;
	return r;
}

void dpw_req_free(struct dpw_req *r)
{
	if (!from_pool(r)) {
		free(r);
		return;
	}
	DPW_POISON(r, sizeof(*r));
	if (!cache_registered) {
		pthread_setspecific(cache_key, &cache);
		cache_registered = true;
	}
	if (cache.n == 2 * REQ_CACHE) {
		/* Full: the older half goes back to the shared ring in one burst. */
		rte_ring_mp_enqueue_burst(pool_free, (void **)cache.objs, REQ_CACHE, NULL);
		memmove(cache.objs, cache.objs + REQ_CACHE, REQ_CACHE * sizeof(cache.objs[0]));
		cache.n = REQ_CACHE;
	}
	cache.objs[cache.n++] = r;
}

bool dpw_req_post(struct dpw_req *r, unsigned lcore)
{
	/* A call counts once: not the lcores' own messages, nor a call handed on between them.
	 * Marked before the enqueue, after which the lcore may run and free r at once. */
	bool first = r->op != DPW_OP_SPREAD && !r->counted;

	r->counted = true;
	if (!atomic_load(&dpw_provider.attached) || lcore >= dpw_lcore_count() ||
	    rte_ring_mp_enqueue(dpw_provider.lcores[lcore].requests, r) != 0) {
		r->counted = !first;
		return false;
	}
	if (first)
		dpw_count(DPW_C_REQUESTS, 1);
	return true;
}

bool dpw_req_post_pending(struct dpw_req *r, unsigned lcore)
{
	PIRP irp = r->irp;
	BOOLEAN was = irp != NULL && irp->PendingReturned;

	if (irp != NULL)
		IoMarkIrpPending(irp);
	if (dpw_req_post(r, lcore))
		return true;
	if (irp != NULL)
		irp->PendingReturned = was;   /* a call queued before already returned pending */
	return false;
}

void dpw_req_complete(struct dpw_req *r, NTSTATUS status, ULONG_PTR info)
{
	if (r->issued != NULL)
		atomic_fetch_sub_explicit(r->issued, 1, memory_order_relaxed);
	if (dpw_inline_call != NULL && dpw_inline_call->r == r) {
		dpw_inline_call->status = status;
		dpw_inline_call->r = NULL;   /* r is freed below; its address may come back */
	}
	if (r->irp != NULL && DpwCompleteIrpDeferred(r->irp, status, info) == STATUS_SUCCESS) {
		if (dpw_on_lcore())
			dpw_hold_completion(r->client, r->irp);
		else
			dpw_post_completion(r->client, r->irp);
	}
	if (r->waiter != NULL) {
		r->waiter->status = status;
		atomic_store_explicit(&r->waiter->done, true, memory_order_release);
		dpw_req_waiter_put(r->waiter);
	}
	dpw_req_free(r);
}

void dpw_req_waiter_put(struct dpw_req_waiter *w)
{
	if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1)
		free(w);
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

NTSTATUS dpw_fail_taken(struct dpw_client *c, PIRP irp, NTSTATUS status)
{
	if (c != NULL && dpw_client_from_handle(c) == c) {
		if (DpwCompleteIrpDeferred(irp, status, 0) == STATUS_SUCCESS)
			dpw_post_completion(c, irp);
	} else {
		DpwCompleteIrp(irp, status, 0);   /* no client to post to: its routine runs now */
	}
	return status;
}

NTSTATUS dpw_fail_call(struct dpw_client *c, PIRP irp, NTSTATUS status)
{
	if (irp != NULL && c != NULL && DpwStartIrp(irp) == STATUS_SUCCESS)
		dpw_fail_taken(c, irp, status);
	return status;
}
