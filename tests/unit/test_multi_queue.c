/* Several engines on one port (config.queues, issue 15), in the per-thread build: a server
 * port and a client port of two queue pairs each, an engine per queue on a thread of its own
 * (four lwIP instances), and between the ports a wire that behaves like a NIC without RSS:
 * every frame arrives on queue 0. So queue 1's engines get their frames only through software
 * steering (steer.c): the server's queue 0 hands each new connection to the engine its hash
 * picks, the client's queue 0 hands back the replies to queue 1's connections by their port,
 * and ARP replies reach every engine. And the wire fragments every large IPv4 frame from the
 * client (a router to a smaller MTU would), sending the fragments last first: the server's
 * queue 0 must gather them and hand each whole datagram to the engine that owns its flow
 * (reassembly.c); lwIP's own reassembly on queue 0 would answer queue 1's flows with RSTs.
 *
 * Each client engine opens CONNS echo connections to the server address and sends a pattern
 * on each that must come back whole. What it shows: every echo intact; both server engines
 * accepted connections (spread); each client engine's ephemeral ports are its own (port mod 2
 * is its queue, lwip-0022); the data went fragmented and came whole to both server
 * engines; frames were steered both ways and ARP replies copied, none
 * dropped; every mbuf back in its port's pool when the port closes. Bounded waits throughout;
 * under TSan too (suite "threads"). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eth_ring.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpw/engine.h"
#include "dpw/engine_opts.h"
#include "check.h"
#include "engines_kit.h"
#include "instances_probe.h"

#define QUEUES      2
#define ENGINES     (2 * QUEUES)
#define CONNS       8
#define ECHO_PORT   7
#define PATTERN_LEN (64 * 1024)
#define DEADLINE_S  60
#define FRAG_ABOVE  600   /* IPv4 frames with more payload than this are fragmented */
#define FRAG_BYTES  512   /* payload per fragment (a multiple of 8) */

struct side {                     /* a port: the server's or the client's */
	const char *addr;
	uint16_t port_id;
	struct rte_ring *tx[QUEUES], *rx[QUEUES];   /* the port's rings (net_ring) */
	struct rte_ring *in;                        /* the cable from the other port */
	/* The port's mbuf pool, once its first engine is up: a frame crossing the cable is
	 * copied into the receiving port's pool, as a wire would, so that no port's engines
	 * hold the other port's mbufs when the ports close (at the close both count theirs,
	 * and the sides shut down at once: an mbuf of the client's, still in the server's
	 * reassembly table, was once counted lost). */
	struct rte_mempool *pool;
};

struct engine_run {
	struct side *side, *other;
	uint16_t queue;
	bool client;
	struct echo_client conns[CONNS];   /* client engines */
	unsigned accepted;                 /* server engines */
	unsigned fragmented;               /* client engines: frames the wire cut up */

	/* For main, after the join. */
	bool created, destroyed;
	char err[DPW_ERRLEN];
	struct dpw_engine_stats stats;     /* once the echoes are done */
};

static struct side server = { .addr = "198.18.0.1" }, client = { .addr = "198.18.0.2" };
static struct engine_run runs[ENGINES];

/* Steps all engines reach before any goes on: up (a listener on every server engine before
 * the first SYN); echoes done (so nobody stops answering early); shut down (no lwIP holds a
 * frame); wire drained (every mbuf back before a port's last engine frees its pool). */
static atomic_uint up, done, shut_down, drained;

/* IPv4 frame m cut into fragments of FRAG_BYTES of payload, each a new mbuf of pool (the
 * receiving port's), put on the cable last first; m freed. False (m untouched) when it is
 * not cut. */
static bool send_fragmented(struct rte_mbuf *m, struct rte_ring *cable, struct rte_mempool *pool)
{
	const uint32_t l2 = sizeof(struct rte_ether_hdr);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_mbuf *frags[8];
	uint32_t ihl, payload, n = 0;

	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || m->nb_segs != 1)
		return false;
	ihl = rte_ipv4_hdr_len(ip);
	payload = rte_be_to_cpu_16(ip->total_length) - ihl;
	if (payload <= FRAG_ABOVE || payload > FRAG_BYTES * 8)
		return false;
	for (uint32_t off = 0; off < payload; off += FRAG_BYTES, n++) {
		uint32_t len = payload - off < FRAG_BYTES ? payload - off : FRAG_BYTES;
		struct rte_mbuf *f = rte_pktmbuf_alloc(pool);
		char *d = f != NULL ? rte_pktmbuf_append(f, (uint16_t)(l2 + ihl + len)) : NULL;
		struct rte_ipv4_hdr *fip;

		if (d == NULL) {
			rte_pktmbuf_free(f);
			for (uint32_t i = 0; i < n; i++)
				rte_pktmbuf_free(frags[i]);
			return false;
		}
		memcpy(d, eth, l2 + ihl);
		memcpy(d + l2 + ihl, (char *)ip + ihl + off, len);
		fip = (struct rte_ipv4_hdr *)(d + l2);
		fip->total_length = rte_cpu_to_be_16((uint16_t)(ihl + len));
		fip->fragment_offset = rte_cpu_to_be_16((uint16_t)(off / 8) |
			(off + len < payload ? RTE_IPV4_HDR_MF_FLAG : 0));
		fip->hdr_checksum = 0;
		fip->hdr_checksum = rte_ipv4_cksum(fip);
		frags[n] = f;
	}
	rte_pktmbuf_free(m);
	while (n > 0)
		if (rte_ring_enqueue(cable, frags[--n]) != 0)
			rte_pktmbuf_free(frags[n]);   /* a full cable drops, as a wire would */
	return true;
}

/* The wire, run by each engine as a poll hook (so that TSan sees every hand-off between
 * threads): what its queue sent goes on the cable, the client's large frames in fragments;
 * queue 0 takes everything that comes in. A NIC without RSS. */
static void wire_hook(void *arg)
{
	struct engine_run *r = arg;
	struct rte_mempool *pool = __atomic_load_n(&r->other->pool, __ATOMIC_ACQUIRE);
	struct rte_mbuf *m, *c;

	while (rte_ring_dequeue(r->side->tx[r->queue], (void **)&m) == 0) {
		if (pool == NULL) {   /* the other end is not plugged in yet */
			rte_pktmbuf_free(m);
			continue;
		}
		if (r->client && send_fragmented(m, r->other->in, pool)) {
			r->fragmented++;
			continue;
		}
		c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		rte_pktmbuf_free(m);
		if (c != NULL && rte_ring_enqueue(r->other->in, c) != 0)
			rte_pktmbuf_free(c);   /* a full cable drops, as a wire would */
	}
	if (r->queue == 0)
		kit_move_all(r->side->in, r->side->rx[0]);
}

static bool clients_done(const struct engine_run *r)
{
	for (int i = 0; i < CONNS; i++)
		if (!probe_client_done(&r->conns[i]))
			return false;
	return true;
}

static void *engine_main(void *arg)
{
	struct engine_run *r = arg;
	struct dpw_engine_config cfg = { 0 };
	struct dpw_engine *e;
	char prefix[32];
	bool registered = rte_thread_register() == 0;
	double deadline;

	cfg.port_id = r->side->port_id;
	cfg.queues = QUEUES;
	cfg.queue = r->queue;
	cfg.rx_desc = 512;
	cfg.tx_desc = 512;
	snprintf(prefix, sizeof(prefix), "%s/24", r->side->addr);
	dpw_parse_ipv4_prefix(prefix, &cfg.ipv4_addr, &cfg.ipv4_netmask);
	e = dpw_engine_create(&cfg, r->err, sizeof(r->err));
	if (e == NULL) {
		/* Not at any step: the others' waits end at their deadline, and fail. */
		goto out;
	}
	r->created = true;
	__atomic_store_n(&r->side->pool, dpw_engine_pktmbuf_pool(e), __ATOMIC_RELEASE);
	dpw_engine_add_poll_hook(e, wire_hook, r);
	if (!r->client && !probe_echo_listen(ECHO_PORT, &r->accepted))
		snprintf(r->err, sizeof(r->err), "cannot listen");
	if (kit_all_reached(&up, ENGINES, e, DEADLINE_S) && r->client) {
		for (int i = 0; i < CONNS; i++) {
			r->conns[i].len = PATTERN_LEN;
			r->conns[i].seed = (uint8_t)(r->queue * CONNS + i);
			if (!probe_client_start(&r->conns[i], inet_addr(server.addr), ECHO_PORT)) {
				r->conns[i].failed = true;
				r->conns[i].failure = "cannot start the connection";
			}
		}
		deadline = kit_now_s() + DEADLINE_S;
		while (!clients_done(r) && kit_now_s() < deadline)
			dpw_engine_poll(e);
		for (int i = 0; i < CONNS; i++)
			if (!probe_client_done(&r->conns[i])) {
				r->conns[i].failed = true;
				r->conns[i].failure = "the echo did not come back within the deadline";
			}
	}
	kit_all_reached(&done, ENGINES, e, DEADLINE_S);
	dpw_engine_get_stats(e, &r->stats);
	for (int i = 0; i < CONNS; i++)
		probe_client_close(&r->conns[i]);

	dpw_engine_shutdown(e);
	if (kit_all_reached(&shut_down, ENGINES, NULL, DEADLINE_S)) {
		kit_move_all(r->side->tx[r->queue], NULL);
		kit_move_all(r->side->rx[r->queue], NULL);
		if (r->queue == 0)
			kit_move_all(r->side->in, NULL);
		if (kit_all_reached(&drained, ENGINES, NULL, DEADLINE_S)) {
			dpw_engine_destroy(e);   /* the port's last one closes it */
			r->destroyed = true;
		}
	}
	/* Otherwise an engine is stuck and may still hold frames: the pools stay (the test has
	 * failed already). */
out:
	if (registered)
		rte_thread_unregister();
	return NULL;
}

static struct rte_ring *ring(const char *name, unsigned flags)
{
	return rte_ring_create(name, 1024, SOCKET_ID_ANY, flags);
}

static int make_port(struct side *s, const char *name)
{
	char rname[RTE_RING_NAMESIZE];
	int port;

	for (int q = 0; q < QUEUES; q++) {
		snprintf(rname, sizeof(rname), "%s_tx%d", name, q);
		s->tx[q] = ring(rname, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rname, sizeof(rname), "%s_rx%d", name, q);
		s->rx[q] = ring(rname, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (s->tx[q] == NULL || s->rx[q] == NULL)
			return -1;
	}
	snprintf(rname, sizeof(rname), "%s_in", name);
	s->in = ring(rname, RING_F_SC_DEQ);   /* every engine of the other port sends into it */
	port = rte_eth_from_rings(name, s->rx, QUEUES, s->tx, QUEUES, SOCKET_ID_ANY);
	if (s->in == NULL || port < 0)
		return -1;
	s->port_id = (uint16_t)port;
	return 0;
}

int main(int argc, char **argv)
{
	char prefix[64], err[DPW_ERRLEN];
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "1024",
			"--no-telemetry", "--log-level=*:warning", "-l", "0", prefix, NULL };
	pthread_t threads[ENGINES];
	unsigned accepted = 0;

	(void)argc;
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpwsk-mq-%d", (int)getpid());
	if (dpw_eal_init(11, eal, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	if (make_port(&server, "dpw_mq_srv") != 0 || make_port(&client, "dpw_mq_cli") != 0) {
		fprintf(stderr, "%s: cannot make the ports\n", argv[0]);
		return 1;
	}
	for (int i = 0; i < ENGINES; i++) {
		runs[i].client = i >= QUEUES;
		runs[i].side = runs[i].client ? &client : &server;
		runs[i].other = runs[i].client ? &server : &client;
		runs[i].queue = (uint16_t)(i % QUEUES);
		if (pthread_create(&threads[i], NULL, engine_main, &runs[i]) != 0) {
			fprintf(stderr, "%s: cannot start a thread\n", argv[0]);
			return 1;
		}
	}
	for (int i = 0; i < ENGINES; i++)
		pthread_join(threads[i], NULL);

	for (int i = 0; i < ENGINES; i++) {
		struct engine_run *r = &runs[i];
		const struct dpw_engine_stats *s = &r->stats;

		printf("%s queue %u: %s%s; accepted %u; fragmented %u; steered out %" PRIu64
		       ", in %" PRIu64 ", copies %" PRIu64 ", dropped %" PRIu64 "; lwIP's TCP "
		       "dropped %" PRIu64 "\n", r->client ? "client" : "server",
		       r->queue, r->created ? "created" : "not created: ", r->created ? "" : r->err,
		       r->accepted, r->fragmented, s->steered_out, s->steered_in, s->steer_copies,
		       s->steer_dropped, s->drop_tcp_other);
		CHECK(r->created);
		CHECK(r->destroyed);
		CHECK_EQ_U(s->steer_dropped, 0);
		accepted += r->accepted;
		if (!r->client) {
			/* Connections spread: each server engine took some. */
			CHECK(r->accepted > 0);
			continue;
		}
		/* Its data went in fragments (each a datagram gathered by the server's queue 0). */
		CHECK(r->fragmented > 0);
		for (int c = 0; c < CONNS; c++) {
			const struct echo_client *k = &r->conns[c];

			if (k->failed)
				printf("  connection %d (port %u): %s after %u of %u bytes\n", c,
				       k->local_port, k->failure, k->echoed, k->len);
			CHECK(!k->failed);
			CHECK_EQ_U(k->echoed, PATTERN_LEN);
			CHECK_EQ_U(k->mismatches, 0);
			/* Its ports steer back to it (lwip-0022). */
			CHECK_EQ_U(k->local_port % QUEUES, r->queue);
		}
	}
	CHECK_EQ_U(accepted, QUEUES * CONNS);
	/* All frames arrive on queue 0: queue 0 hands out, queue 1 takes in, on both sides. */
	for (int side = 0; side < 2; side++) {
		const struct engine_run *q0 = &runs[side * QUEUES], *q1 = &runs[side * QUEUES + 1];

		CHECK(q0->stats.steered_out > 0);
		CHECK(q1->stats.steered_in > 0);
		CHECK_EQ_U(q1->stats.steered_out, 0);   /* nothing arrives at queue 1 itself */
		/* ARP replies to queue 1's requests arrive at queue 0, which copies them. */
		CHECK(q0->stats.steer_copies > 0);
	}
	CHECK_EQ_U(dpw_engine_shared_mbufs_lost(), 0);
	dpw_eal_cleanup();
	return check_report("multi-queue");
}
