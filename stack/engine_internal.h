/* The engine object and the internal interfaces between its files (not installed). */
#ifndef DPW_ENGINE_INTERNAL_H
#define DPW_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <pthread.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "dpw/engine.h"
#include "capture.h"
#include "errors.h"
#include "port.h"

/* The custom pbuf that wraps a received mbuf lives in the mbuf's private area, so RX needs
 * no allocation besides the mbuf itself (see netif_dpdk.c). */
#define DPW_MBUF_PRIV RTE_ALIGN(sizeof(struct pbuf_custom), RTE_MBUF_PRIV_ALIGN)


#define DPW_STATS_WORDS (sizeof(struct dpw_engine_stats) / sizeof(uint64_t))
#define DPW_TICK_HZ 1000   /* housekeeping passes (stats snapshot, TIME_WAIT bound) a second */

/* Counters kept by the engine itself; lwIP's own counters are read from lwip_stats. */
struct dpw_counters {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;
	uint64_t drop_runt;
	uint64_t rx_nombuf;  /* injected frames lost because the pool was empty */
	uint64_t tx_cksum_offloaded, rx_cksum_offloaded;   /* see dpw_engine_stats */
	uint64_t tx_zero_copy, tx_unshared, tx_tso;
	uint64_t steered_out, steered_in, steer_copies, steer_dropped;   /* config.queues > 1 */
	uint64_t loops;
	uint64_t busy_cycles, busy_loops;   /* passes that moved a frame (dpw_engine_stats) */
	uint64_t busy_cpu_ns;               /* their CPU time (config.busy_cpu) */
	uint64_t connect_fallbacks;         /* dpw_engine_connect_fallback */
	uint64_t rx_missed;  /* the device's count, as last read (stats.c) */
	uint32_t syn_rcvd_max;   /* half-open connections: the most seen at a stats tick */
};

struct dpw_reassembly;

struct dpw_engine {
	struct dpw_port port;
	struct dpw_capture *capture;          /* config.capture_path: NULL when none */
	struct dpw_capture_counts captured;   /* its counts, as last read (kept after close) */
	bool shut_down;
	struct netif netif;

	/* TX frames waiting for the port, flushed at the end of each loop pass. */
	struct rte_mbuf *tx_pending[DPW_TX_BUF];
	unsigned tx_count;

	struct {
		dpw_poll_hook_fn fn;
		void *arg;
	} hooks[DPW_MAX_POLL_HOOKS];
	unsigned nb_hooks;

	struct dpw_counters c;
	uint16_t queues;   /* engines on the port (config.queues), 1 when it is this one's alone */
	const struct dpw_steer_pins *pins;   /* the port's pinned local ports (steer.h), or NULL */
	const struct dpw_rss *rss;   /* the port's hash, when TCP flows are steered by it (rss.h) */
	/* config.busy_cpu: what one read of the thread's CPU clock costs, taken off each pass. */
	bool busy_cpu;
	uint64_t cpu_read_ns;
	struct dpw_reassembly *reass;   /* queue 0 of several: IP fragments gathered to steer */

	/* The stats as the polling thread last published them, for every other thread (stats.c):
	 * a sequence lock over words read and written atomically, so a reader never sees a torn
	 * copy and no data race exists for a sanitizer to find. */
	_Atomic uint32_t snap_seq;
	_Atomic uint64_t snap[DPW_STATS_WORDS];
	uint64_t tick_next_tsc;     /* [poller] the next millisecond's housekeeping */
	uint64_t tick_tsc;          /* TSC cycles in a tick */
	_Atomic uintptr_t poller;   /* the thread polling the engine (pthread_t), 0 before */

	atomic_bool stop;
	/* dpw_engine_start(): where the loop runs */
	bool on_worker_lcore;
	unsigned worker_lcore;
	atomic_bool worker_done;    /* the worker lcore's loop has returned */
	bool on_pthread;
	pthread_t thread;
};

/* netif_dpdk.c */
err_t dpw_netif_init(struct netif *netif);  /* netif_add() init callback; state = engine */
void dpw_netif_input(struct dpw_engine *e, struct rte_mbuf *m);
void dpw_netif_flush_tx(struct dpw_engine *e);
void dpw_netif_drop_tx(struct dpw_engine *e);

/* stats.c: the polling thread publishes the snapshot other threads read (once a tick, and
 * at shutdown). */
void dpw_stats_publish(struct dpw_engine *e);
/* The calling thread polls e from now on, before its first pass: other threads read the
 * snapshot, not the counters it is writing (stats.c). */
void dpw_stats_poller_here(struct dpw_engine *e);

/* The counters by name (stats.c), for the stats line and telemetry. */
struct dpw_stat_field {
	const char *name;
	size_t offset;   /* in struct dpw_engine_stats */
	bool is_u32;
	/* Of the port's mbuf pool, which every engine on the port shares: in a total, counted
	 * once per port, not once per engine. */
	bool per_port;
};
extern const struct dpw_stat_field dpw_stat_fields[];   /* ends with a NULL name */
uint64_t dpw_stat_value(const struct dpw_engine_stats *s, const struct dpw_stat_field *f);
/* telemetry.c: "/dpwsk/stats" (every engine's counters, totalled) and "/dpwsk/engine,N"
 * (the Nth engine's) for dpdk-telemetry.py while engines exist. */
void dpw_telemetry_engine(struct dpw_engine *e);          /* a new engine */
void dpw_telemetry_engine_gone(struct dpw_engine *e);     /* before it is freed */

/* tcp_timewait.c: keep the TIME_WAIT pcbs under a bound (once a tick, from the loop); how
 * many were freed early. */
void dpw_tcp_time_wait_trim(void);
uint64_t dpw_tcp_time_wait_trimmed(void);
/* lwIP's checked errors (LWIP_ERROR) recovered from so far (sys_arch.c). */
uint64_t dpw_lwip_errors(void);

/* sys_arch.c */
void dpw_sys_init(void);

#endif /* DPW_ENGINE_INTERNAL_H */
