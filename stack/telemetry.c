/* The engines' counters through DPDK telemetry: `dpdk-telemetry.py -f dpwsk-<pid>`, then
 * `/dpwsk/stats` (every engine of the process, totalled: the per-port pool fields once per
 * port, "engines" says how many) or `/dpwsk/engine,N` (the Nth engine, in the order they came,
 * with its "port" and "queue": several engines on one port start in any order). Telemetry runs its
 * callbacks on its own thread, so they read the snapshots the polling threads publish
 * (stats.c), and a lock keeps the engines alive meanwhile. */
#include <pthread.h>
#include <stdlib.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "engine_internal.h"

#define MAX_ENGINES 128

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct dpw_engine *engines[MAX_ENGINES];   /* [lock] in the order they came */
static unsigned n_engines;                        /* [lock] */

static void put_stats(struct rte_tel_data *d, const struct dpw_engine_stats *s)
{
	for (const struct dpw_stat_field *f = dpw_stat_fields; f->name != NULL; f++)
		rte_tel_data_add_dict_u64(d, f->name, dpw_stat_value(s, f));
}

static int stats_cmd(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dpw_engine_stats total = { 0 }, s;
	bool port_seen[RTE_MAX_ETHPORTS] = { false };
	unsigned n;

	(void)cmd;
	(void)params;
	pthread_mutex_lock(&lock);
	n = n_engines;
	for (unsigned i = 0; i < n; i++) {
		uint16_t port = dpw_engine_port_id(engines[i]);
		bool first = port >= RTE_MAX_ETHPORTS || !port_seen[port];

		dpw_engine_get_stats(engines[i], &s);
		dpw_engine_stats_add(&total, &s, first);
		if (port < RTE_MAX_ETHPORTS)
			port_seen[port] = true;
	}
	pthread_mutex_unlock(&lock);
	if (n == 0)
		return -1;
	rte_tel_data_start_dict(d);
	put_stats(d, &total);
	rte_tel_data_add_dict_u64(d, "engines", n);
	return 0;
}

static int engine_cmd(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dpw_engine_stats s;
	char *end = NULL;
	unsigned long i;
	uint16_t port = 0, queue = 0;
	bool have;

	(void)cmd;
	if (params == NULL || *params == '\0')
		return -1;
	i = strtoul(params, &end, 10);
	if (end == params || *end != '\0')
		return -1;
	pthread_mutex_lock(&lock);
	have = i < n_engines;
	if (have) {
		dpw_engine_get_stats(engines[i], &s);
		port = engines[i]->port.id;
		queue = engines[i]->port.queue;
	}
	pthread_mutex_unlock(&lock);
	if (!have)
		return -1;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "port", port);
	rte_tel_data_add_dict_u64(d, "queue", queue);
	put_stats(d, &s);
	return 0;
}

void dpw_telemetry_engine(struct dpw_engine *e)
{
	static bool registered;   /* [lock]: engines may come and go on any thread */

	pthread_mutex_lock(&lock);
	if (n_engines < MAX_ENGINES)   /* beyond that, left out of telemetry (only) */
		engines[n_engines++] = e;
	/* Commands cannot be unregistered; once is enough (the callbacks check the engines). */
	if (!registered)
		registered = rte_telemetry_register_cmd("/dpwsk/stats", stats_cmd,
				"The dpwsk engines' counters, totalled over every engine of the "
				"process (port, drops by reason, pools). No parameters.") == 0 &&
			     rte_telemetry_register_cmd("/dpwsk/engine", engine_cmd,
				"One dpwsk engine's counters. Parameter: the engine's number, "
				"0 for the first.") == 0;
	pthread_mutex_unlock(&lock);
}

void dpw_telemetry_engine_gone(struct dpw_engine *e)
{
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < n_engines; i++) {
		if (engines[i] != e)
			continue;
		for (; i + 1 < n_engines; i++)   /* keep the others' order */
			engines[i] = engines[i + 1];
		n_engines--;
		break;
	}
	pthread_mutex_unlock(&lock);
}
