/* Half-open connections under a SYN flood (lwip-0017), without a network: the engine
 * over a net_ring port, SYNs from spoofed off-link sources (whose SYN-ACKs have no route).
 *   - a listener at its cap drops its oldest half-open connection for a new SYN, never more
 *     than the cap are half-open, and a real client still completes its handshake;
 *   - with the pcb pool empty, a new SYN takes the oldest half-open connection's pcb and an
 *     established connection is left alone;
 *   - a client's RST that overtakes its handshake ACK ends the half-open connection unseen by
 *     the listener, and the late ACK gets a RST (lwip-0023);
 * each counted (syn_rcvd, syn_evicted, syn_evicted_pool, syn_dropped, syn_reset_half_open,
 * syn_ack_in_listen). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "check.h"
#include "dpw/engine.h"
#include "engine_fixture.h"
#include "frames.h"
#include "syn_probe.h"

#define ST_SYN_RCVD    3   /* lwIP's enum tcp_state */
#define ST_ESTABLISHED 4

/* the real client is the fixture's peer, 198.18.0.1 */
static struct frame_addrs spoof;   /* 198.19.0.1: off the stack's /24, no gateway */

/* Inject, poll until the stack is idle, drop what it sent (counted). */
static unsigned run(struct rte_mbuf *m)
{
	struct rte_mbuf *out = NULL;
	unsigned n = 0;

	CHECK(m != NULL && rte_ring_enqueue(to_stack, m) == 0);
	for (int i = 0; i < 4 || rte_ring_count(to_stack) > 0; i++)
		dpw_engine_poll(engine);
	while (rte_ring_dequeue(from_stack, (void **)&out) == 0) {
		rte_pktmbuf_free(out);
		n++;
	}
	return n;
}

static void syn_from(const struct frame_addrs *a, uint16_t sport, uint16_t dport)
{
	run(frame_tcp(pool, a, sport, dport, 1000u * sport, 0, 0x02, NULL, 0, FAULT_NONE));
}

static void stats(struct dpw_engine_stats *s)
{
	dpw_engine_get_stats(engine, s);
}

/* A real client's SYN (sequence number iss) and the SYN-ACK read back: false if none came;
 * *seq is the stack's sequence number. */
static bool syn_and_syn_ack(uint16_t sport, uint16_t dport, uint32_t iss, uint32_t *seq)
{
	struct rte_mbuf *out = NULL;
	uint8_t flags = 0;
	uint32_t ack = 0;

	CHECK(rte_ring_enqueue(to_stack, frame_tcp(pool, &peer, sport, dport, iss, 0, 0x02,
						     NULL, 0, FAULT_NONE)) == 0);
	for (int i = 0; i < 4; i++)
		dpw_engine_poll(engine);
	if (rte_ring_dequeue(from_stack, (void **)&out) != 0) {
		CHECK(!"a SYN-ACK to the real client");
		return false;
	}
	CHECK(frame_tcp_info(out, &flags, seq, &ack));
	CHECK_EQ_U(flags, 0x12);
	rte_pktmbuf_free(out);
	return true;
}

/* A real client's handshake: SYN, the SYN-ACK read back, ACK. */
static void handshake(uint16_t sport, uint16_t dport)
{
	uint32_t seq = 0;

	if (syn_and_syn_ack(sport, dport, 5000, &seq))
		run(frame_tcp(pool, &peer, sport, dport, 5001, seq + 1, 0x10, NULL, 0,
			      FAULT_NONE));
}

static void test_cap_oldest_first(void)
{
	struct dpw_engine_stats s;

	CHECK(syn_probe_listen(8081, 8) == 0);
	for (uint16_t p = 1000; p < 1020; p++) {
		syn_from(&spoof, p, 8081);
		stats(&s);
		CHECK(s.syn_rcvd <= 8);
	}
	stats(&s);
	CHECK_EQ_U(s.syn_rcvd, 8);
	CHECK_EQ_U(s.syn_rcvd_max, 8);
	CHECK_EQ_U(s.syn_evicted, 12);
	CHECK_EQ_U(s.syn_dropped, 0);
	/* the oldest twelve went, the newest eight wait */
	for (uint16_t p = 1000; p < 1012; p++)
		CHECK(syn_probe_state(8081, p) == -1);
	for (uint16_t p = 1012; p < 1020; p++)
		CHECK(syn_probe_state(8081, p) == ST_SYN_RCVD);
	/* At the cap, a real client still gets in (the oldest spoofed one makes room). */
	handshake(40001, 8081);
	CHECK(syn_probe_state(8081, 40001) == ST_ESTABLISHED);
	CHECK_EQ_U(syn_probe_accepted(), 1);
	CHECK(syn_probe_state(8081, 1012) == -1);
	stats(&s);
	CHECK_EQ_U(s.syn_rcvd, 7);   /* the established one is no longer half-open */
	CHECK_EQ_U(s.syn_evicted, 13);
}

static void test_pool_pressure(void)
{
	struct dpw_engine_stats s0, s;
	unsigned took;

	CHECK(syn_probe_listen(8082, 1024) == 0);
	took = syn_probe_fill_pool(4);
	CHECK(took > 0);
	stats(&s0);
	CHECK_EQ_U(s0.tcp_pcbs_in_use, s0.tcp_pcbs_total - 4);
	/* 4 SYNs take the last free pcbs; the next 10 each take a half-open one's, oldest first:
	 * the 7 still waiting on port 8081, then the first 3 of these. */
	for (uint16_t p = 2000; p < 2014; p++)
		syn_from(&spoof, p, 8082);
	stats(&s);
	CHECK_EQ_U(s.syn_evicted_pool - s0.syn_evicted_pool, 10);
	CHECK_EQ_U(s.syn_dropped, 0);
	CHECK_EQ_U(s.syn_rcvd, 11);
	for (uint16_t p = 1013; p < 1020; p++)
		CHECK(syn_probe_state(8081, p) == -1);
	for (uint16_t p = 2000; p < 2003; p++)
		CHECK(syn_probe_state(8082, p) == -1);
	for (uint16_t p = 2003; p < 2014; p++)
		CHECK(syn_probe_state(8082, p) == ST_SYN_RCVD);
	/* the established connection was never a candidate */
	CHECK(syn_probe_state(8081, 40001) == ST_ESTABLISHED);
	syn_probe_release();
}

/* The RST of a client that connected and closed at once, ahead of its handshake's ACK. */
static void test_reset_before_ack(void)
{
	struct dpw_engine_stats s0, s;
	uint32_t seq = 0;
	unsigned accepted;

	CHECK(syn_probe_listen(8083, 8) == 0);
	accepted = syn_probe_accepted();
	stats(&s0);
	if (!syn_and_syn_ack(40002, 8083, 7000, &seq))
		return;
	CHECK(syn_probe_state(8083, 40002) == ST_SYN_RCVD);
	/* the RST first (its sequence number is the one the ACK will carry) ... */
	CHECK_EQ_U(run(frame_tcp(pool, &peer, 40002, 8083, 7001, 0, 0x04, NULL, 0, FAULT_NONE)),
		   0);
	CHECK(syn_probe_state(8083, 40002) == -1);
	stats(&s);
	CHECK_EQ_U(s.syn_reset_half_open - s0.syn_reset_half_open, 1);
	CHECK_EQ_U(s.syn_ack_in_listen - s0.syn_ack_in_listen, 0);
	/* ... then the ACK: no connection for it any more, answered with one RST */
	CHECK_EQ_U(run(frame_tcp(pool, &peer, 40002, 8083, 7001, seq + 1, 0x10, NULL, 0,
				 FAULT_NONE)), 1);
	stats(&s);
	CHECK_EQ_U(s.syn_ack_in_listen - s0.syn_ack_in_listen, 1);
	CHECK_EQ_U(syn_probe_accepted(), accepted);   /* the listener never heard of it */
	CHECK_EQ_U(s.syn_rcvd, s0.syn_rcvd);
}

int main(int argc, char **argv)
{
	struct dpw_engine_stats s;

	(void)argc;
	if (!fixture_start(argv[0]))
		return 1;
	spoof = peer;
	spoof.src_ip = inet_addr("198.19.0.1");
	run(frame_arp_request(pool, &peer));   /* the stack learns the real client's MAC */

	test_cap_oldest_first();
	test_pool_pressure();
	test_reset_before_ack();

	fixture_shutdown(NULL, 0);   /* (the RST to the real client) */
	stats(&s);
	CHECK_EQ_U(s.tcp_pcbs_in_use, 0);
	CHECK_EQ_U(s.mbuf_in_use, 0);
	fixture_end();
	return check_report("test_syn_backlog");
}
