/* The engine's counters through DPDK telemetry: `dpdk-telemetry.py -f dpwsk-<pid>` then
 * `/dpwsk/stats`. Telemetry runs its callbacks on its own thread, so they read the snapshot
 * the polling thread publishes (stats.c), and a lock keeps the engine alive meanwhile. */
#include <pthread.h>

#include <rte_telemetry.h>

#include "engine_internal.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct dpw_engine *engine;   /* guarded by lock */

static int stats_cmd(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dpw_engine_stats s;
	bool have;

	(void)cmd;
	(void)params;
	pthread_mutex_lock(&lock);
	have = engine != NULL;
	if (have)
		dpw_engine_get_stats(engine, &s);
	pthread_mutex_unlock(&lock);
	if (!have)
		return -1;
	rte_tel_data_start_dict(d);
	for (const struct dpw_stat_field *f = dpw_stat_fields; f->name != NULL; f++)
		rte_tel_data_add_dict_u64(d, f->name, dpw_stat_value(&s, f));
	return 0;
}

void dpw_telemetry_engine(struct dpw_engine *e)
{
	static bool registered;   /* guarded by lock: engines may come and go on any thread */

	pthread_mutex_lock(&lock);
	engine = e;
	/* Commands cannot be unregistered; once is enough (the callback checks the engine). */
	if (e != NULL && !registered)
		registered = rte_telemetry_register_cmd("/dpwsk/stats", stats_cmd,
				"The dpwsk engine's counters (port, drops by reason, pools). "
				"No parameters.") == 0;
	pthread_mutex_unlock(&lock);
}
