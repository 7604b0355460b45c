/* dpwsk-pathlen: what a connection costs each engine at 1..8 engines, on a wire that puts every
 * frame on the queue of the engine that owns its flow, as a NIC with RSS does. Issue 15's
 * first target (per-lcore cost at 2 lcores within 5% of 1 lcore) cannot be read off this VM's
 * clocks: the same run varies by 20-40% (docs/many-lcores.md). Instructions can: run under
 * valgrind's callgrind (bench/pathlen.sh), the count is the same every run to a fraction of a
 * percent, and it is what grows if anything on the path grows with the number of engines.
 *
 * In one process: a server port and a client port, both net_ring, and between them a wire on
 * a thread of its own that puts every frame on the queue dpw_steer_owner() names on the
 * receiving port (ARP replies on all), so that no engine ever hands a frame on (checked:
 * steered_out is 0). Frames crossing the wire are copied into the receiving port's pool, on
 * the wire's thread, so that the wire's work is never counted as an engine's.
 *
 * --side server (the default): Q server engines, each on a thread of its own (Q lwIP
 * instances), echo on port 7; client engines (--peer-queues, 1 by default) keep --in-flight
 * connections open between them. --side client: Q client engines share the connections out,
 * against --peer-queues server engines. bench/pathlen.sh gives the peer as many engines as the
 * measured side and 32 connections each, so that every engine on either side carries the same
 * load at every Q: one peer engine carrying 32 x Q connections batches its frames otherwise,
 * and the measured side then sees more frames per connection at larger Q (a lone ACK where
 * one would ride on data), which is the peer's timing, not the measured path. Either
 * side's engines serve through lwIP's raw API, or, with --wsk, through the WSK provider:
 *   server  one listener spread over every lcore, each connection's events and routines on
 *           its lcore (DpwDeliverLcore), as dpwsk-echo --queues N serves (wsk_echo.c);
 *   client  a client per engine, each connection's calls made from the routine of the one
 *           before, on its lcore, as dpwsk-connclose --queues N runs (wsk_client.c).
 * Each connection sends 64 bytes, reads them back, and the client closes (the server closes
 * at its FIN). The first --warm-up connections are not measured. While measuring, an engine
 * of the measured side runs each loop pass that has frames waiting on its queue inside
 * counted_pass(), the one function callgrind is told to count (--toggle-collect); so does
 * a raw client's own calls that open and close (counted_client_work()). Passes with nothing
 * received are not counted (idle polling is not the stack's cost); the frames they sent
 * (TCP's timers: delayed ACKs) are printed, to show how little that leaves out.
 *
 *   dpwsk-pathlen [--queues Q] [--peer-queues P] [--side server|client] [--wsk]
 *                 [--connections N] [--in-flight K] [--warm-up W]
 *
 * Prints a line per measured engine and one "pathlen:" summary line; exits 1 when a
 * connection failed, a frame was handed on or dropped, or the engines did not finish within
 * the deadline. Natively it also prints each engine's busy CPU per connection (noisy, as the
 * clocks are). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpw/engine.h"
#include "dpw/engine_opts.h"
#include "engines_kit.h"
#include "instances_probe.h"
#include "steer.h"
#include "wsk_client.h"
#include "wsk_echo.h"

#define MAX_QUEUES  8
#define ECHO_PORT   7
#define EXCHANGE    64            /* bytes each connection sends and gets back */
#define MAX_FLIGHT  256
#define DEADLINE_S  1800          /* valgrind is slow: 2,000 connections take minutes */

struct side {
	const char *addr;
	uint16_t queues, port_id;
	struct rte_ring *tx[MAX_QUEUES], *rx[MAX_QUEUES];   /* the port's rings (net_ring) */
	/* The port's mbuf pool, once its first engine is up (the wire copies into it). */
	struct rte_mempool *_Atomic pool;
};

/* One engine: written by its thread, read by main after the join. */
struct run {
	struct side *side;
	uint16_t queue;
	bool client, measured;                   /* which side; the measured one */
	unsigned accepted;                       /* servers: by the accept callback */
	unsigned conns_measured;                 /* accepted, or completed, while measuring */
	uint64_t counted_passes;
	uint64_t rx_counted, tx_counted;         /* frames of the counted passes */
	uint64_t tx_uncounted;                   /* frames sent in passes with nothing received */
	uint64_t busy_cpu_ns;                    /* while measuring */
	struct dpw_engine_stats stats;           /* at the end */
	bool created, destroyed, in_time;
	char err[DPW_ERRLEN];
};

static struct side server = { .addr = "198.18.0.1" }, client = { .addr = "198.18.0.2" };
static struct run runs[2 * MAX_QUEUES];
static unsigned opt_queues = 1, opt_peers = 1, opt_conns = 2000, opt_flight = 32, opt_warm = 200;
static bool opt_wsk, opt_client_side;
static unsigned engines_total, servers, clients;

/* The phase, from the connections completed (all client engines): warming up (0), measuring
 * (1), over (2). The steps every engine reaches: listening (before the first SYN), finished
 * (its numbers taken), shut down (no lwIP holds a frame), drained (the rings emptied before
 * a pool goes); and --wsk's on the WSK side: the provider on every engine before the
 * listener spreads, every connection closed, the clients deregistered, the provider
 * detached. */
static atomic_uint phase, up, finished, shut_down, drained;
static atomic_uint attached, unlistened, conns_closed, deregistered, quiet, detached, wound_down;
static atomic_uint done_total, measured_total, failed_total;
static atomic_bool wire_stop, wire_stopped;
static uint64_t wire_dropped, wire_unplugged, wire_fragments;   /* the wire's thread */

/* The one function callgrind counts in (bench/pathlen.sh: --toggle-collect=counted_pass). */
__attribute__((noipa)) static unsigned counted_pass(struct dpw_engine *e)
{
	unsigned n = dpw_engine_poll(e);

	__asm__ volatile("" ::: "memory");   /* not folded into its caller */
	return n;
}

/* Frames the engine's port took so far (its own thread: the live counters). */
static uint64_t tx_packets(const struct dpw_engine *e)
{
	struct dpw_engine_stats s;

	dpw_engine_get_stats(e, &s);
	return s.tx_packets;
}

/* The phase only moves on: two client engines may end connections at once, and the one that
 * reached the warm-up's end may store after the one that reached the run's. */
static void phase_at_least(unsigned p)
{
	unsigned now = atomic_load(&phase);

	while (now < p && !atomic_compare_exchange_weak(&phase, &now, p))
		;
}

/* A connection ended on a client engine: the phase moves on the total. */
static void connection_done(bool ok)
{
	unsigned n = atomic_fetch_add(&done_total, 1) + 1;

	if (!ok)
		atomic_fetch_add(&failed_total, 1);
	if (atomic_load_explicit(&phase, memory_order_relaxed) == 1)
		atomic_fetch_add(&measured_total, 1);
	if (n >= opt_warm + opt_conns)
		phase_at_least(2);
	else if (n >= opt_warm)
		phase_at_least(1);
}

/* ---- the wire ------------------------------------------------------------------------------ */

/* A NIC refills a queue's RX ring and frees what the queue sent on that queue's own lcore,
 * through that lcore's mempool cache, so a queue's mbufs stay with it. The wire does the
 * same with a cache per queue (wire_cache): what queue q sent is freed into q's cache, and
 * what q receives is taken from it. Through one cache (the wire thread's), every mbuf would
 * go from one engine to the next, and lwIP's wrapper in its private area with it: lines
 * written by two engines that a NIC would not make (bench/sharing). */
static struct rte_mempool_cache *wire_cache[2][MAX_QUEUES];   /* [client side?][queue] */

static struct rte_mempool_cache *cache_of(const struct side *s, uint16_t queue)
{
	struct rte_mempool_cache **c = &wire_cache[s == &client][queue];

	if (*c == NULL)
		*c = rte_mempool_cache_create(RTE_MEMPOOL_CACHE_MAX_SIZE, SOCKET_ID_ANY);
	return *c;
}

/* Frees a frame queue sent, each segment of the side's pool into the queue's cache. */
static void free_sent(struct rte_mbuf *m, const struct side *from, uint16_t queue)
{
	struct rte_mempool *pool = atomic_load_explicit(&from->pool, memory_order_acquire);
	struct rte_mempool_cache *cache = cache_of(from, queue);

	while (m != NULL) {
		struct rte_mbuf *next = m->next, *seg = rte_pktmbuf_prefree_seg(m);

		if (seg != NULL && seg->pool == pool && cache != NULL)
			rte_mempool_generic_put(pool, (void **)&seg, 1, cache);
		else if (seg != NULL)
			rte_mbuf_raw_free(seg);
		m = next;
	}
}

static void copy_onto(struct rte_mbuf *m, struct side *to, uint16_t queue)
{
	struct rte_mempool *pool = atomic_load_explicit(&to->pool, memory_order_acquire);
	struct rte_mempool_cache *cache = cache_of(to, queue);
	struct rte_mbuf *c;
	uint8_t *at;

	if (pool == NULL) {
		wire_unplugged++;   /* the other end not created yet: its first announcements */
		return;
	}
	if (cache == NULL ||
	    m->pkt_len > (uint32_t)(rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM) ||
	    rte_mempool_generic_get(pool, (void **)&c, 1, cache) != 0) {
		wire_dropped++;
		return;
	}
	rte_pktmbuf_reset(c);
	at = rte_pktmbuf_mtod(c, uint8_t *);
	for (const struct rte_mbuf *seg = m; seg != NULL; seg = seg->next) {
		memcpy(at, rte_pktmbuf_mtod(seg, const uint8_t *), seg->data_len);
		at += seg->data_len;
	}
	c->data_len = (uint16_t)m->pkt_len;
	c->pkt_len = m->pkt_len;
	if (rte_ring_enqueue(to->rx[queue], c) != 0) {
		rte_pktmbuf_free(c);
		wire_dropped++;
	}
}

/* Once the wire stops: every cache back into its pool, before the pools go. */
static void free_wire_caches(void)
{
	for (unsigned k = 0; k < 2; k++)
		for (unsigned q = 0; q < MAX_QUEUES; q++)
			if (wire_cache[k][q] != NULL) {
				struct side *s = k ? &client : &server;

				rte_mempool_cache_flush(wire_cache[k][q],
							atomic_load(&s->pool));
				rte_mempool_cache_free(wire_cache[k][q]);
				wire_cache[k][q] = NULL;
			}
}

/* Everything one side's queues sent, onto the other side's queue that owns each frame. */
static unsigned carry(struct side *from, struct side *to)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	for (uint16_t q = 0; q < from->queues; q++)
		while (rte_ring_dequeue(from->tx[q], (void **)&m) == 0) {
			uint16_t owner = dpw_steer_owner(m, to->queues, NULL, NULL);

			if (owner == DPW_STEER_ALL)
				for (uint16_t k = 0; k < to->queues; k++)
					copy_onto(m, to, k);
			else if (owner < to->queues)
				copy_onto(m, to, owner);
			else
				wire_fragments++;   /* nothing here sends fragments */
			free_sent(m, from, q);
			n++;
		}
	return n;
}

/* Until every engine has taken its numbers and asks it to stop. */
static void *wire_main(void *arg)
{
	bool registered = rte_thread_register() == 0;

	(void)arg;
	while (!atomic_load(&wire_stop))
		if (carry(&client, &server) + carry(&server, &client) == 0)
			sched_yield();   /* fewer CPUs than threads here, and valgrind runs one */
	free_wire_caches();
	atomic_store(&wire_stopped, true);
	if (registered)
		rte_thread_unregister();
	return NULL;
}

/* ---- engines ------------------------------------------------------------------------------- */

static struct dpw_engine *engine_for(struct side *s, uint16_t queue, char *err, size_t len)
{
	struct dpw_engine_config cfg = { 0 };
	char prefix[32];

	cfg.port_id = s->port_id;
	cfg.queues = s->queues;
	cfg.queue = queue;
	cfg.rx_desc = 1024;
	cfg.tx_desc = 1024;
	cfg.busy_cpu = true;
	/* Beyond the rings, a few thousand mbufs a queue are plenty here (the default, 16,384
	 * a queue, does not fit 8 queues in the EAL memory below). */
	cfg.extra_mbufs = 2048;
	cfg.steering = DPW_STEERING_SOFTWARE;   /* the wire applies the same rule */
	snprintf(prefix, sizeof(prefix), "%s/24", s->addr);
	dpw_parse_ipv4_prefix(prefix, &cfg.ipv4_addr, &cfg.ipv4_netmask);
	return dpw_engine_create(&cfg, err, len);
}

/* One loop pass: counted when this engine is measured, the phase is 1 and frames wait, or
 * (work) a raw client's own work just made frames that this pass sends. */
static void pass(struct run *r, struct dpw_engine *e, unsigned now, bool work)
{
	unsigned waiting = rte_ring_count(r->side->rx[r->queue]);

	if (r->measured && now == 1 && (waiting > 0 || work)) {
		uint64_t tx = tx_packets(e);

		r->counted_passes++;
		r->rx_counted += waiting < 32 ? waiting : 32;   /* one burst at most */
		counted_pass(e);
		r->tx_counted += tx_packets(e) - tx;
	} else {
		uint64_t tx = r->measured && now == 1 ? tx_packets(e) : 0;

		if (dpw_engine_poll(e) == 0)
			sched_yield();
		if (r->measured && now == 1)
			r->tx_uncounted += tx_packets(e) - tx;
	}
}

static __thread unsigned lane_done;   /* connections this client engine ended */

static void lane_connection_done(bool ok)
{
	lane_done++;
	connection_done(ok);
}

/* The engine's connections: a raw client's slots, or (--wsk) its WSK lane's. */
struct raw_client {
	struct echo_client conns[MAX_FLIGHT];
	bool active[MAX_FLIGHT];
	unsigned n;
};

/* A raw client's calls into the stack for slot i: the close of the connection that ended
 * there, the start of the next. */
static bool slot_work(struct echo_client *k, bool close, bool start, unsigned i)
{
	if (close)
		probe_client_close(k);
	if (!start)
		return true;
	memset(k, 0, sizeof(*k));
	k->len = EXCHANGE;
	k->seed = (uint8_t)i;
	return probe_client_start(k, inet_addr(server.addr), ECHO_PORT);
}

/* The same, counted as a pass is when measuring (bench/pathlen.sh also toggles on this
 * function; the WSK client makes its calls inside its passes, in its routines). The scan of
 * the slots that finds them is the benchmark's and is not counted: it costs per scan, not
 * per connection, and the scans per connection vary with timing (at 8 engines under
 * valgrind it was 0.5 % of a raw client's count). */
__attribute__((noipa)) static bool counted_client_work(struct echo_client *k, bool close,
							bool start, unsigned i)
{
	bool ok = slot_work(k, close, start, i);

	__asm__ volatile("" ::: "memory");
	return ok;
}

/* A raw client's own work between passes: each connection that ended closed and replaced
 * (none replaced once more is false). */
static bool client_work(struct raw_client *c, bool more, bool counted)
{
	bool did = false;

	for (unsigned i = 0; i < c->n; i++) {
		struct echo_client *k = &c->conns[i];
		bool close = c->active[i] && probe_client_done(k);
		bool start = more && (close || !c->active[i]);
		bool ok;

		if (!close && !start)
			continue;
		if (close)   /* its result, before the slot is cleared for the next */
			lane_connection_done(!k->failed && k->mismatches == 0);
		ok = counted ? counted_client_work(k, close, start, i) : slot_work(k, close, start, i);
		c->active[i] = start && ok;
		if (start && !ok)
			lane_connection_done(false);
		did = true;
	}
	return did;
}


/* --wsk: the WSK side's engines (the measured side's) close what they have and leave the
 * provider together, each polling meanwhile (a connection's last routines run on its
 * lcore). Bounded: 60 s for the connections, 60 s a step. */
static bool wsk_wind_down(struct run *r, struct dpw_engine *e, unsigned wsk_engines)
{
	double deadline = kit_now_s() + 60;
	unsigned (*open_here)(void) = r->client ? wsk_client_active : wsk_echo_open;

	if (r->client)
		wsk_client_stop();
	else if (r->queue == 0)
		wsk_echo_unlisten(e);
	/* Once the listener is closed (its copies on every lcore), no connection comes. */
	if (!r->client && !kit_all_reached(&unlistened, wsk_engines, e, 60))
		return false;
	while (open_here() > 0 && kit_now_s() < deadline)
		dpw_engine_poll(e);
	if (open_here() > 0)
		snprintf(r->err, sizeof(r->err), "%u connections still open", open_here());
	if (!kit_all_reached(&conns_closed, wsk_engines, e, 60))
		return false;
	if (r->client)
		wsk_client_deregister();   /* each lane its own client */
	else if (r->queue == 0)
		wsk_echo_deregister();     /* the listener's, whose connections were on every lcore */
	if (!kit_all_reached(&deregistered, wsk_engines, e, 60))
		return false;
	/* Detach only once no engine polls: it takes the provider's hook off every engine and
	 * frees their request rings (the last to reach the step above leaves it at once, while
	 * the others may still be inside a pass). */
	if (!kit_all_reached(&quiet, wsk_engines, NULL, 60))
		return false;
	if (r->queue == 0)
		wsk_echo_detach();   /* DpwProviderDetach, whichever side was WSK */
	return kit_all_reached(&detached, wsk_engines, NULL, 60);
}

/* Numbers taken; once every engine has, the wire stops; then shut down, the rings drained,
 * and the engine goes (the port's last engine closes it and frees its pool). */
static void engine_end(struct run *r, struct dpw_engine *e)
{
	double deadline = kit_now_s() + 60;

	if (!r->in_time)
		dpw_engine_get_stats(e, &r->stats);
	if (atomic_fetch_add(&finished, 1) + 1 == engines_total)
		atomic_store(&wire_stop, true);
	while (!atomic_load(&wire_stopped) && kit_now_s() < deadline)
		sched_yield();
	dpw_engine_shutdown(e);
	if (!atomic_load(&wire_stopped) || !kit_all_reached(&shut_down, engines_total, NULL, 60))
		return;   /* an engine is stuck and may hold frames: the pools stay */
	kit_move_all(r->side->tx[r->queue], NULL);
	kit_move_all(r->side->rx[r->queue], NULL);
	if (kit_all_reached(&drained, engines_total, NULL, 60)) {
		dpw_engine_destroy(e);
		r->destroyed = true;
	}
}

static void *engine_main(void *arg)
{
	struct run *r = arg;
	bool registered = rte_thread_register() == 0;
	struct dpw_engine *e = engine_for(r->side, r->queue, r->err, sizeof(r->err));
	bool wsk = opt_wsk && r->measured;
	unsigned wsk_engines = r->client ? clients : servers;
	unsigned seen = 0, base_conns = 0, slots;
	uint64_t cpu_at = 0;
	struct raw_client *rc = NULL;
	struct dpw_engine_stats s;
	double deadline;

	if (e == NULL)
		goto out;
	r->created = true;
	atomic_store_explicit(&r->side->pool, dpw_engine_pktmbuf_pool(e), memory_order_release);
	/* This engine's share of the connections in flight (clients). */
	slots = opt_flight / clients + (r->queue < opt_flight % clients);
	if (wsk && !r->client) {
		if (!wsk_echo_attach(e, r->err, sizeof(r->err)) ||
		    !kit_all_reached(&attached, wsk_engines, e, 60) ||
		    (r->queue == 0 && !wsk_echo_listen(e, ECHO_PORT, r->err, sizeof(r->err))))
			goto end;
	} else if (wsk) {
		if (!wsk_client_attach(e, r->err, sizeof(r->err)))
			goto end;
		/* The provider learns its lcore's thread at the lcore's first pass: before it, a
		 * socket made on this thread would go to the lcores in turn. */
		dpw_engine_poll(e);
	} else if (!r->client && !probe_echo_listen(ECHO_PORT, &r->accepted)) {
		snprintf(r->err, sizeof(r->err), "cannot listen");
		goto end;
	} else if (r->client && (rc = calloc(1, sizeof(*rc))) == NULL) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		goto end;
	}
	if (rc != NULL)
		rc->n = slots;
	if (!kit_all_reached(&up, engines_total, e, 60))
		goto end;
	if (wsk && r->client &&
	    !wsk_client_start(slots, inet_addr(server.addr), ECHO_PORT, lane_connection_done)) {
		snprintf(r->err, sizeof(r->err), "cannot start the connections");
		goto end;
	}
	deadline = kit_now_s() + DEADLINE_S;
	for (;;) {
		unsigned now = atomic_load_explicit(&phase, memory_order_acquire);

		if (wsk && !r->client)
			r->accepted = wsk_echo_accepted();
		if (now != seen) {
			unsigned conns = r->client ? lane_done : r->accepted;

			dpw_engine_get_stats(e, &s);
			if (now == 1) {
				base_conns = conns;
				cpu_at = s.busy_cpu_ns;
			} else {
				r->conns_measured = conns - base_conns;
				r->busy_cpu_ns = s.busy_cpu_ns - cpu_at;
				r->stats = s;   /* drops and hand-offs up to here; not the teardown's */
			}
			seen = now;
		}
		if (now >= 2)
			break;
		if (kit_now_s() > deadline)
			goto wind_down;
		bool work = false;

		if (rc != NULL)
			work = client_work(rc, true, r->measured && now == 1);
		pass(r, e, now, work);
	}
	r->in_time = true;
wind_down:
	if (wsk && !wsk_wind_down(r, e, wsk_engines))
		goto end;
	if (rc != NULL) {
		client_work(rc, false, false);
		for (unsigned i = 0; i < rc->n; i++)
			probe_client_close(&rc->conns[i]);
	}
	kit_all_reached(&wound_down, engines_total, e, 60);
end:
	engine_end(r, e);
	free(rc);
out:
	if (registered)
		rte_thread_unregister();
	return NULL;
}

/* ---- set-up and report ---------------------------------------------------------------------- */

static int make_port(struct side *s, const char *name)
{
	char rname[RTE_RING_NAMESIZE];
	int port;

	for (unsigned q = 0; q < s->queues; q++) {
		snprintf(rname, sizeof(rname), "%s_tx%u", name, q);
		s->tx[q] = rte_ring_create(rname, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rname, sizeof(rname), "%s_rx%u", name, q);
		s->rx[q] = rte_ring_create(rname, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (s->tx[q] == NULL || s->rx[q] == NULL)
			return -1;
	}
	port = rte_eth_from_rings(name, s->rx, s->queues, s->tx, s->queues, SOCKET_ID_ANY);
	if (port < 0)
		return -1;
	s->port_id = (uint16_t)port;
	return 0;
}

static unsigned number(const char *opt, const char *v, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || n < lo || n > hi) {
		fprintf(stderr, "dpwsk-pathlen: --%s wants a number from %u to %u, not '%s'\n", opt,
			lo, hi, v);
		exit(2);
	}
	return (unsigned)n;
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "queues", required_argument, NULL, 'q' },
		{ "peer-queues", required_argument, NULL, 'p' },
		{ "side", required_argument, NULL, 'd' },
		{ "connections", required_argument, NULL, 'n' },
		{ "in-flight", required_argument, NULL, 'k' },
		{ "warm-up", required_argument, NULL, 'w' },
		{ "wsk", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': opt_queues = number("queues", optarg, 1, MAX_QUEUES); break;
		case 'p': opt_peers = number("peer-queues", optarg, 1, MAX_QUEUES); break;
		case 'n': opt_conns = number("connections", optarg, 1, 1000000); break;
		case 'k': opt_flight = number("in-flight", optarg, 1, MAX_FLIGHT); break;
		case 'w': opt_warm = number("warm-up", optarg, 1, 100000); break;
		case 's': opt_wsk = true; break;
		case 'd':
			if (strcmp(optarg, "server") != 0 && strcmp(optarg, "client") != 0) {
				fprintf(stderr, "dpwsk-pathlen: --side is server or client, not '%s'\n",
					optarg);
				exit(2);
			}
			opt_client_side = strcmp(optarg, "client") == 0;
			break;
		case 'h':
			printf("usage: dpwsk-pathlen [--queues 1..%d] [--peer-queues 1..%d] "
			       "[--side server|client] [--wsk] [--connections N] [--in-flight 1..%d] "
			       "[--warm-up W]\n", MAX_QUEUES, MAX_QUEUES, MAX_FLIGHT);
			exit(0);
		default:
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dpwsk-pathlen: unexpected '%s'\n", argv[optind]);
		exit(2);
	}
	if (opt_flight < (opt_client_side ? opt_queues : opt_peers)) {
		fprintf(stderr, "dpwsk-pathlen: --in-flight %u is fewer than the %u client engines\n",
			opt_flight, opt_client_side ? opt_queues : opt_peers);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	char prefix[64], err[DPW_ERRLEN];
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
			"--no-telemetry", "--log-level=*:warning", "-l", "0", prefix, NULL };
	pthread_t threads[2 * MAX_QUEUES], wire;
	uint64_t handed_on = 0, dropped = 0, tx_uncounted = 0, tx_counted = 0, passes = 0;
	uint64_t cpu_ns = 0;
	unsigned n = 0;
	bool ok = true;

	parse(argc, argv);
	servers = opt_client_side ? opt_peers : opt_queues;
	clients = opt_client_side ? opt_queues : opt_peers;
	server.queues = (uint16_t)servers;
	client.queues = (uint16_t)clients;
	engines_total = servers + clients;
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpwsk-pathlen-%d", (int)getpid());
	if (dpw_eal_init(11, eal, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpwsk-pathlen: %s\n", err);
		return 1;
	}
	if (make_port(&server, "dpw_pl_srv") != 0 || make_port(&client, "dpw_pl_cli") != 0) {
		fprintf(stderr, "dpwsk-pathlen: cannot make the ports\n");
		return 1;
	}
	if (pthread_create(&wire, NULL, wire_main, NULL) != 0) {
		fprintf(stderr, "dpwsk-pathlen: cannot start a thread\n");
		return 1;
	}
	for (unsigned i = 0; i < engines_total; i++) {
		struct run *r = &runs[i];

		r->client = i >= servers;
		r->side = r->client ? &client : &server;
		r->queue = (uint16_t)(r->client ? i - servers : i);
		r->measured = r->client == opt_client_side;
		if (pthread_create(&threads[i], NULL, engine_main, r) != 0) {
			fprintf(stderr, "dpwsk-pathlen: cannot start a thread\n");
			return 1;
		}
	}
	for (unsigned i = 0; i < engines_total; i++)
		pthread_join(threads[i], NULL);
	atomic_store(&wire_stop, true);   /* if an engine never got to its end */
	pthread_join(wire, NULL);

	for (unsigned i = 0; i < engines_total; i++) {
		const struct run *r = &runs[i];

		if (!r->created || r->err[0] != '\0')
			fprintf(stderr, "dpwsk-pathlen: %s engine %u: %s\n",
				r->client ? "client" : "server", r->queue,
				r->created ? r->err : "not created");
		ok = ok && r->created && r->destroyed && r->in_time && r->err[0] == '\0';
		handed_on += r->stats.steered_out;
		dropped += r->stats.rx_dropped + r->stats.steer_dropped;
		if (!r->measured)
			continue;
		printf("dpwsk-pathlen: %s engine %u: %u connections measured; counted passes %"
		       PRIu64 " (frames in %" PRIu64 ", out %" PRIu64 "); frames out in other "
		       "passes %" PRIu64 "; handed on %" PRIu64 ", dropped %" PRIu64
		       "; busy CPU %.2f us/connection\n", r->client ? "client" : "server", r->queue,
		       r->conns_measured, r->counted_passes, r->rx_counted, r->tx_counted,
		       r->tx_uncounted, r->stats.steered_out, r->stats.rx_dropped,
		       r->conns_measured ? r->busy_cpu_ns / 1e3 / r->conns_measured : 0.0);
		tx_uncounted += r->tx_uncounted;
		tx_counted += r->tx_counted;
		passes += r->counted_passes;
		cpu_ns += r->busy_cpu_ns;
		n += r->conns_measured;
		/* Spread: with many connections, every measured engine had some. */
		ok = ok && r->conns_measured > 0;
	}
	ok = ok && atomic_load(&failed_total) == 0 && handed_on == 0 && dropped == 0 &&
	     wire_dropped == 0 && wire_fragments == 0;
	printf("pathlen: %s %s queues=%u connections=%u on_engines=%u counted_passes=%" PRIu64
	       " tx_counted=%" PRIu64 " tx_uncounted=%" PRIu64 " handed_on=%" PRIu64
	       " dropped=%" PRIu64 " wire_dropped=%" PRIu64 " unplugged=%" PRIu64 " failed=%u"
	       " busy_cpu_us_per_conn=%.2f %s\n", opt_client_side ? "client" : "server",
	       opt_wsk ? "wsk" : "raw", opt_queues, atomic_load(&measured_total), n, passes,
	       tx_counted, tx_uncounted, handed_on, dropped, wire_dropped, wire_unplugged,
	       atomic_load(&failed_total),
	       n ? cpu_ns / 1e3 / n : 0.0, ok ? "ok" : "FAILED");
	if (dpw_engine_shared_mbufs_lost() != 0) {
		fprintf(stderr, "dpwsk-pathlen: %" PRIu64 " mbufs lost\n",
			dpw_engine_shared_mbufs_lost());
		ok = false;
	}
	dpw_eal_cleanup();
	return ok ? 0 : 1;
}
