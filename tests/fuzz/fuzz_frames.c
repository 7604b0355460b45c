/* libFuzzer harness: sequences of Ethernet frames, with fuzz-controlled time, into one
 * engine over a net_ring port (no network). The engine runs a TCP echo listener (port 7), a
 * TCP listener that keeps every byte it is sent (port 9), UDP echo (7) and UDP hold (9)
 * sockets and a connection of its own to the peer (port 5000 to 198.18.0.1:80); see
 * peer_lwip.c. TCP ISNs are fixed (FUZZ_ISN) so that inputs can complete handshakes.
 *
 * Input: records, each a 5-byte header and a frame:
 *   [0] flags: bit 0 fix checksums, bit 1 fix IP/UDP lengths (fixup.h), bit 2 set the
 *       destination MAC to the engine's
 *   [1] time to let pass first: 0-127 ms, or (v - 127) * 500 ms above that (up to 64 s,
 *       beyond TIME_WAIT and a few retransmission backoffs)
 *   [2] where to split the frame into two mbuf segments (0 or >= length: one segment)
 *   [3-4] frame length, little-endian (at most FRAME_MAX; a short input takes what is left;
 *       0: no frame, time passes only)
 * After each frame the engine is polled once and whatever it sent is dropped.
 *
 * Out-of-bounds reads and reads after free: each segment's bytes sit in a malloc'd block of
 * exactly their size, attached to an mbuf of the harness's own RX pool as an external buffer
 * and freed when the engine frees the mbuf; AddressSanitizer sees a read one byte past a
 * frame, or one of a frame lwIP already let go. (The engine's own mbufs live in one big
 * DPDK allocation that ASan knows nothing about.)
 *
 * Every input starts from the same state (peer_lwip.c's reset) and ends with the checks:
 * with every connection aborted, every mbuf back in its pool and lwIP's pools empty. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpw/engine_opts.h"
#include "dpw/engine.h"
#include "dpw/test_hooks.h"
#include "fixup.h"
#include "fuzz_port.h"
#include "peer_lwip.h"

#define FUZZ_ISN 0x10000000u
#define HDR_LEN 5
#define TIME_STEP_MS 250   /* lwIP's TCP_TMR_INTERVAL */
#define FRAME_MAX 2048
#define RX_POOL_SIZE 2047
#define FLAG_CHECKSUMS 1
#define FLAG_LENGTHS 2
#define FLAG_DST_MAC 4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dpw_engine *engine;
static struct rte_ring *to_stack, *from_stack;
static struct rte_mempool *rx_pool;
static uint8_t engine_mac[6];
static uint32_t peer_ip;
static uint32_t clock_ms = 1000;   /* lwIP's clock (dpw_test_set_clock) */
static unsigned rx_buffers;        /* frame buffers the engine has not freed yet */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_frames: %s\n", what);
	fflush(stderr);
	abort();
}

/* Called when the engine frees a segment (its last reference): the bytes go back to
 * malloc, so that AddressSanitizer reports any later read of them. */
static void rx_buffer_free(void *addr, void *opaque)
{
	free(addr);
	free(opaque);
	rx_buffers--;
}

/* One mbuf segment whose data is a malloc'd block of exactly len bytes (an external buffer
 * of the mbuf), so that AddressSanitizer's redzones sit right before and after the frame. */
static struct rte_mbuf *rx_segment(const uint8_t *bytes, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rx_pool);
	struct rte_mbuf_ext_shared_info *shinfo = malloc(sizeof(*shinfo));
	uint8_t *buf = malloc(len);

	if (m == NULL || shinfo == NULL || buf == NULL)
		fail("no mbuf or memory left for a frame: received mbufs were lost");
	memcpy(buf, bytes, len);
	shinfo->free_cb = rx_buffer_free;
	shinfo->fcb_opaque = shinfo;
	rte_mbuf_ext_refcnt_set(shinfo, 1);
	rte_pktmbuf_attach_extbuf(m, buf, RTE_BAD_IOVA, len, shinfo);
	m->data_len = len;
	m->pkt_len = len;
	rx_buffers++;
	return m;
}

static void inject(uint8_t *frame, uint16_t len, uint8_t flags, uint8_t split)
{
	struct rte_mbuf *m;

	if ((flags & FLAG_DST_MAC) && len >= 6)
		memcpy(frame, engine_mac, 6);
	fixup_frame(frame, len, ((flags & FLAG_CHECKSUMS) ? FIXUP_CHECKSUMS : 0) |
				((flags & FLAG_LENGTHS) ? FIXUP_LENGTHS : 0));
	if (split == 0 || split >= len) {
		m = rx_segment(frame, len);
	} else {
		m = rx_segment(frame, split);
		m->next = rx_segment(frame + split, (uint16_t)(len - split));
		m->nb_segs = 2;
		m->pkt_len = len;
	}
	dpw_engine_input(engine, m);
}

/* FUZZ_TRACE=1 in the environment: one line per frame the engine sent, to check by eye
 * that a seed or a regression input drives the stack where it claims to. */
static bool trace;

static void trace_frame(const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	size_t l4 = 0;
	uint8_t proto = 0;

	if (len >= 34 && f[12] == 0x08 && f[13] == 0x00) {
		l4 = 14 + (size_t)(f[14] & 0x0f) * 4;
		proto = f[23];
	} else if (len >= 54 && f[12] == 0x86 && f[13] == 0xdd) {
		l4 = 54;
		proto = f[20];
	}
	if (proto == 6 && len >= l4 + 20) {
		const uint8_t *t = f + l4;

		fprintf(stderr, "  tx tcp %u>%u flags %02x seq %08x ack %08x len %u\n",
			t[0] << 8 | t[1], t[2] << 8 | t[3], t[13],
			(uint32_t)t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7],
			(uint32_t)t[8] << 24 | t[9] << 16 | t[10] << 8 | t[11],
			(unsigned)(len - l4 - (size_t)(t[12] >> 4) * 4));
	} else {
		fprintf(stderr, "  tx type %02x%02x proto %u len %u\n", f[12], f[13], proto, len);
	}
}

/* What the engine sent is dropped (traced if asked); its mbufs go back to the engine's pool. */
static void drain_tx(void)
{
	struct rte_mbuf *out[64];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(from_stack, (void **)out, 64, NULL)) > 0) {
		for (unsigned i = 0; trace && i < n; i++)
			trace_frame(out[i]);
		rte_pktmbuf_free_bulk(out, n);
	}
}

static void poll_once(void)
{
	dpw_engine_poll(engine);
	drain_tx();
}

static void reset(void)
{
	fuzz_apps_reset(dpw_engine_netif(engine));
	poll_once();   /* the RSTs of the aborted connections go out, and are dropped */
}

static void check_idle(void)
{
	struct dpw_engine_stats s;
	const char *left = fuzz_apps_leftover();
	char msg[160];

	if (left != NULL) {
		snprintf(msg, sizeof(msg), "after the reset lwIP still holds %s", left);
		fail(msg);
	}
	if (rte_mempool_in_use_count(rx_pool) != 0 || rx_buffers != 0) {
		snprintf(msg, sizeof(msg), "after the reset %u received mbuf(s), %u buffer(s) "
			 "are not back", rte_mempool_in_use_count(rx_pool), rx_buffers);
		fail(msg);
	}
	dpw_engine_get_stats(engine, &s);
	if (s.mbuf_in_use != s.mbuf_idle) {
		snprintf(msg, sizeof(msg), "after the reset %u engine mbuf(s) in use, %u at idle",
			 s.mbuf_in_use, s.mbuf_idle);
		fail(msg);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[DPW_ERRLEN];
	struct dpw_engine_config cfg = { 0 };
	int port;

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TRACE") != NULL;
	port = fuzz_port_create("fuzz_frames", &to_stack, &from_stack, err, sizeof(err));
	if (port < 0)
		fail(err);
	cfg.port_id = (uint16_t)port;
	if (dpw_parse_ipv4_prefix("198.18.0.2/24", &cfg.ipv4_addr, &cfg.ipv4_netmask) != 0 ||
	    dpw_parse_ipv4_prefix("198.18.0.1/32", &peer_ip, &(uint32_t){ 0 }) != 0)
		fail("bad address");
	/* 2001:2::2, the test topology's IPv6 address for the stack */
	cfg.ipv6_addr[0] = 0x20;
	cfg.ipv6_addr[1] = 0x01;
	cfg.ipv6_addr[3] = 0x02;
	cfg.ipv6_addr[15] = 0x02;
	cfg.rx_desc = 64;
	cfg.tx_desc = 64;
	cfg.extra_mbufs = 2048;
	dpw_test_set_clock(&clock_ms);
	dpw_test_set_fixed_isn(FUZZ_ISN);
	engine = dpw_engine_create(&cfg, err, sizeof(err));
	if (engine == NULL)
		fail(err);
	dpw_engine_mac(engine, engine_mac);
	/* mbuf headers and the engine's pbuf only: the data comes from malloc (rx_segment) */
	rx_pool = rte_pktmbuf_pool_create("fuzz_rx", RX_POOL_SIZE, 0, FUZZ_RX_PRIV, 0,
					  SOCKET_ID_ANY);
	if (rx_pool == NULL)
		fail("cannot create the RX pool");
	if (fuzz_apps_start() != 0)
		fail("cannot start the applications");
	poll_once();
	return 0;
}

static uint32_t time_step(uint8_t v)
{
	return v < 128 ? v : (uint32_t)(v - 127) * 500;
}

/* lwIP's cyclic timers fire once per check however late they are, and TCP counts its
 * retransmission and TIME_WAIT timeouts in timer ticks: time passes in steps no longer than
 * the TCP timer's interval, checked each, as on a real clock. */
static void let_time_pass(uint32_t ms)
{
	while (ms > 0) {
		uint32_t step = ms < TIME_STEP_MS ? ms : TIME_STEP_MS;

		clock_ms += step;
		ms -= step;
		if (ms > 0)
			poll_once();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FRAME_MAX];

	/* A long jump first: lwIP's cyclic timers all re-arm relative to now, so every input
	 * meets them at the same phase. */
	clock_ms += 600000;
	poll_once();
	reset();
	fuzz_apps_open_client(peer_ip);
	poll_once();
	while (size >= HDR_LEN) {
		uint8_t flags = data[0], split = data[2];
		size_t len = (size_t)data[3] | (size_t)data[4] << 8;

		let_time_pass(time_step(data[1]));
		data += HDR_LEN;
		size -= HDR_LEN;
		if (len > size)
			len = size;
		if (len > FRAME_MAX)
			len = FRAME_MAX;
		if (trace)
			fprintf(stderr, " t=%u rx %zu bytes flags %x split %u\n", clock_ms, len,
				flags, split);
		if (len > 0) {
			memcpy(frame, data, len);
			inject(frame, (uint16_t)len, flags, split);
			data += len;
			size -= len;
		}
		poll_once();
	}
	reset();
	check_idle();
	return 0;
}
