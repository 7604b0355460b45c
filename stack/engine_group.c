/* See dpw/engine_group.h. Each engine's thread runs: create, the caller's on_start, poll until
 * the group stops, then wait to be told to shut down (so that whatever drives the engines can
 * let go of them first), shut down, destroy. The group's lock and condition carry every
 * hand-over between the caller and the threads. */
#define _GNU_SOURCE   /* pthread_attr_setaffinity_np, pthread_setname_np, CPU_COUNT */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>

#include "dpw/engine_group.h"
#include "engine_internal.h"
#include "errors.h"

struct member {
	struct dpw_engine_group *g;
	struct dpw_engine_config cfg;
	pthread_t thread;
	bool thread_made;
	struct dpw_engine *engine;       /* [g->lock] while it polls */
	bool up, failed, stopped, gone;  /* [g->lock] */
	char err[DPW_ERRLEN];
	struct dpw_engine_stats final;
	unsigned shut_order;             /* 0 for the first engine to shut down, ... */
};

struct dpw_engine_group {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stop;
	atomic_uint shut_count;
	uint64_t mbufs_lost_before;      /* dpw_engine_shared_mbufs_lost() at the start */
	bool shut_down;                  /* [lock] the caller's word to shut down */
	bool all_up, any_failed;         /* [lock] every member has started (or failed) */
	dpw_group_start_fn on_start;
	dpw_group_run_fn run;
	void *arg;
	uint16_t n;
	struct member m[];
};

static void *member_main(void *arg)
{
	struct member *m = arg;
	struct dpw_engine_group *g = m->g;
	struct dpw_engine *e = dpw_engine_create(&m->cfg, m->err, sizeof(m->err));
	bool ok;

	/* This thread polls it: the program's thread reads its counters from the snapshot
	 * from the start (a live read there raced this thread's first pass, an early exit's
	 * stats line, seen under TSan). */
	if (e != NULL)
		dpw_stats_poller_here(e);
	ok = e != NULL &&
		  (g->on_start == NULL ||
		   g->on_start(e, m->cfg.queue, g->arg, m->err, sizeof(m->err)) == 0);

	pthread_mutex_lock(&g->lock);
	m->engine = ok ? e : NULL;
	m->up = true;
	m->failed = !ok;
	pthread_cond_broadcast(&g->cond);
	/* The program's loop starts only on a whole group: its flows' frames may arrive on any
	 * queue. Meanwhile this engine polls (the others' hand-overs, ARP). */
	while (ok && !g->all_up) {
		pthread_mutex_unlock(&g->lock);
		dpw_engine_poll(e);
		pthread_mutex_lock(&g->lock);
	}
	ok = ok && !g->any_failed;
	pthread_mutex_unlock(&g->lock);
	if (ok && g->run != NULL)
		g->run(e, m->cfg.queue, g->arg);
	while (ok && !atomic_load_explicit(&g->stop, memory_order_relaxed))
		dpw_engine_poll(e);

	pthread_mutex_lock(&g->lock);
	m->stopped = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->shut_down)
		pthread_cond_wait(&g->cond, &g->lock);
	m->engine = NULL;
	pthread_mutex_unlock(&g->lock);
	if (e != NULL) {
		dpw_engine_shutdown(e);
		dpw_engine_get_stats(e, &m->final);
		m->shut_order = atomic_fetch_add(&g->shut_count, 1);
		dpw_engine_destroy(e);
	}
	pthread_mutex_lock(&g->lock);
	m->gone = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* Wait until every member with a thread has flag set (offsetof a bool in struct member). */
static void wait_all(struct dpw_engine_group *g, size_t flag)
{
	pthread_mutex_lock(&g->lock);
	for (uint16_t i = 0; i < g->n; i++)
		while (g->m[i].thread_made && !*(bool *)((char *)&g->m[i] + flag))
			pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

/* The CPUs of the EAL's n-th lcore (in lcore id order, wrapping round when there are fewer
 * lcores than engines): engine n polls there. A thread inherits its creator's affinity, which
 * the EAL has set to the main lcore's CPUs, so without this every engine of the group would
 * poll on the main lcore's CPU, however many lcores were asked for. */
static void nth_lcore_cpus(unsigned n, rte_cpuset_t *cpus)
{
	unsigned count = rte_lcore_count(), i = 0, lcore;

	CPU_ZERO(cpus);
	if (count == 0)
		return;
	RTE_LCORE_FOREACH(lcore) {
		if (i++ == n % count) {
			*cpus = rte_lcore_cpuset(lcore);
			return;
		}
	}
}

/* The member's thread, on its lcore's CPUs and named for top, perf and /proc
 * (dpw-engine-N). */
static int start_member(struct member *m)
{
	pthread_attr_t attr;
	rte_cpuset_t cpus;
	char name[32];   /* at most 16 queues: "dpw-engine-15" fits the kernel's 16 bytes */
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	nth_lcore_cpus(m->cfg.queue, &cpus);
	if (CPU_COUNT(&cpus) > 0)
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	rc = pthread_create(&m->thread, &attr, member_main, m);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -1;
	snprintf(name, sizeof(name), "dpw-engine-%u", (unsigned)m->cfg.queue);
	pthread_setname_np(m->thread, name);
	return 0;
}

struct dpw_engine_group *dpw_engine_group_start(const struct dpw_engine_config *cfg,
						dpw_group_start_fn on_start,
						dpw_group_run_fn run, void *arg,
						char *err, size_t errlen)
{
	struct dpw_engine_group *g;
	const char *why = NULL;

	if (cfg->queues < 1) {
		dpw_set_err(err, errlen, "an engine group needs 1 or more queues, not %u",
			    cfg->queues);
		return NULL;
	}
	g = calloc(1, sizeof(*g) + cfg->queues * sizeof(g->m[0]));
	if (g == NULL) {
		dpw_set_err(err, errlen, "out of memory for an engine group");
		return NULL;
	}
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->mbufs_lost_before = dpw_engine_shared_mbufs_lost();
	g->on_start = on_start;
	g->run = run;
	g->arg = arg;
	g->n = cfg->queues;
	if (rte_lcore_count() < g->n)
		fprintf(stderr, "dpwsk: %u engines on %u lcore(s): some engines share a CPU set "
			"(give --lcores one lcore per engine)\n", g->n, rte_lcore_count());
	for (uint16_t i = 0; i < g->n && why == NULL; i++) {
		struct member *m = &g->m[i];

		m->g = g;
		m->cfg = *cfg;
		m->cfg.queue = i;
		if (start_member(m) != 0)
			why = "cannot start an engine's thread";
		else
			m->thread_made = true;
	}
	wait_all(g, offsetof(struct member, up));
	for (uint16_t i = 0; i < g->n && why == NULL; i++)
		if (g->m[i].failed)
			why = g->m[i].err;
	pthread_mutex_lock(&g->lock);
	g->any_failed = why != NULL;
	g->all_up = true;
	pthread_mutex_unlock(&g->lock);
	if (why != NULL) {
		dpw_set_err(err, errlen, "%s", why);
		dpw_engine_group_join(g);
		dpw_engine_group_destroy(g, NULL, NULL);
		return NULL;
	}
	return g;
}

uint16_t dpw_engine_group_size(const struct dpw_engine_group *g)
{
	return g->n;
}

struct dpw_engine *dpw_engine_group_engine(const struct dpw_engine_group *g, uint16_t queue)
{
	return queue < g->n ? g->m[queue].engine : NULL;
}

void dpw_engine_group_stats(const struct dpw_engine_group *g, struct dpw_engine_stats *total)
{
	struct dpw_engine_group *w = (struct dpw_engine_group *)g;   /* the lock only */
	struct dpw_engine_stats s;
	bool first = true;

	memset(total, 0, sizeof(*total));
	pthread_mutex_lock(&w->lock);
	for (uint16_t i = 0; i < g->n; i++) {
		if (g->m[i].engine == NULL)
			continue;
		/* Fresh: published after this call (a tick at most, while it polls), so that a
		 * line printed at the end says where the engine stands, not a tick before. */
		dpw_engine_get_fresh_stats(g->m[i].engine, &s, 100);
		dpw_engine_stats_add(total, &s, first);
		first = false;
	}
	pthread_mutex_unlock(&w->lock);
}

void dpw_engine_group_join(struct dpw_engine_group *g)
{
	atomic_store(&g->stop, true);
	wait_all(g, offsetof(struct member, stopped));
}

void dpw_engine_group_destroy(struct dpw_engine_group *g, struct dpw_engine_stats *each,
			      struct dpw_engine_stats *total)
{
	dpw_engine_group_join(g);
	pthread_mutex_lock(&g->lock);
	g->shut_down = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	wait_all(g, offsetof(struct member, gone));
	for (uint16_t i = 0; i < g->n; i++) {
		if (g->m[i].thread_made)
			pthread_join(g->m[i].thread, NULL);
		if (each != NULL)
			each[i] = g->m[i].final;
	}
	if (total != NULL) {
		/* The pool's figures from the engine that shut down last: when the others did, it
		 * still held its own mbufs. */
		uint16_t last = 0;

		for (uint16_t i = 1; i < g->n; i++)
			if (g->m[i].shut_order > g->m[last].shut_order)
				last = i;
		memset(total, 0, sizeof(*total));
		dpw_engine_stats_add(total, &g->m[last].final, true);
		for (uint16_t i = 0; i < g->n; i++)
			if (i != last)
				dpw_engine_stats_add(total, &g->m[i].final, false);
		/* In use at the end: what was not back when the last engine freed the shared pool.
		 * Its own figure came before that: a frame handed to an engine that had already
		 * shut down waits in that engine's ring until the port is released (port_share.c).
		 * An engine alone on its port shares nothing: its own final figure stands. */
		if (g->n > 1)
			total->mbuf_in_use = (uint32_t)(dpw_engine_shared_mbufs_lost() -
							 g->mbufs_lost_before);
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
