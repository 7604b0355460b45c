/* dpwsk-pathlen: what a connection costs each engine at 1..8 engines, on a wire that puts every
 * frame on the queue of the engine that owns its flow, as a NIC with RSS does. Issue 15's
 * first target (per-lcore cost at 2 lcores within 5% of 1 lcore) cannot be read off this VM's
 * clocks: the same run varies by 20-40% (docs/many-lcores.md). Instructions can: run under
 * valgrind's callgrind (bench/pathlen.sh), the count is the same every run to a fraction of a
 * percent, and it is what grows if anything on the path grows with the number of engines.
 *
 * In one process: a server port of Q queue pairs, an engine per queue on a thread of its own
 * (Q lwIP instances, each a raw-API echo listener on port 7, software steering), and a client
 * port of one queue with one engine, whose thread also plays the wire:
 *   - every frame the client sends goes to the server queue dpw_steer_owner() names (ARP
 *     replies to all), so no server engine ever hands a frame on (checked: steered_out is 0);
 *   - every frame a server engine sends goes to the client.
 * Frames crossing the wire are copied into the receiving port's pool, on the client's thread,
 * so that the wire's work is never counted as a server engine's.
 *
 * The client keeps --in-flight connections open; each sends 64 bytes, reads them back, and
 * closes (the server closes at the client's FIN). The first --warm-up connections are not
 * measured. While measuring, a server engine runs each loop pass that has frames waiting on
 * its queue inside counted_pass(), the one function callgrind is told to count
 * (--toggle-collect); passes with nothing received are not counted (idle polling is not
 * the stack's cost), and the frames they sent (TCP's timers: delayed ACKs) are printed, to
 * show how little that leaves out.
 *
 *   dpwsk-pathlen [--queues Q] [--connections N] [--in-flight K] [--warm-up W]
 *
 * Prints a line per server engine and one "pathlen:" summary line; exits 1 when a connection
 * failed, a frame was handed on or dropped, or the engines did not finish within the
 * deadline. Natively it also prints each engine's busy CPU per connection (noisy, as the
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

/* One server engine: written by its thread, read by main after the join. */
struct server_run {
	uint16_t queue;
	unsigned accepted;                       /* by lwIP's accept callback */
	unsigned accepted_measured;              /* of them, while measuring */
	uint64_t counted_passes;
	uint64_t rx_counted, tx_counted;         /* frames of the counted passes */
	uint64_t tx_uncounted;                   /* frames sent in passes with nothing received */
	uint64_t busy_cpu_ns;                    /* while measuring */
	struct dpw_engine_stats stats;           /* at the end */
	bool created, destroyed;
	char err[DPW_ERRLEN];
};

static struct side server = { .addr = "198.18.0.1" }, client = { .addr = "198.18.0.2",
								.queues = 1 };
static struct server_run runs[MAX_QUEUES];
static unsigned opt_queues = 1, opt_conns = 2000, opt_flight = 32, opt_warm = 200;
static bool opt_wsk;

/* The client's word to the servers: measuring now (1), over (2); and the steps every thread
 * reaches: listening (before the first SYN), finished (every server engine's numbers taken),
 * shut down (no lwIP holds a frame), drained (the rings emptied before a pool goes). */
static atomic_uint phase, up, finished, shut_down, drained;
/* --wsk, the server engines only: the provider on every engine before the listener spreads
 * over them; every connection closed, the client deregistered, the provider detached. */
static atomic_uint attached, conns_closed, deregistered, detached;
static unsigned engines_total;
static uint64_t wire_dropped, wire_unplugged, wire_fragments, client_failed, client_measured;

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

static void copy_onto(struct rte_mbuf *m, struct side *to, uint16_t queue)
{
	struct rte_mempool *pool = atomic_load_explicit(&to->pool, memory_order_acquire);
	struct rte_mbuf *c = pool != NULL ? rte_pktmbuf_copy(m, pool, 0, UINT32_MAX) : NULL;

	if (pool == NULL) {
		wire_unplugged++;   /* the other end not created yet: its first announcements */
		return;
	}
	if (c == NULL || rte_ring_enqueue(to->rx[queue], c) != 0) {
		rte_pktmbuf_free(c);
		wire_dropped++;
	}
}

/* The wire, run on the client's thread as its engine's poll hook. */
static void wire_hook(void *arg)
{
	struct rte_mbuf *m;

	(void)arg;
	while (rte_ring_dequeue(client.tx[0], (void **)&m) == 0) {
		uint16_t owner = dpw_steer_owner(m, server.queues, NULL, NULL);

		if (owner == DPW_STEER_ALL) {
			for (uint16_t q = 0; q < server.queues; q++)
				copy_onto(m, &server, q);
		} else if (owner < server.queues) {
			copy_onto(m, &server, owner);
		} else {
			wire_fragments++;   /* nothing here sends fragments */
		}
		rte_pktmbuf_free(m);
	}
	for (uint16_t q = 0; q < server.queues; q++)
		while (rte_ring_dequeue(server.tx[q], (void **)&m) == 0) {
			copy_onto(m, &client, 0);
			rte_pktmbuf_free(m);
		}
}

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

/* The end of every thread: numbers taken, shut down, rings drained, then the engine goes
 * (the port's last engine closes it and frees its pool). */
static void engine_end(struct dpw_engine *e, struct rte_ring *tx, struct rte_ring *rx,
		       bool *destroyed)
{
	atomic_fetch_add(&finished, 1);
	dpw_engine_shutdown(e);
	if (!kit_all_reached(&shut_down, engines_total, NULL, 60))
		return;   /* an engine is stuck and may hold frames: the pools stay */
	kit_move_all(tx, NULL);
	kit_move_all(rx, NULL);
	if (kit_all_reached(&drained, engines_total, NULL, 60)) {
		dpw_engine_destroy(e);
		*destroyed = true;
	}
}

/* --wsk: the listener closed, this lcore's connections closed as the client's close, then
 * the client deregistered and the provider detached, every server engine polling meanwhile
 * (a connection's last routines run on its lcore). Bounded: 60 s for the connections. */
static void wsk_end(struct server_run *r, struct dpw_engine *e)
{
	double deadline = kit_now_s() + 60;

	if (r->queue == 0)
		wsk_echo_unlisten(e);
	while (wsk_echo_open() > 0 && kit_now_s() < deadline)
		dpw_engine_poll(e);
	if (wsk_echo_open() > 0)
		snprintf(r->err, sizeof(r->err), "%u connections still open", wsk_echo_open());
	if (!kit_all_reached(&conns_closed, opt_queues, e, 60))
		return;
	if (r->queue == 0)
		wsk_echo_deregister();
	if (!kit_all_reached(&deregistered, opt_queues, e, 60))
		return;
	if (r->queue == 0)
		wsk_echo_detach();
	kit_all_reached(&detached, opt_queues, NULL, 60);
}

static void *server_main(void *arg)
{
	struct server_run *r = arg;
	bool registered = rte_thread_register() == 0;
	struct dpw_engine *e = engine_for(&server, r->queue, r->err, sizeof(r->err));
	struct dpw_engine_stats s;
	unsigned seen = 0, accepted_at = 0;
	uint64_t cpu_at = 0;

	if (e == NULL)
		goto out;
	r->created = true;
	atomic_store_explicit(&server.pool, dpw_engine_pktmbuf_pool(e), memory_order_release);
	if (opt_wsk) {
		if (!wsk_echo_attach(e, r->err, sizeof(r->err)) ||
		    !kit_all_reached(&attached, opt_queues, e, 60) ||
		    (r->queue == 0 && !wsk_echo_listen(e, ECHO_PORT, r->err, sizeof(r->err))))
			goto end;
	} else if (!probe_echo_listen(ECHO_PORT, &r->accepted)) {
		snprintf(r->err, sizeof(r->err), "cannot listen");
	}
	if (!kit_all_reached(&up, engines_total, e, 60))
		goto end;
	/* Until the client says it is over (or its thread went without saying). */
	for (;;) {
		unsigned now = atomic_load_explicit(&phase, memory_order_acquire);
		unsigned waiting = rte_ring_count(server.rx[r->queue]);

		if (opt_wsk)
			r->accepted = wsk_echo_accepted();
		if (now != seen) {
			dpw_engine_get_stats(e, &s);
			if (now == 1) {
				accepted_at = r->accepted;
				cpu_at = s.busy_cpu_ns;
			} else {
				r->accepted_measured = r->accepted - accepted_at;
				r->busy_cpu_ns = s.busy_cpu_ns - cpu_at;
			}
			seen = now;
		}
		if (now >= 2)
			break;
		if (now == 1 && waiting > 0) {
			uint64_t tx = tx_packets(e);

			r->counted_passes++;
			r->rx_counted += waiting < 32 ? waiting : 32;   /* one burst at most */
			counted_pass(e);
			r->tx_counted += tx_packets(e) - tx;
		} else {
			uint64_t tx = now == 1 ? tx_packets(e) : 0;

			if (dpw_engine_poll(e) == 0)
				sched_yield();   /* fewer CPUs than threads here, and valgrind runs one */
			if (now == 1)
				r->tx_uncounted += tx_packets(e) - tx;
		}
	}
end:
	if (opt_wsk)
		wsk_end(r, e);
	dpw_engine_get_stats(e, &r->stats);
	engine_end(e, server.tx[r->queue], server.rx[r->queue], &r->destroyed);
out:
	if (registered)
		rte_thread_unregister();
	return NULL;
}

static bool client_created, client_destroyed, client_in_time;
static char client_err[DPW_ERRLEN];

static void *client_main(void *arg)
{
	bool registered = rte_thread_register() == 0;
	struct dpw_engine *e = engine_for(&client, 0, client_err, sizeof(client_err));
	static struct echo_client conns[MAX_FLIGHT];
	bool active[MAX_FLIGHT] = { false };
	unsigned started = 0, done = 0, total = opt_warm + opt_conns;
	double deadline = kit_now_s() + DEADLINE_S, next_note = kit_now_s() + 10;

	(void)arg;
	if (e == NULL)
		goto out;
	client_created = true;
	atomic_store_explicit(&client.pool, dpw_engine_pktmbuf_pool(e), memory_order_release);
	dpw_engine_add_poll_hook(e, wire_hook, NULL);
	if (!kit_all_reached(&up, engines_total, e, 60))
		goto end;
	while (done < total && kit_now_s() < deadline) {
		for (unsigned i = 0; i < opt_flight; i++) {
			struct echo_client *c = &conns[i];

			if (active[i] && probe_client_done(c)) {
				if (c->failed || c->mismatches > 0) {
					fprintf(stderr, "dpwsk-pathlen: connection from port %u: %s\n",
						c->local_port, c->failed ? c->failure : "bytes changed");
					client_failed++;
				}
				probe_client_close(c);
				active[i] = false;
				if (++done == opt_warm)
					atomic_store_explicit(&phase, 1, memory_order_release);
				else if (done > opt_warm)
					client_measured++;
			}
			if (!active[i] && started < total) {
				memset(c, 0, sizeof(*c));
				c->len = EXCHANGE;
				c->seed = (uint8_t)started;
				if (!probe_client_start(c, inet_addr(server.addr), ECHO_PORT)) {
					fprintf(stderr, "dpwsk-pathlen: cannot start a connection\n");
					client_failed++;
					goto end;
				}
				active[i] = true;
				started++;
			}
		}
		dpw_engine_poll(e);
		if (kit_now_s() > next_note) {   /* progress on a long (valgrind) run */
			fprintf(stderr, "dpwsk-pathlen: %u of %u connections\n", done, total);
			next_note += 10;
		}
	}
	client_in_time = done == total;
end:
	atomic_store_explicit(&phase, 2, memory_order_release);
	/* The servers stop when told; the client closes what it still has, and moves their last
	 * frames for them until they have taken their numbers (--wsk: closed their connections;
	 * and so that their shutdown's frames do not fill a ring). */
	for (unsigned i = 0; i < opt_flight; i++)
		probe_client_close(&conns[i]);
	while (atomic_load(&finished) < engines_total - 1)
		dpw_engine_poll(e);
	engine_end(e, client.tx[0], client.rx[0], &client_destroyed);
out:
	if (registered)
		rte_thread_unregister();
	return NULL;
}

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
		case 'n': opt_conns = number("connections", optarg, 1, 1000000); break;
		case 'k': opt_flight = number("in-flight", optarg, 1, MAX_FLIGHT); break;
		case 'w': opt_warm = number("warm-up", optarg, 1, 100000); break;
		case 's': opt_wsk = true; break;
		case 'h':
			printf("usage: dpwsk-pathlen [--queues 1..%d] [--connections N] "
			       "[--in-flight 1..%d] [--warm-up W] [--wsk]\n", MAX_QUEUES, MAX_FLIGHT);
			exit(0);
		default:
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dpwsk-pathlen: unexpected '%s'\n", argv[optind]);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	char prefix[64], err[DPW_ERRLEN];
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
			"--no-telemetry", "--log-level=*:warning", "-l", "0", prefix, NULL };
	pthread_t threads[MAX_QUEUES + 1];
	uint64_t handed_on = 0, dropped = 0, tx_uncounted = 0, tx_counted = 0, passes = 0;
	uint64_t cpu_ns = 0;
	unsigned accepted = 0;
	bool ok = true;

	parse(argc, argv);
	server.queues = (uint16_t)opt_queues;
	engines_total = opt_queues + 1;
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpwsk-pathlen-%d", (int)getpid());
	if (dpw_eal_init(11, eal, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpwsk-pathlen: %s\n", err);
		return 1;
	}
	if (make_port(&server, "dpw_pl_srv") != 0 || make_port(&client, "dpw_pl_cli") != 0) {
		fprintf(stderr, "dpwsk-pathlen: cannot make the ports\n");
		return 1;
	}
	for (unsigned q = 0; q < opt_queues; q++) {
		runs[q].queue = (uint16_t)q;
		if (pthread_create(&threads[q], NULL, server_main, &runs[q]) != 0) {
			fprintf(stderr, "dpwsk-pathlen: cannot start a thread\n");
			return 1;
		}
	}
	if (pthread_create(&threads[opt_queues], NULL, client_main, NULL) != 0) {
		fprintf(stderr, "dpwsk-pathlen: cannot start a thread\n");
		return 1;
	}
	for (unsigned i = 0; i <= opt_queues; i++)
		pthread_join(threads[i], NULL);

	for (unsigned q = 0; q < opt_queues; q++) {
		const struct server_run *r = &runs[q];

		printf("dpwsk-pathlen: engine %u: accepted %u (%u measured); counted passes %"
		       PRIu64 " (frames in %" PRIu64 ", out %" PRIu64 "); frames out in other "
		       "passes %" PRIu64 "; handed on %" PRIu64 ", dropped %" PRIu64
		       "; busy CPU %.2f us/connection\n", q, r->accepted, r->accepted_measured,
		       r->counted_passes, r->rx_counted, r->tx_counted, r->tx_uncounted,
		       r->stats.steered_out, r->stats.rx_dropped,
		       r->accepted_measured ? r->busy_cpu_ns / 1e3 / r->accepted_measured : 0.0);
		if (!r->created)
			fprintf(stderr, "dpwsk-pathlen: engine %u not created: %s\n", q, r->err);
		ok = ok && r->created && r->destroyed && r->err[0] == '\0';
		handed_on += r->stats.steered_out;
		dropped += r->stats.rx_dropped + r->stats.steer_dropped;
		tx_uncounted += r->tx_uncounted;
		tx_counted += r->tx_counted;
		passes += r->counted_passes;
		cpu_ns += r->busy_cpu_ns;
		accepted += r->accepted_measured;
		/* Spread: with many connections, every engine took some. */
		ok = ok && r->accepted_measured > 0;
	}
	if (!client_created)
		fprintf(stderr, "dpwsk-pathlen: the client's engine not created: %s\n", client_err);
	ok = ok && client_created && client_destroyed && client_in_time && client_failed == 0 &&
	     handed_on == 0 && dropped == 0 && wire_dropped == 0 && wire_fragments == 0;
	printf("pathlen: %s queues=%u connections=%" PRIu64 " accepted=%u counted_passes=%" PRIu64
	       " tx_counted=%" PRIu64 " tx_uncounted=%" PRIu64 " handed_on=%" PRIu64
	       " dropped=%" PRIu64 " wire_dropped=%" PRIu64 " unplugged=%" PRIu64 " failed=%" PRIu64
	       " busy_cpu_us_per_conn=%.2f %s\n", opt_wsk ? "wsk" : "raw", opt_queues,
	       client_measured, accepted, passes,
	       tx_counted, tx_uncounted, handed_on, dropped, wire_dropped, wire_unplugged,
	       client_failed,
	       client_measured ? cpu_ns / 1e3 / client_measured : 0.0, ok ? "ok" : "FAILED");
	if (dpw_engine_shared_mbufs_lost() != 0) {
		fprintf(stderr, "dpwsk-pathlen: %" PRIu64 " mbufs lost\n",
			dpw_engine_shared_mbufs_lost());
		ok = false;
	}
	dpw_eal_cleanup();
	return ok ? 0 : 1;
}
