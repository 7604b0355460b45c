/* Completion delivery: the lcore (and callers failing early) post completed IRPs to the
 * client's ring; the client runs their completion routines on its own threads with
 * WskPollCompletions / WskWaitCompletions (WSK-C10: every completion goes through here).
 *
 * The lcore holds its completions briefly and posts them in batches (dpw_hold_completion):
 * the provider flushes them at the start and end of each loop pass, after a call made on the
 * lcore outside any callback, and before a closed socket lets WskDeregister go on. Other
 * threads post at once.
 *
 * The ring is DPDK's lock-free rte_ring. It has a fixed size, and a completion must never be
 * lost, so a full ring spills to an overflow list under a mutex (rare: counted). Waiting
 * clients sleep on an eventfd that the poster writes only when somebody waits. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_ring.h>

#include "request_internal.h"

#define CQ_SIZE 65536
#define CQ_BURST 64

struct dpw_completion_ring {
	struct rte_ring *ring;
	pthread_mutex_t overflow_lock;
	PIRP *overflow;
	size_t overflow_head, overflow_len, overflow_cap;   /* FIFO: [head, len) */
	atomic_size_t overflow_count;
	int efd;
	atomic_int waiters;
	atomic_bool fd_exported;     /* WskCompletionFd was called: signal every post */
};

int dpw_completion_ring_create(struct dpw_client *c)
{
	static atomic_uint seq;
	struct dpw_completion_ring *cq = calloc(1, sizeof(*cq));
	char name[RTE_RING_NAMESIZE];

	if (cq == NULL)
		return -1;
	snprintf(name, sizeof(name), "wsk_cq_%u", atomic_fetch_add(&seq, 1));
	cq->ring = rte_ring_create(name, CQ_SIZE, SOCKET_ID_ANY, 0 /* MP/MC */);
	cq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cq->ring == NULL || cq->efd < 0) {
		rte_ring_free(cq->ring);
		if (cq->efd >= 0)
			close(cq->efd);
		free(cq);
		return -1;
	}
	pthread_mutex_init(&cq->overflow_lock, NULL);
	c->cq = cq;
	return 0;
}

void dpw_completion_ring_destroy(struct dpw_client *c)
{
	struct dpw_completion_ring *cq = c->cq;

	if (cq == NULL)
		return;
	rte_ring_free(cq->ring);
	close(cq->efd);
	free(cq->overflow);
	pthread_mutex_destroy(&cq->overflow_lock);
	free(cq);
	c->cq = NULL;
}

/* Make the eventfd readable: wakes a thread in WskWaitCompletions or an epoll on it. */
static void signal_fd(struct dpw_completion_ring *cq)
{
	uint64_t one = 1;

	if (write(cq->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("dpwsk: eventfd write");
}

static void wake(struct dpw_completion_ring *cq)
{
	/* The completion just enqueued must be visible before we look for waiters. A waiter
	 * announces itself, then looks at the ring; we enqueue, then look at the announcement.
	 * Without a full barrier here the CPU may load the waiter count before its store of the
	 * ring's tail is visible (x86 reorders a store with a later load), both sides miss each
	 * other, and the waiter sleeps its whole timeout with a completion waiting. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&cq->waiters) > 0 || atomic_load(&cq->fd_exported))
		signal_fd(cq);
}

/* Post irps[0..n) for c, in order, then wake a waiter once. */
static void post(struct dpw_client *c, PIRP *irps, unsigned n)
{
	struct dpw_completion_ring *cq = c->cq;
	unsigned done = 0;

	dpw_count(DPW_C_COMPLETIONS, n);
	/* While anything waits in the overflow list, later completions queue behind it there:
	 * a slot the consumer just freed in the ring would let them overtake (a close's own
	 * completion ahead of the cancellations it made, C2). */
	if (atomic_load(&cq->overflow_count) == 0)
		done = rte_ring_mp_enqueue_burst(cq->ring, (void **)irps, n, NULL);
	if (done < n) {
		pthread_mutex_lock(&cq->overflow_lock);
		if (cq->overflow_len + (n - done) > cq->overflow_cap) {
			size_t cap = cq->overflow_cap ? cq->overflow_cap * 2 : 1024;
			PIRP *grown;

			while (cap < cq->overflow_len + (n - done))
				cap *= 2;
			grown = realloc(cq->overflow, cap * sizeof(*grown));
			if (grown == NULL) {
				/* No memory left even for a pointer: nothing safe remains but to say so
				 * and stop, rather than lose a completion silently. */
				fprintf(stderr, "dpwsk: out of memory posting a completion\n");
				abort();
			}
			cq->overflow = grown;
			cq->overflow_cap = cap;
		}
		for (unsigned i = done; i < n; i++)
			cq->overflow[cq->overflow_len++] = irps[i];
		atomic_fetch_add(&cq->overflow_count, n - done);
		pthread_mutex_unlock(&cq->overflow_lock);
		atomic_fetch_add_explicit(&dpw_counters.spills, n - done, memory_order_relaxed);
	}
	wake(cq);
}

void dpw_post_completion(struct dpw_client *c, PIRP irp)
{
	/* Posted at once means completed on the caller's thread within its call (a refusal): with
	 * Windows' timing its routine has run before the call returns (W2). */
	if (dpw_windows_timing(c)) {
		dpw_count(DPW_C_COMPLETIONS, 1);
		DpwRunIrpCompletion(irp);
		return;
	}
	/* Refused on an lcore, for a client whose routines run there: at its pass's end too
	 * (the ring takes it if the lcore's FIFO has no room: late, never lost). */
	if (dpw_due_wanted(c) && dpw_due_push(c, &irp, 1) == 1)
		return;
	post(c, &irp, 1);
}

/* [lcore] Completions held for one client, posted together: one fence and at most one wake
 * per batch instead of one per IRP (io_uring publishes a batch of completions with one tail
 * store in the same spirit). Each lcore holds its own; an array, not thread-local, so that
 * DpwProviderDetach can post what the lcores' last passes left. */
static struct held {
	DPW_LCORE_ALIGNED struct dpw_client *c;
	unsigned n;
	PIRP irps[CQ_BURST];
} held_by[DPW_MAX_LCORES];

static void flush(struct held *h)
{
	/* The routines of a DpwDeliverLcore client run on this lcore, at its pass's end; what
	 * DpwProviderDetach finds held goes to the ring. */
	unsigned due = 0;

	if (h->n > 0 && h == &held_by[dpw_lcore_here()] && dpw_due_wanted(h->c))
		due = dpw_due_push(h->c, h->irps, h->n);
	if (due < h->n)
		post(h->c, h->irps + due, h->n - due);
	h->n = 0;
	h->c = NULL;
}

void dpw_hold_completion(struct dpw_client *c, PIRP irp)
{
	struct held *h = &held_by[dpw_lcore_here()];

	if (h->n == CQ_BURST || (h->n > 0 && h->c != c))
		flush(h);   /* per client, the order stays the order of completion */
	h->c = c;
	h->irps[h->n++] = irp;
}

void dpw_flush_completions(void)
{
	flush(&held_by[dpw_lcore_here()]);
}

void dpw_flush_all_completions(void)
{
	for (unsigned i = 0; i < DPW_MAX_LCORES; i++)
		flush(&held_by[i]);
}

void dpw_due_to_rings(void)
{
	struct dpw_client *c;
	PIRP irp;

	while (dpw_due_take(&c, &irp))
		post(c, &irp, 1);
}

static ULONG run_batch(struct dpw_completion_ring *cq, ULONG max)
{
	PIRP irps[CQ_BURST];
	ULONG ran = 0;

	while (ran < max) {
		unsigned want = max - ran < CQ_BURST ? max - ran : CQ_BURST;
		unsigned n = rte_ring_mc_dequeue_burst(cq->ring, (void **)irps, want, NULL);

		/* The overflow list holds the newest completions (it fills once the ring is full,
		 * and takes every later one until it is empty): take from it once the ring is
		 * drained, so that completion order is kept. */
		if (n == 0 && atomic_load(&cq->overflow_count) > 0) {
			pthread_mutex_lock(&cq->overflow_lock);
			while (n < want && cq->overflow_head < cq->overflow_len)
				irps[n++] = cq->overflow[cq->overflow_head++];
			if (cq->overflow_head == cq->overflow_len)
				cq->overflow_head = cq->overflow_len = 0;   /* drained: reuse from the start */
			atomic_fetch_sub(&cq->overflow_count, n);
			pthread_mutex_unlock(&cq->overflow_lock);
		}
		if (n == 0)
			break;
		if (atomic_load(&cq->fd_exported)) {
			uint64_t drained;

			if (read(cq->efd, &drained, sizeof(drained)) < 0 && errno != EAGAIN)
				perror("dpwsk: eventfd read");
		}
		for (unsigned i = 0; i < n; i++)
			DpwRunIrpCompletion(irps[i]);
		ran += n;
	}
	return ran;
}

ULONG WskPollCompletions(PWSK_CLIENT Client, ULONG Max)
{
	struct dpw_client *c;
	ULONG ran;

	if (Max == 0 || (c = dpw_client_enter(Client)) == NULL)
		return 0;
	ran = run_batch(c->cq, Max);
	dpw_client_leave(c);
	return ran;
}

ULONG WskWaitCompletions(PWSK_CLIENT Client, ULONG Max, ULONG TimeoutMs)
{
	struct dpw_client *c;
	struct dpw_completion_ring *cq;
	struct pollfd pfd;
	ULONG ran;
	uint64_t drained;

	if (Max == 0 || (c = dpw_client_enter(Client)) == NULL)
		return 0;
	cq = c->cq;
	ran = run_batch(cq, Max);
	if (ran > 0) {
		dpw_client_leave(c);
		return ran;
	}
	/* Announce the wait, then look again: a completion posted between the first look and
	 * the announcement would otherwise not wake us. Deregister wakes us too. */
	atomic_fetch_add(&cq->waiters, 1);
	ran = run_batch(cq, Max);
	if (ran == 0 && atomic_load(&c->state) == DPW_CLIENT_LIVE) {
		pfd.fd = cq->efd;
		pfd.events = POLLIN;
		poll(&pfd, 1, TimeoutMs == WSK_INFINITE_WAIT ? -1 : (int)TimeoutMs);
		if (read(cq->efd, &drained, sizeof(drained)) < 0 && errno != EAGAIN)
			perror("dpwsk: eventfd read");
		ran = run_batch(cq, Max);
	}
	atomic_fetch_sub(&cq->waiters, 1);
	dpw_client_leave(c);
	return ran;
}

void dpw_completion_kick(struct dpw_client *c)
{
	signal_fd(c->cq);
}

/* Deregister: make every waiter's poll() return, so it leaves the client. */
void dpw_completion_wake_all(struct dpw_client *c)
{
	if (atomic_load(&c->cq->waiters) > 0)
		signal_fd(c->cq);
}

int WskCompletionFd(PWSK_CLIENT Client)
{
	struct dpw_client *c = dpw_client_enter(Client);
	int fd;

	if (c == NULL)
		return -1;
	atomic_store(&c->cq->fd_exported, true);
	fd = c->cq->efd;
	dpw_client_leave(c);
	return fd;
}
