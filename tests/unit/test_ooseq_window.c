/* Regression test for lwip-0004 (upstream 574bd6e5): an out-of-order segment at the right
 * edge of the receive window is trimmed to fit it when it is queued; a longer copy of it at
 * the same sequence number must not replace the trimmed one. lwIP 2.1.3 replaced it, so the
 * out-of-order queue held data past the window; once the hole before it was filled, lwIP's
 * own invariant "ooseq tcplen > rcv_wnd" failed (an assertion, fatal here: the README's
 * assertion policy), so any client could take the server down with four segments.
 *
 * The application never reopens the window (ooseq_probe.c), so the right edge stays where
 * the handshake put it. The test then asserts on what really happened: the application
 * got exactly the window's worth of bytes, each the one sent at its sequence number, and
 * TCP acknowledged up to the right edge and never beyond it. */
#include <stdio.h>
#include <time.h>

#include <rte_mbuf.h>

#include "check.h"
#include "dpw/engine.h"
#include "engine_fixture.h"
#include "frames.h"
#include "ooseq_probe.h"

#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define PORT 8000
#define PEER_PORT 41000
#define PEER_ISN 1000u
#define MAX_OUT 1024

static struct rte_mbuf *out[MAX_OUT];
static uint32_t rcv0;   /* the first byte's sequence number */
static uint32_t highest_ack;
static unsigned acks_past_edge;
static uint32_t edge;

/* The byte the peer sends at offset off from the first: position-dependent, so a byte
 * delivered at the wrong place shows. */
static uint8_t pattern(uint32_t off)
{
	return (uint8_t)(off * 7u + (off >> 8));
}

/* Take what the stack sent and note its acknowledgements. */
static void collect(void)
{
	unsigned n = run_and_collect(out, MAX_OUT);

	for (unsigned k = 0; k < n; k++) {
		uint8_t flags;
		uint32_t seq, ack;

		if (!frame_tcp_info(out[k], &flags, &seq, &ack) || !(flags & ACK))
			continue;
		if ((int32_t)(ack - highest_ack) > 0)
			highest_ack = ack;
		acks_past_edge += (int32_t)(ack - edge) > 0;
	}
	free_all(out, n);
}

/* The last ACK may be a delayed one: poll (at most 3 s; one fast timer tick is 100 ms)
 * until it is out. */
static void collect_until_acked(uint32_t want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		collect();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (highest_ack != want && t.tv_sec - t0.tv_sec < 3);
}

/* len bytes of the stream from sequence number seq. */
static void data(uint32_t seq, uint16_t len, uint32_t stack_ack)
{
	static uint8_t buf[1500];

	for (uint16_t i = 0; i < len; i++)
		buf[i] = pattern(seq - rcv0 + i);
	CHECK(fixture_inject(frame_tcp(pool, &peer, PEER_PORT, PORT, seq, stack_ack, ACK | PSH,
				       buf, len, FAULT_NONE)));
}

int main(int argc, char **argv)
{
	uint8_t flags = 0;
	uint32_t seq = 0, ack = 0, wnd = 0, nxt = 0, s_iss, got;
	const uint8_t *kept;
	unsigned n, wrong = 0;

	(void)argc;
	if (!fixture_start(argv[0]))
		return 1;
	CHECK(fixture_inject(frame_arp_request(pool, &peer)));
	free_all(out, run_and_collect(out, MAX_OUT));
	CHECK(ooseq_listen(PORT) == 0);

	/* The handshake. */
	CHECK(fixture_inject(frame_tcp(pool, &peer, PEER_PORT, PORT, PEER_ISN, 0, SYN, NULL, 0,
				       FAULT_NONE)));
	n = run_and_collect(out, MAX_OUT);
	CHECK(n == 1 && frame_tcp_info(out[0], &flags, &seq, &ack) && flags == (SYN | ACK));
	free_all(out, n);
	s_iss = seq;
	CHECK(fixture_inject(frame_tcp(pool, &peer, PEER_PORT, PORT, PEER_ISN + 1, s_iss + 1, ACK,
				       NULL, 0, FAULT_NONE)));
	free_all(out, run_and_collect(out, MAX_OUT));
	CHECK(ooseq_state(&nxt, &wnd));
	rcv0 = PEER_ISN + 1;
	CHECK_EQ_U(nxt, rcv0);
	CHECK(wnd > 4 * 1460);
	if (nxt != rcv0 || wnd <= 4 * 1460)
		goto out;
	edge = rcv0 + wnd;
	highest_ack = rcv0;
	printf("test_ooseq_window: window %u bytes, right edge at %u\n", wnd, edge);

	/* Out of order: one segment inside the window, then one straddling its right edge
	 * (queued trimmed to the 50 bytes that fit), then a longer copy of that one. */
	data(rcv0 + 1460, 100, s_iss + 1);
	collect();
	data(edge - 50, 200, s_iss + 1);
	collect();
	data(edge - 50, 400, s_iss + 1);
	collect();
	CHECK(ooseq_state(&nxt, &wnd));
	CHECK_EQ_U(nxt, rcv0);   /* nothing in order yet */

	/* Fill the hole in order, up to where the out-of-order data starts. Unpatched, the
	 * last of these hands lwIP the overlong queued segment: the process aborts here. */
	for (uint32_t s = rcv0; s != edge - 50;) {
		uint16_t len = (uint16_t)((edge - 50 - s) < 1460 ? edge - 50 - s : 1460);

		data(s, len, s_iss + 1);
		s += len;
		if ((s - rcv0) % (32 * 1460) == 0)
			collect();
	}
	collect_until_acked(edge);

	got = ooseq_received(&kept);
	CHECK_EQ_U(got, edge - rcv0);   /* the whole window, not a byte more */
	for (uint32_t i = 0; i < got && i < OOSEQ_PROBE_MAX; i++)
		wrong += kept[i] != pattern(i);
	CHECK_EQ_U(wrong, 0);
	CHECK(ooseq_state(&nxt, &wnd));
	CHECK_EQ_U(nxt, edge);
	CHECK_EQ_U(wnd, 0);
	CHECK_EQ_U(highest_ack, edge);     /* acknowledged up to the edge ... */
	CHECK_EQ_U(acks_past_edge, 0);     /* ... and never past it */
	{
		struct dpw_engine_stats s;

		dpw_engine_get_stats(engine, &s);
		CHECK_EQ_U(s.lwip_errors, 0);
	}
	CHECK(fixture_inject(frame_tcp(pool, &peer, PEER_PORT, PORT, edge, 0, RST, NULL, 0,
				       FAULT_NONE)));
	free_all(out, run_and_collect(out, MAX_OUT));
out:
	fixture_shutdown(NULL, 0);
	fixture_end();
	return check_report("test_ooseq_window");
}
