/* Two lwIP instances in one process (lwip-0021, issue 15), in the per-thread build
 * (stack_mt_dep): two threads each create an engine over their own net_ring port, the two
 * ports wired to each other, and each polls its own. Each engine listens on port 7 and echoes,
 * and each connects to the other's and sends a pattern that must come back whole; so both
 * instances hold an active and a passive connection at once, on two threads.
 *
 * What it shows: each instance's state is its own (its interface list, its pcb lists, its
 * pool counts: two connections each, not four); a thread that never created an engine has no
 * lwIP pools; the per-thread rules are enforced (a second engine on one thread, and
 * dpw_engine_start, are refused); the echoes arrive intact; every mbuf goes back to its pool.
 * Every wait is bounded. Run under TSan it also shows the instances share nothing unguarded. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dpw/engine.h"
#include "dpw/engine_opts.h"
#include "check.h"
#include "engines_kit.h"
#include "instances_probe.h"

#define ECHO_PORT   7
#define PATTERN_LEN (256 * 1024)
#define DEADLINE_S  30

/* The wire between the two ports: each port's TX ring, a cable ring each way, each port's
 * RX ring. The net_ring PMD moves frames between a port and its rings inside DPDK, which a
 * sanitizer does not see; so each thread also moves its frames between its port's rings and
 * the cables itself (wire_hook), and the only hand-off between the threads is a ring in code
 * TSan does see. */
struct wire {
	struct rte_ring *tx, *rx;       /* the port's */
	struct rte_ring *out, *in;      /* the cables: to the other, from the other */
};

struct instance {
	const char *name, *addr, *peer_addr;
	uint16_t port_id;
	struct wire wire;
	struct echo_client client;      /* this thread only, until the join */

	/* What the thread saw, for main to check after the join. */
	bool created, destroyed;
	char second_create_err[DPW_ERRLEN], start_err[DPW_ERRLEN];
	bool second_create_refused, start_refused;
	unsigned netifs, own_netif;
	unsigned pcbs_used_after, mbufs_in_use_after;
};

static struct instance inst[2] = {
	{ .name = "A", .addr = "198.18.0.1", .peer_addr = "198.18.0.2",
	  .client = { .len = PATTERN_LEN, .seed = 1 } },
	{ .name = "B", .addr = "198.18.0.2", .peer_addr = "198.18.0.1",
	  .client = { .len = PATTERN_LEN, .seed = 101 } },
};

/* Each poll (a poll hook): what the port sent goes on the cable, what came in goes to the
 * port for the next poll. */
static void wire_hook(void *arg)
{
	struct wire *w = arg;

	kit_move_all(w->tx, w->out);
	kit_move_all(w->in, w->rx);
}

/* Both engines exist (so the first SYN finds a listener); both clients are done (so neither
 * thread stops polling while the other still needs its echo); both engines are shut down (so
 * neither lwIP holds the other's mbufs any more); both RX rings are drained (so every mbuf is
 * back in its pool, and a pool may be freed). */
static atomic_uint engines_up, clients_done, shut_down, drained;

static void *instance_main(void *arg)
{
	struct instance *in = arg;
	struct echo_client *c = &in->client;
	struct dpw_engine_config cfg = { 0 };
	char err[DPW_ERRLEN], prefix[32];
	struct dpw_engine *e, *second;
	struct rte_mempool *pool;
	bool registered = rte_thread_register() == 0;   /* an lcore id: a mempool cache */
	double deadline;

	cfg.port_id = in->port_id;
	cfg.rx_desc = 512;
	cfg.tx_desc = 512;
	snprintf(prefix, sizeof(prefix), "%s/24", in->addr);
	dpw_parse_ipv4_prefix(prefix, &cfg.ipv4_addr, &cfg.ipv4_netmask);
	e = dpw_engine_create(&cfg, err, sizeof(err));
	if (e == NULL) {
		fprintf(stderr, "%s: %s\n", in->name, err);
		atomic_fetch_add(&engines_up, 1);   /* the other side must not wait for us */
		atomic_fetch_add(&clients_done, 1);
		goto out;
	}
	in->created = true;
	pool = dpw_engine_pktmbuf_pool(e);
	dpw_engine_add_poll_hook(e, wire_hook, &in->wire);

	/* The per-thread rules. */
	second = dpw_engine_create(&cfg, in->second_create_err, sizeof(in->second_create_err));
	in->second_create_refused = second == NULL;
	if (second != NULL)
		dpw_engine_destroy(second);
	in->start_refused = dpw_engine_start(e, in->start_err, sizeof(in->start_err)) != 0;
	in->netifs = probe_netifs(inet_addr(in->addr), &in->own_netif);

	if (!probe_echo_listen(ECHO_PORT, NULL)) {
		c->failed = true;
		c->failure = "cannot listen";
	}
	if (!kit_all_reached(&engines_up, 2, e, DEADLINE_S) && !c->failed) {
		c->failed = true;
		c->failure = "the other engine never came up";
	}
	if (!c->failed && !probe_client_start(c, inet_addr(in->peer_addr), ECHO_PORT)) {
		c->failed = true;
		c->failure = "cannot start the connection";
	}
	deadline = kit_now_s() + DEADLINE_S;
	while (!probe_client_done(c) && kit_now_s() < deadline) {
		dpw_engine_poll(e);
		probe_note_peak(c);
	}
	if (!probe_client_done(c)) {
		c->failed = true;
		c->failure = "the echo did not come back within the deadline";
	}
	probe_client_close(c);
	/* Keep echoing for the other until it is done. */
	kit_all_reached(&clients_done, 2, e, DEADLINE_S);

	/* Shut down (every connection aborted, lwIP's buffers released), take what the other
	 * sent meanwhile off the wire, then count: every mbuf of ours must be back. */
	dpw_engine_shutdown(e);
	in->pcbs_used_after = probe_pcbs_in_pool();
	if (kit_all_reached(&shut_down, 2, NULL, DEADLINE_S)) {
		kit_move_all(in->wire.tx, NULL);
		kit_move_all(in->wire.in, NULL);
		kit_move_all(in->wire.rx, NULL);
		if (kit_all_reached(&drained, 2, NULL, DEADLINE_S)) {
			in->mbufs_in_use_after = rte_mempool_in_use_count(pool);
			dpw_engine_destroy(e);
			in->destroyed = true;
		}
	}
	/* Otherwise the other thread may still hold our mbufs: the pool stays (and the test
	 * has failed already). */
out:
	if (registered)
		rte_thread_unregister();
	return NULL;
}

struct bystander {
	bool no_pools, no_netifs;
};

static void *bystander_main(void *arg)
{
	struct bystander *b = arg;

	b->no_pools = probe_no_pools();
	b->no_netifs = probe_no_netifs();
	return NULL;
}

static struct rte_ring *ring(const char *name)
{
	return rte_ring_create(name, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* Two net_ring ports and the cables between them (struct wire). */
static int wire_ports(const char *argv0)
{
	struct rte_ring *a_to_b = ring("a_to_b"), *b_to_a = ring("b_to_a");

	inst[0].wire = (struct wire){ ring("a_tx"), ring("a_rx"), a_to_b, b_to_a };
	inst[1].wire = (struct wire){ ring("b_tx"), ring("b_rx"), b_to_a, a_to_b };
	for (int i = 0; i < 2; i++) {
		struct wire *w = &inst[i].wire;
		char name[16];
		int port;

		if (w->tx == NULL || w->rx == NULL || w->out == NULL || w->in == NULL) {
			fprintf(stderr, "%s: no rings\n", argv0);
			return -1;
		}
		snprintf(name, sizeof(name), "dpw_inst_%s", inst[i].name);
		port = rte_eth_from_rings(name, &w->rx, 1, &w->tx, 1, SOCKET_ID_ANY);
		if (port < 0) {
			fprintf(stderr, "%s: no net_ring port\n", argv0);
			return -1;
		}
		inst[i].port_id = (uint16_t)port;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char prefix[64], err[DPW_ERRLEN];
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
			"--no-telemetry", "--log-level=*:warning", "-l", "0", prefix, NULL };
	pthread_t threads[2], by;
	struct bystander b = { 0 };

	(void)argc;
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpwsk-inst-%d", (int)getpid());
	if (dpw_eal_init(11, eal, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	if (wire_ports(argv[0]) != 0)
		return 1;
	for (int i = 0; i < 2; i++)
		if (pthread_create(&threads[i], NULL, instance_main, &inst[i]) != 0) {
			fprintf(stderr, "%s: cannot start a thread\n", argv[0]);
			return 1;
		}
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	if (pthread_create(&by, NULL, bystander_main, &b) == 0)
		pthread_join(by, NULL);

	for (int i = 0; i < 2; i++) {
		struct instance *in = &inst[i];
		struct echo_client *c = &in->client;

		printf("%s: echoed %u of %u bytes, %u mismatches; at the peak %u connections "
		       "active, %u pcbs from its pool; %s%s\n", in->name, c->echoed, c->len,
		       c->mismatches, c->active_at_peak, c->pcbs_used_at_peak,
		       c->failed ? "failed: " : "ok", c->failed ? c->failure : "");
		CHECK(in->created);
		CHECK(!c->failed);
		CHECK_EQ_U(c->sent, PATTERN_LEN);
		CHECK_EQ_U(c->echoed, PATTERN_LEN);
		CHECK_EQ_U(c->mismatches, 0);
		/* Its own interface only: the other engine's is in the other instance. */
		CHECK_EQ_U(in->netifs, 1);
		CHECK_EQ_U(in->own_netif, 1);
		/* Its client connection and the one it accepted: two, not four. */
		CHECK_EQ_U(c->active_at_peak, 2);
		CHECK_EQ_U(c->pcbs_used_at_peak, 2);
		CHECK_EQ_U(in->pcbs_used_after, 0);
		CHECK(in->destroyed);
		CHECK_EQ_U(in->mbufs_in_use_after, 0);
		CHECK(in->second_create_refused);
		CHECK(strstr(in->second_create_err, "on this thread") != NULL);
		CHECK(in->start_refused);
		CHECK(strstr(in->start_err, "thread that created it") != NULL);
	}
	/* A thread that never created an engine carries no lwIP pools or interfaces. */
	CHECK(b.no_pools);
	CHECK(b.no_netifs);
	dpw_eal_cleanup();
	return check_report("lwip-instances");
}
