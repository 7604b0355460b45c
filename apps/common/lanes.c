/* A server's lanes over several engines (see lanes.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lanes.h"

static struct lane_out {
	_Alignas(64) _Atomic uint64_t counts[DPW_LANE_MAX_COUNTS];
	atomic_bool done;
	bool failed;
} lanes[DPW_APP_MAX_QUEUES];

static unsigned lanes_n;
static const struct dpw_lane_ops *lane_ops;
static atomic_int services;   /* 0 being opened, 1 open, -1 failed */
static __thread struct lane_out *my_lane;

/* On engine q's thread before it polls. */
static int lane_start(struct dpw_engine *e, uint16_t q, void *arg, char *err, size_t errlen)
{
	const struct dpw_app *main_app = arg;
	struct dpw_app *lane = lane_ops->init(q, main_app->lanes_arg);
	NTSTATUS st;

	my_lane = &lanes[q];
	if (dpw_app_start_lane(lane, main_app, e, err, errlen) != 0)
		return -1;
	st = DpwSetCompletionDelivery(lane->npi.Client, DpwDeliverLcore);
	if (st != STATUS_SUCCESS) {
		snprintf(err, errlen, "DpwSetCompletionDelivery: %s", DpwNtStatusName(st));
		return -1;
	}
	if (lane_ops->client_ready != NULL && !lane_ops->client_ready(q)) {
		snprintf(err, errlen, "lane %u: its client could not be set up", q);
		return -1;
	}
	return 0;
}

/* On engine q's thread once every engine is up. */
static void lane_run(struct dpw_engine *e, uint16_t q, void *arg)
{
	struct lane_out *o = &lanes[q];
	unsigned left;

	(void)e;
	(void)arg;
	left = lane_ops->run(q);
	o->failed = left != 0;
	atomic_store_explicit(&o->done, true, memory_order_release);
}

void dpw_lanes_services_up(bool ok)
{
	atomic_store(&services, ok ? 1 : -1);
	if (!ok)
		dpw_app_stop();
}

void dpw_lanes_publish(const uint64_t *counts)
{
	for (unsigned i = 0; i < lane_ops->ncounts; i++)
		atomic_store_explicit(&my_lane->counts[i], counts[i], memory_order_relaxed);
}

unsigned dpw_lanes_n(void)
{
	return lanes_n;
}

void dpw_lanes_counts(unsigned q, uint64_t *out)
{
	for (unsigned i = 0; i < lane_ops->ncounts; i++)
		out[i] = atomic_load_explicit(&lanes[q].counts[i], memory_order_relaxed);
}

void dpw_lanes_print(const char *name, void (*print)(const char *what, const uint64_t *counts))
{
	uint64_t each[DPW_LANE_MAX_COUNTS], total[DPW_LANE_MAX_COUNTS] = { 0 };
	char what[64];

	for (unsigned q = 0; q < lanes_n; q++) {
		dpw_lanes_counts(q, each);
		for (unsigned i = 0; i < lane_ops->ncounts; i++)
			total[i] += each[i];
		snprintf(what, sizeof(what), "lane %u %s", q, name);
		print(what, each);
	}
	print(name, total);
}

void dpw_lanes_print_or(const char *name, const uint64_t *own,
			void (*print)(const char *what, const uint64_t *counts))
{
	if (lanes_n == 0)
		print(name, own);
	else
		dpw_lanes_print(name, print);
}

int dpw_lanes_run(struct dpw_app *app, const struct dpw_lane_ops *ops, void *arg)
{
	char err[DPW_ERRLEN], what[4200];
	struct dpw_engine_group *g;
	unsigned n = app->eng.engine.queues, done = 0;
	bool failed = false;
	int up;

	if (n > DPW_APP_MAX_QUEUES || ops->ncounts > DPW_LANE_MAX_COUNTS) {
		dpw_app_fail(app, "--queues: at most %u", DPW_APP_MAX_QUEUES);
		return 2;
	}
	lane_ops = ops;
	lanes_n = n;
	app->lanes_arg = arg;
	dpw_app_start_eal(app);
	g = dpw_engine_group_start(&app->eng.engine, lane_start, lane_run, app, err, sizeof(err));
	if (g == NULL) {
		dpw_app_fail(app, "%s", err);
		dpw_eal_cleanup();
		return 1;
	}
	app->group = g;
	app->engine = dpw_engine_group_engine(g, 0);   /* for the ready line: port, MAC */
	while ((up = atomic_load(&services)) == 0 && !dpw_app_stopping())
		dpw_app_nap(app, 10);
	if (up == 1) {
		ops->describe(what, sizeof(what));
		dpw_app_ready(app, what);
	}
	while (done < n) {
		dpw_app_nap(app, 10);
		done = 0;
		for (unsigned q = 0; q < n; q++)
			done += atomic_load_explicit(&lanes[q].done, memory_order_acquire);
	}
	for (unsigned q = 0; q < n; q++)
		failed |= lanes[q].failed;
	dpw_app_finish_lanes(app);
	return failed || up != 1 ? 1 : 0;
}
