/* The engine: create, the poll loop, run/start/stop, and an orderly shutdown that returns
 * every mbuf to the pool. */
#include <string.h>
#include <time.h>

#include <rte_prefetch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "lwip/init.h"
#include "lwip/ip6_addr.h"
#include "lwip/netif.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"

#include "engine_internal.h"
#include "lwip_mem.h"
#include "lwip_reset.h"
#include "reassembly.h"
#include "steer.h"

/* lwIP keeps its state in globals and cannot be initialised twice: one engine at a time, per
 * process, or per thread in the per-thread build (lwipopts.h), where each thread that
 * creates an engine has its own lwIP and must be the one that polls it. */
static LWIP_PER_INSTANCE bool lwip_ready;
static LWIP_PER_INSTANCE struct dpw_engine *current_engine;

bool dpw_engine_config_has_ipv6(const struct dpw_engine_config *cfg)
{
	static const uint8_t none[16];

	return memcmp(cfg->ipv6_addr, none, sizeof(none)) != 0;
}

/* The link-local address from the MAC (EUI-64) and, if configured, the global one; both
 * preferred at once, since there is no duplicate address detection (lwipopts.h). */
static int add_ipv6(struct netif *n, const struct dpw_engine_config *cfg, char *err,
		    size_t errlen)
{
	ip6_addr_t a;
	s8_t idx;

	if (!dpw_engine_config_has_ipv6(cfg))
		return 0;
	netif_create_ip6_linklocal_address(n, 1);
	netif_ip6_addr_set_state(n, 0, IP6_ADDR_PREFERRED);
	IP6_ADDR(&a, 0, 0, 0, 0);
	memcpy(a.addr, cfg->ipv6_addr, sizeof(a.addr));
	if (netif_add_ip6_address(n, &a, &idx) != ERR_OK) {
		dpw_set_err(err, errlen, "cannot add the IPv6 address");
		return -1;
	}
	netif_ip6_addr_set_state(n, idx, IP6_ADDR_PREFERRED);
	return 0;
}

/* The calling thread's CPU time, ns: config.busy_cpu's clock, which stands still while the
 * thread waits for a CPU. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* What one read of that clock costs: the least gap between two reads in a row. A pass reads
 * it at its start and its end, and so counts one read too many. */
static uint64_t cpu_read_cost(void)
{
	uint64_t least = UINT64_MAX;

	for (int i = 0; i < 64; i++) {
		uint64_t a = thread_cpu_ns(), b = thread_cpu_ns();

		if (b - a < least)
			least = b - a;
	}
	return least;
}

struct dpw_engine *dpw_engine_create(const struct dpw_engine_config *cfg, char *err,
				     size_t errlen)
{
	struct dpw_engine *e;
	ip4_addr_t addr, mask, gw;

	if (cfg == NULL) {
		dpw_set_err(err, errlen, "no engine configuration given");
		return NULL;
	}
	if (cfg->queues > 1 && !LWIP_INSTANCES) {
		dpw_set_err(err, errlen, "several engines on one port (config.queues) need the "
			    "per-thread build (stack_mt_dep)");
		return NULL;
	}
	if (cfg->queues > 1 && cfg->capture_path != NULL) {
		dpw_set_err(err, errlen, "a capture file with several engines on one port is not "
			    "supported: capture with dpdk-dumpcap");
		return NULL;
	}
	if (current_engine != NULL) {
		dpw_set_err(err, errlen, LWIP_INSTANCES ? "an engine already exists on this thread"
							 : "an engine already exists in this process");
		return NULL;
	}
	if (cfg->ipv4_addr == 0) {
		dpw_set_err(err, errlen, "no IPv4 address configured");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		dpw_set_err(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&e->stop, false);
	e->tick_tsc = rte_get_tsc_hz() / DPW_TICK_HZ;
	e->busy_cpu = cfg->busy_cpu;
	if (e->busy_cpu)
		e->cpu_read_ns = cpu_read_cost();
	if ((cfg->queues > 1 ? dpw_port_share_open(&e->port, cfg, DPW_MBUF_PRIV,
						   dpw_engine_config_has_ipv6(cfg), err, errlen)
			     : dpw_port_open(&e->port, cfg, DPW_MBUF_PRIV,
					     dpw_engine_config_has_ipv6(cfg), err, errlen)) != 0 ||
	    (cfg->capture_path != NULL &&
	     (e->capture = dpw_capture_open(cfg->capture_path,
					    cfg->capture_limit ? cfg->capture_limit
							       : DPW_CAPTURE_DEFAULT_LIMIT,
					    err, errlen)) == NULL)) {
		if (e->port.share != NULL) {
			dpw_port_share_release(&e->port);
		} else {
			dpw_port_close(&e->port);
			rte_mempool_free(e->port.pool);
		}
		free(e);
		return NULL;
	}
	e->queues = cfg->queues > 1 ? cfg->queues : 1;
	e->rss = dpw_port_share_rss(&e->port);
	dpw_steer_set_queue(e->port.queue, e->queues, e->rss);
	e->pins = dpw_port_share_pins(&e->port);
	if (e->queues > 1 && e->port.queue == 0 &&
	    (e->reass = dpw_reassembly_create((int)rte_socket_id())) == NULL) {
		dpw_set_err(err, errlen, "out of memory for the IP reassembly table");
		dpw_steer_set_queue(0, 1, NULL);
		dpw_port_share_release(&e->port);
		free(e);
		return NULL;
	}
	if (!lwip_ready) {
		lwip_init();
		lwip_ready = true;
	}
	ip4_addr_set_u32(&addr, cfg->ipv4_addr);
	ip4_addr_set_u32(&mask, cfg->ipv4_netmask);
	ip4_addr_set_u32(&gw, cfg->ipv4_gateway);
	netif_add(&e->netif, &addr, &mask, &gw, e, dpw_netif_init, ethernet_input);
	netif_set_default(&e->netif);
	if (add_ipv6(&e->netif, cfg, err, errlen) != 0) {
		dpw_engine_destroy(e);
		return NULL;
	}
	netif_set_up(&e->netif);
	/* Zero-copy TX (lwip_mem.c): lwIP's blocks from the port's mbufs, at most half of the
	 * pool beyond what the queues need, so that unacknowledged data never starves RX. */
	if (!cfg->no_zero_copy && e->port.tx_mbuf_shareable)
		dpw_lwip_mem_tx_pool(e->port.pool, e->port.extra_mbufs / 2);
	current_engine = e;
	dpw_telemetry_engine(e);
	return e;
}

static void hand_to(struct dpw_engine *e, uint16_t owner, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(dpw_port_share_ring(&e->port, owner), m) == 0) {
		e->c.steered_out++;
	} else {
		rte_pktmbuf_free(m);
		e->c.steer_dropped++;
	}
}

/* Queue 0: a fragment joins its datagram (reassembly.h); the datagram, once whole, goes to
 * its owner. */
static void gather(struct dpw_engine *e, struct rte_mbuf *m)
{
	struct rte_mbuf *whole = dpw_reassembly_add(e->reass, m);
	uint16_t owner;

	if (whole == NULL)
		return;
	owner = dpw_steer_owner(whole, e->queues, e->pins, e->rss);
	if (owner == e->port.queue || owner >= e->queues)   /* (a fragment still: lwIP's) */
		dpw_netif_input(e, whole);
	else
		hand_to(e, owner, whole);
}

/* Several engines on one port: a frame goes to the engine that owns its flow (steer.h), and
 * a copy to every engine when all want it; a full ring drops it, as a full queue would. */
static void steer_input(struct dpw_engine *e, struct rte_mbuf *m)
{
	uint16_t owner = dpw_steer_owner(m, e->queues, e->pins, e->rss);

	if (owner == DPW_STEER_FRAGMENT) {
		if (e->reass != NULL)
			gather(e, m);
		else
			hand_to(e, 0, m);
		return;
	}
	if (owner == e->port.queue) {
		dpw_netif_input(e, m);
		return;
	}
	if (owner != DPW_STEER_ALL) {
		hand_to(e, owner, m);
		return;
	}
	for (uint16_t q = 0; q < e->queues; q++) {
		struct rte_mbuf *copy;

		if (q == e->port.queue)
			continue;
		/* A copy: each lwIP keeps its pbuf in the mbuf's private area. */
		copy = rte_pktmbuf_copy(m, e->port.pool, 0, UINT32_MAX);
		if (copy != NULL && rte_ring_enqueue(dpw_port_share_ring(&e->port, q), copy) == 0) {
			e->c.steer_copies++;
		} else {
			rte_pktmbuf_free(copy);
			e->c.steer_dropped++;
		}
	}
	dpw_netif_input(e, m);
}

/* Frames the port's other engines handed to this one: how many. */
static unsigned take_steered(struct dpw_engine *e)
{
	struct rte_mbuf *pkts[DPW_RX_BURST];
	unsigned n = rte_ring_dequeue_burst(dpw_port_share_ring(&e->port, e->port.queue),
					    (void **)pkts, DPW_RX_BURST, NULL);

	e->c.steered_in += n;
	for (unsigned i = 0; i < n; i++) {
		/* Queue 0 gets the other queues' fragments to gather. */
		if (e->reass != NULL &&
		    dpw_steer_owner(pkts[i], e->queues, e->pins, e->rss) == DPW_STEER_FRAGMENT)
			gather(e, pkts[i]);
		else
			dpw_netif_input(e, pkts[i]);
	}
	return n;
}

unsigned dpw_engine_poll(struct dpw_engine *e)
{
	struct rte_mbuf *pkts[DPW_RX_BURST];
	uint64_t start = rte_rdtsc(), tx_before = e->c.tx_packets;
	uint64_t cpu_start = e->busy_cpu ? thread_cpu_ns() : 0;
	uint16_t n = dpw_port_rx(&e->port, pkts, DPW_RX_BURST);
	unsigned taken = 0;
	uint64_t now;

	if (e->capture != NULL && n > 0)
		dpw_capture_frames(e->capture, e->port.id, pkts, n, false);
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (e->port.share != NULL)
			steer_input(e, pkts[i]);
		else
			dpw_netif_input(e, pkts[i]);
	}
	if (e->port.share != NULL)
		taken = take_steered(e);
	for (unsigned i = 0; i < e->nb_hooks; i++)
		e->hooks[i].fn(e->hooks[i].arg);
	sys_check_timeouts();
	dpw_netif_flush_tx(e);
	e->c.loops++;
	/* Housekeeping that need not run every pass: one clock read decides. */
	now = rte_rdtsc();
	if (n + taken > 0 || e->c.tx_packets != tx_before) {
		e->c.busy_cycles += now - start;
		e->c.busy_loops++;
		if (e->busy_cpu) {
			uint64_t spent = thread_cpu_ns() - cpu_start;

			e->c.busy_cpu_ns += spent > e->cpu_read_ns ? spent - e->cpu_read_ns : 0;
		}
	}
	if (now >= e->tick_next_tsc) {
		e->tick_next_tsc = now + e->tick_tsc;
		if (e->reass != NULL)
			dpw_reassembly_expire(e->reass);
		dpw_tcp_time_wait_trim();
		dpw_stats_publish(e);
	}
	return n + taken;
}

/* Hooks are changed only while the loop is not running, or from the loop itself. */
int dpw_engine_add_poll_hook(struct dpw_engine *e, dpw_poll_hook_fn fn, void *arg)
{
	if (fn == NULL || e->nb_hooks == DPW_MAX_POLL_HOOKS)
		return -1;
	e->hooks[e->nb_hooks].fn = fn;
	e->hooks[e->nb_hooks].arg = arg;
	e->nb_hooks++;
	return 0;
}

void dpw_engine_remove_poll_hook(struct dpw_engine *e, dpw_poll_hook_fn fn, void *arg)
{
	for (unsigned i = 0; i < e->nb_hooks; i++) {
		if (e->hooks[i].fn == fn && e->hooks[i].arg == arg) {
			memmove(&e->hooks[i], &e->hooks[i + 1],
				(e->nb_hooks - i - 1) * sizeof(e->hooks[0]));
			e->nb_hooks--;
			return;
		}
	}
}

void dpw_engine_run(struct dpw_engine *e)
{
	/* Before the first pass: until then another thread's read of the counters would be a
	 * live one, racing this thread's first pass (the first publish sets it too late). */
	dpw_stats_poller_here(e);
	while (!atomic_load_explicit(&e->stop, memory_order_relaxed))
		dpw_engine_poll(e);
	/* Leave nothing half-sent: what lwIP produced in the last pass goes out. */
	dpw_netif_flush_tx(e);
}

void dpw_engine_stop(struct dpw_engine *e)
{
	atomic_store(&e->stop, true);
}

bool dpw_engine_stopping(const struct dpw_engine *e)
{
	return atomic_load(&((struct dpw_engine *)e)->stop);
}

static int lcore_main(void *arg)
{
	struct dpw_engine *e = arg;

	dpw_engine_run(e);
	/* Seen by dpw_engine_join(): EAL's own wait for the worker happens inside DPDK's
	 * (uninstrumented) library, so sanitizers would not see the loop end before the
	 * joiner goes on to change engine state. This release/acquire pair says so. */
	atomic_store_explicit(&e->worker_done, true, memory_order_release);
	return 0;
}

static void *thread_main(void *arg)
{
	/* A registered thread gets an lcore id, hence a mempool cache and DPDK's per-lcore
	 * random state; if registration fails the loop still works, only slower. */
	int registered = rte_thread_register() == 0;

	dpw_engine_run(arg);
	if (registered)
		rte_thread_unregister();
	return NULL;
}

int dpw_engine_start(struct dpw_engine *e, char *err, size_t errlen)
{
	unsigned lcore;

#if LWIP_INSTANCES
	/* The engine's lwIP lives on the thread that created it (lwipopts.h): no other thread
	 * can poll it. */
	(void)lcore;
	dpw_set_err(err, errlen, "the per-thread lwIP build polls an engine on the thread that "
		    "created it (dpw_engine_run), not on one started for it");
	return -1;
#endif
	atomic_store(&e->stop, false);
	atomic_store(&e->worker_done, false);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (rte_eal_get_lcore_state(lcore) == WAIT &&
		    rte_eal_remote_launch(lcore_main, e, lcore) == 0) {
			e->on_worker_lcore = true;
			e->worker_lcore = lcore;
			return 0;
		}
	}
	if (pthread_create(&e->thread, NULL, thread_main, e) != 0) {
		dpw_set_err(err, errlen, "cannot start the polling thread");
		return -1;
	}
	e->on_pthread = true;
	return 0;
}

void dpw_engine_join(struct dpw_engine *e)
{
	dpw_engine_stop(e);
	if (e->on_worker_lcore) {
		rte_eal_wait_lcore(e->worker_lcore);
		while (!atomic_load_explicit(&e->worker_done, memory_order_acquire))
			rte_pause();   /* already set: wait_lcore returned after the loop ended */
		e->on_worker_lcore = false;
	}
	if (e->on_pthread) {
		pthread_join(e->thread, NULL);
		e->on_pthread = false;
	}
}

/* Release every pbuf lwIP still holds, so that every received mbuf returns to the pool:
 * connections are aborted (a RST tells each peer) and IP reassembly buffers aged out
 * (lwip_reset.c), listeners and UDP pcbs closed. */
static void release_lwip_state(struct dpw_engine *e)
{
	dpw_lwip_drop_connections();
	while (tcp_listen_pcbs.pcbs != NULL)
		tcp_close((struct tcp_pcb *)tcp_listen_pcbs.pcbs);
	while (udp_pcbs != NULL)
		udp_remove(udp_pcbs);
	netif_set_down(&e->netif);
	netif_remove(&e->netif);   /* also drops packets queued for ARP */
}

static void engine_shutdown(struct dpw_engine *e)
{
	if (e->shut_down)
		return;
	dpw_engine_join(e);
	release_lwip_state(e);
	dpw_lwip_mem_tx_pool(NULL, 0);   /* lwIP holds no block now: every mbuf of it is back */
	dpw_netif_flush_tx(e);      /* the RSTs above */
	dpw_netif_drop_tx(e);
	dpw_reassembly_destroy(e->reass);   /* the fragments it held go back to the pool */
	e->reass = NULL;
	if (e->capture != NULL) {
		dpw_capture_counts(e->capture, &e->captured);
		dpw_capture_close(e->capture, e->port.id);
		e->capture = NULL;
	}
	if (e->port.share != NULL)
		e->port.started = false;   /* the others still use it: released at destroy */
	else
		dpw_port_close(&e->port);
	e->shut_down = true;
	dpw_stats_publish(e);        /* the final figures, for readers on any thread */
}

void dpw_engine_destroy(struct dpw_engine *e)
{
	if (e == NULL)
		return;
	dpw_telemetry_engine_gone(e);
	engine_shutdown(e);
	if (e->port.share != NULL)
		dpw_port_share_release(&e->port);   /* the last one closes the port */
	else
		rte_mempool_free(e->port.pool);
	dpw_steer_set_queue(0, 1, NULL);
	if (current_engine == e)
		current_engine = NULL;
#if LWIP_INSTANCES
	/* This thread's blocks kept for reuse would be lost with the thread. */
	dpw_lwip_mem_release();
#endif
	free(e);
}

void dpw_engine_shutdown(struct dpw_engine *e)
{
	engine_shutdown(e);
}

void *dpw_engine_netif(struct dpw_engine *e)
{
	return &e->netif;
}

void dpw_engine_mac(const struct dpw_engine *e, uint8_t mac[6])
{
	memcpy(mac, e->port.mac.addr_bytes, 6);
}

void dpw_engine_offloads(const struct dpw_engine *e, char *buf, size_t len)
{
	dpw_offloads_describe(&e->port.offloads, buf, len);
}

uint16_t dpw_engine_port_id(const struct dpw_engine *e)
{
	return e->port.id;
}

const char *dpw_engine_steering(const struct dpw_engine *e)
{
	return dpw_port_share_steering(&e->port);
}

void dpw_engine_connect_begin(bool v6, const void *local, const void *remote,
			      uint16_t remote_port)
{
	dpw_steer_connect_begin(v6, local, remote, remote_port);
}

void dpw_engine_connect_end(void)
{
	dpw_steer_connect_end();
}

bool dpw_engine_connect_fallback(struct dpw_engine *e)
{
	if (!dpw_steer_connect_fallback())
		return false;
	e->c.connect_fallbacks++;
	return true;
}

int dpw_engine_pin_port(struct dpw_engine *e, bool udp, uint16_t port)
{
	return dpw_port_share_pin(&e->port, udp, port);
}

void dpw_engine_unpin_port(struct dpw_engine *e, bool udp, uint16_t port)
{
	dpw_port_share_unpin(&e->port, udp, port);
}

int dpw_engine_spread_port(struct dpw_engine *e, bool udp, uint16_t port)
{
	return dpw_port_share_spread(&e->port, udp, port);
}

int dpw_engine_join_port(struct dpw_engine *e, bool udp, uint16_t port)
{
	return dpw_port_share_join(&e->port, udp, port);
}

void dpw_engine_leave_port(struct dpw_engine *e, bool udp, uint16_t port)
{
	dpw_port_share_leave(&e->port, udp, port);
}

int dpw_engine_port_holder(const struct dpw_engine *e, bool udp, uint16_t port)
{
	return dpw_port_share_holder(&e->port, udp, port);
}

uint16_t dpw_engine_queue(const struct dpw_engine *e)
{
	return e->port.queue;
}

struct rte_mempool *dpw_engine_pktmbuf_pool(struct dpw_engine *e)
{
	return e->port.pool;
}

void dpw_engine_input(struct dpw_engine *e, struct rte_mbuf *m)
{
	/* The zero-copy path keeps lwIP's pbuf in the mbuf's private area; an mbuf from a pool
	 * without that room is copied into one of ours first. */
	if (m->pool != e->port.pool && rte_pktmbuf_priv_size(m->pool) < DPW_MBUF_PRIV) {
		struct rte_mbuf *copy = rte_pktmbuf_copy(m, e->port.pool, 0, UINT32_MAX);

		rte_pktmbuf_free(m);
		if (copy == NULL) {
			e->c.rx_nombuf++;
			return;
		}
		m = copy;
	}
	if (e->capture != NULL)
		dpw_capture_frames(e->capture, e->port.id, &m, 1, false);
	dpw_netif_input(e, m);
}
