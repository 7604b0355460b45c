/* The engine without a network: a net_ring port whose RX ring the test fills with frames and
 * whose TX ring it reads. Checks ARP and ICMP through lwIP, TCP handshakes, that malformed
 * frames are dropped and counted, and that every mbuf returns to the pool after traffic and
 * after shutdown. */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_pause.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "check.h"
#include "dpw/engine_opts.h"
#include "dpw/engine.h"
#include "engine_fixture.h"
#include "frames.h"
#include "lwip_probe.h"

static void inject(struct rte_mbuf *m)
{
	CHECK(fixture_inject(m));
}

static void stats(struct dpw_engine_stats *s)
{
	dpw_engine_get_stats(engine, s);
}

static void test_arp(void)
{
	struct rte_mbuf *out[8];
	unsigned n;

	inject(frame_arp_request(pool, &peer));
	n = run_and_collect(out, 8);
	CHECK_EQ_U(n, 1);
	CHECK(n == 1 && frame_is_arp_reply(out[0], &peer));
	free_all(out, n);
}

static void test_icmp_echo(void)
{
	struct rte_mbuf *out[8];
	unsigned n;

	inject(frame_icmp_echo(pool, &peer, 0x4242, 1, 56, FAULT_NONE));
	n = run_and_collect(out, 8);
	CHECK_EQ_U(n, 1);
	CHECK(n == 1 && frame_is_icmp_echo_reply(out[0], 0x4242, 1, 56));
	free_all(out, n);
}

/* A malformed frame produces no answer and moves exactly its own drop counter. */
static void expect_dropped(struct rte_mbuf *m, size_t counter_offset, const char *what)
{
	struct dpw_engine_stats before, after;
	struct rte_mbuf *out[8];
	unsigned n;

	stats(&before);
	inject(m);
	n = run_and_collect(out, 8);
	stats(&after);
	if (n != 0)
		fprintf(stderr, "%s: the stack answered a malformed frame\n", what);
	CHECK_EQ_U(n, 0);
	CHECK_EQ_U(*(uint64_t *)((char *)&after + counter_offset),
		   *(uint64_t *)((char *)&before + counter_offset) + 1);
	CHECK_EQ_U(after.rx_dropped, before.rx_dropped + 1);
	CHECK_EQ_U(after.rx_packets, before.rx_packets + 1);
	free_all(out, n);
}

static void test_malformed(void)
{
	static const uint8_t runt[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0 };
	uint32_t x = 0xdeadbeef;

	expect_dropped(frame_raw(pool, runt, sizeof(runt)),
		       offsetof(struct dpw_engine_stats, drop_runt), "runt");
	expect_dropped(frame_icmp_echo(pool, &peer, 1, 1, 8, FAULT_IP_CHECKSUM),
		       offsetof(struct dpw_engine_stats, drop_ip_chksum), "ip checksum");
	expect_dropped(frame_icmp_echo(pool, &peer, 1, 1, 8, FAULT_IP_LENGTH),
		       offsetof(struct dpw_engine_stats, drop_ip_len), "ip length");
	expect_dropped(frame_tcp(pool, &peer, 40000, 7, 1000, 0, 0x02, NULL, 0,
				 FAULT_L4_CHECKSUM),
		       offsetof(struct dpw_engine_stats, drop_tcp_chksum), "tcp checksum");
	expect_dropped(frame_udp(pool, &peer, 40000, 9, &x, sizeof(x), FAULT_L4_CHECKSUM),
		       offsetof(struct dpw_engine_stats, drop_udp_chksum), "udp checksum");
	expect_dropped(frame_icmp_echo(pool, &peer, 1, 1, 8, FAULT_L4_CHECKSUM),
		       offsetof(struct dpw_engine_stats, drop_icmp), "icmp checksum");
}

/* Frames too short for the header their ethertype announces: lwIP read those headers before
 * checking their length (lwip-0007..0009). Each is dropped and counted for what it is. */
static void test_short_headers(void)
{
	uint8_t f[14 + 20];

	memcpy(f, peer.dst_mac, 6);
	memcpy(f + 6, peer.src_mac, 6);
	memset(f + 14, 0, sizeof(f) - 14);
	f[12] = 0x08, f[13] = 0x06;   /* ARP: 20 of its 28 bytes */
	f[14] = 0x00, f[15] = 0x01, f[16] = 0x08, f[17] = 0x00, f[18] = 6, f[19] = 4;
	expect_dropped(frame_raw(pool, f, 14 + 20), offsetof(struct dpw_engine_stats, drop_link),
		       "short arp");
	f[12] = 0x08, f[13] = 0x00;   /* IPv4: 10 of its 20 bytes */
	f[14] = 0x45;
	expect_dropped(frame_raw(pool, f, 14 + 10),
		       offsetof(struct dpw_engine_stats, drop_ip_len), "short ipv4");
	f[12] = 0x86, f[13] = 0xdd;   /* IPv6: 20 of its 40 bytes */
	f[14] = 0x60;
	expect_dropped(frame_raw(pool, f, 14 + 20),
		       offsetof(struct dpw_engine_stats, drop_ip_len), "short ipv6");
}

/* A checked lwIP error (LWIP_ERROR) is counted and recovered from, not an abort (cc.h). */
static void test_lwip_error_recovered(void)
{
	struct dpw_engine_stats before, after;

	dpw_engine_get_stats(engine, &before);
	CHECK(probe_lwip_error() != 0);
	dpw_engine_get_stats(engine, &after);
	CHECK_EQ_U(after.lwip_errors, before.lwip_errors + 1);
}

/* A SYN to a closed port gets a RST; a SYN to a listener a SYN-ACK. */
static void test_tcp_handshake(void)
{
	struct rte_mbuf *out[8];
	uint8_t flags = 0;
	uint32_t seq = 0, ack = 0;
	unsigned n;

	inject(frame_tcp(pool, &peer, 40001, 9999, 5000, 0, 0x02, NULL, 0, FAULT_NONE));
	n = run_and_collect(out, 8);
	CHECK_EQ_U(n, 1);
	CHECK(n == 1 && frame_tcp_info(out[0], &flags, &seq, &ack));
	CHECK_EQ_U(flags & 0x04, 0x04);  /* RST */
	CHECK_EQ_U(ack, 5001);
	free_all(out, n);

	CHECK(probe_listen_hoarding(8080) == 0);
	inject(frame_tcp(pool, &peer, 40002, 8080, 7000, 0, 0x02, NULL, 0, FAULT_NONE));
	n = run_and_collect(out, 8);
	CHECK_EQ_U(n, 1);
	CHECK(n == 1 && frame_tcp_info(out[0], &flags, &seq, &ack));
	CHECK_EQ_U(flags, 0x12);  /* SYN|ACK */
	CHECK_EQ_U(ack, 7001);
	free_all(out, n);

	/* Complete the handshake and send data the application never reads: lwIP holds it. */
	{
		static const char data[] = "held by lwIP until the connection goes away";
		struct dpw_engine_stats s;

		inject(frame_tcp(pool, &peer, 40002, 8080, 7001, seq + 1, 0x10, NULL, 0,
				 FAULT_NONE));
		inject(frame_tcp(pool, &peer, 40002, 8080, 7001, seq + 1, 0x18, data,
				 sizeof(data), FAULT_NONE));
		n = run_and_collect(out, 8);
		free_all(out, n);
		stats(&s);
		CHECK_EQ_U(probe_hoarded_bytes(), sizeof(data));
		CHECK(s.mbuf_in_use > s.mbuf_idle);   /* the data's mbuf is lwIP's now */
		CHECK_EQ_U(s.tcp_pcbs_in_use, 1);
	}
}

/* Many frames through the zero-copy path: afterwards the pool is back at its idle level. */
static void test_burst_returns_mbufs(void)
{
	struct rte_mbuf *out[64];
	struct dpw_engine_stats s0, s1;
	unsigned replies = 0;

	stats(&s0);
	for (uint16_t round = 0; round < 200; round++) {
		unsigned n;

		for (uint16_t i = 0; i < 32; i++)
			inject(frame_icmp_echo(pool, &peer, 7, (uint16_t)(round * 32 + i), 512,
					       FAULT_NONE));
		n = run_and_collect(out, 64);
		for (unsigned i = 0; i < n; i++)
			replies += frame_is_icmp_echo_reply(out[i], 7, rte_be_to_cpu_16(
				rte_pktmbuf_mtod_offset(out[i], struct rte_icmp_hdr *, 34)->icmp_seq_nb),
				512);
		free_all(out, n);
	}
	stats(&s1);
	CHECK_EQ_U(replies, 200 * 32);
	CHECK_EQ_U(s1.tx_dropped, s0.tx_dropped);
	CHECK_EQ_U(s1.mbuf_in_use, s0.mbuf_in_use);
}

/* dpw_engine_start(): the loop on a thread of its own answers while this thread waits for
 * the reply on the TX ring (bounded: 5 s), then dpw_engine_join() stops it. */
static void test_own_thread(void)
{
	char err[DPW_ERRLEN];
	struct rte_mbuf *m = NULL;
	uint64_t deadline;

	CHECK(dpw_engine_start(engine, err, sizeof(err)) == 0);
	inject(frame_icmp_echo(pool, &peer, 0x5151, 9, 32, FAULT_NONE));
	deadline = rte_get_timer_cycles() + 5 * rte_get_timer_hz();
	while (rte_ring_dequeue(from_stack, (void **)&m) != 0 && rte_get_timer_cycles() < deadline)
		rte_pause();
	dpw_engine_join(engine);
	CHECK(m != NULL && frame_is_icmp_echo_reply(m, 0x5151, 9, 32));
	if (m != NULL)
		rte_pktmbuf_free(m);
}

static void test_bad_config(void)
{
	struct dpw_engine_config cfg = { 0 };
	char err[DPW_ERRLEN];
	uint32_t a, m;

	/* One engine per process: a second one is refused with a reason. */
	cfg.port_id = dpw_engine_port_id(engine);
	cfg.ipv4_addr = peer.dst_ip;
	CHECK(dpw_engine_create(&cfg, err, sizeof(err)) == NULL && strlen(err) > 0);
	/* Several engines on one port need the per-thread build (test_multi_queue). */
	cfg.queues = 2;
	CHECK(dpw_engine_create(&cfg, err, sizeof(err)) == NULL &&
	      strstr(err, "per-thread build") != NULL);
	cfg.queues = 0;

	CHECK(dpw_parse_ipv4_prefix("198.18.0.2/24", &a, &m) == 0 && m == htonl(0xffffff00));
	CHECK(dpw_parse_ipv4_prefix("198.18.0.300/24", &a, &m) != 0);
	CHECK(dpw_parse_ipv4_prefix("198.18.0.2", &a, &m) != 0);
	CHECK(dpw_parse_ipv4_prefix("198.18.0.2/33", &a, &m) != 0);
	CHECK(dpw_parse_ipv4_prefix("198.18.0.2/", &a, &m) != 0);
	CHECK(dpw_parse_ipv4_prefix("/24", &a, &m) != 0);
	CHECK(dpw_parse_ipv4_prefix("198.18.0.2/24x", &a, &m) != 0);
}

int main(int argc, char **argv)
{
	struct dpw_engine_stats s;

	(void)argc;
	if (!fixture_start(argv[0]))
		return 1;

	test_arp();
	test_icmp_echo();
	test_malformed();
	test_short_headers();
	test_lwip_error_recovered();
	test_burst_returns_mbufs();
	test_tcp_handshake();
	test_bad_config();
	test_own_thread();

	/* Shutdown aborts the hoarding connection (a RST goes out) and returns every mbuf. */
	{
		struct rte_mbuf *out[8];
		unsigned n = fixture_shutdown(out, 8), rsts = 0;
		uint8_t flags = 0;
		uint32_t seq, ack;

		/* A delayed ACK of the held data may go out first; then exactly one RST. */
		for (unsigned i = 0; i < n; i++)
			rsts += frame_tcp_info(out[i], &flags, &seq, &ack) && (flags & 0x04);
		CHECK_EQ_U(rsts, 1);
		CHECK(n > 0 && frame_tcp_info(out[n - 1], &flags, &seq, &ack) && (flags & 0x04));
		free_all(out, n);
	}
	stats(&s);
	CHECK_EQ_U(s.mbuf_in_use, 0);
	CHECK_EQ_U(s.tcp_pcbs_in_use, 0);
	fixture_end();
	return check_report("test_engine");
}
