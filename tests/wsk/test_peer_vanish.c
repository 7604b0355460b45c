/* The peer vanishing for good mid-transfer (issue 10, faults): a 4 MiB WskSend is under way
 * and a WskReceive pending when the Linux peer goes silent for ever: in its namespace its
 * address is removed (the stack's segments reach nobody) and its veth end's qdisc becomes a
 * blackhole (nothing it sends leaves). The stack retransmits (tcp_retransmits grows), then
 * gives up on the connection: both IRPs complete exactly once with an error (R2, R3), the
 * WskCloseSocket after that still completes (C1), the pcb is gone, and lwIP met no checked
 * error.
 *
 * lwIP gives up after TCP_MAXRTX (12) retransmissions with exponential backoff: minutes, and
 * WSK has no way to shorten it (SO_KEEPALIVE starts after 2 hours). So once the first
 * retransmissions were seen in real time, lwIP's clock (the test hook dpw_test_set_clock)
 * runs fast (a 100 ms timer tick every 0.2 ms of real time) until the connection has failed,
 * then at real speed again. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "dpw/engine.h"
#include "dpw/test_hooks.h"
#include "harness.h"

#define PEER_PORT 5314
#define SEND_BYTES (4u << 20)
#define READ_FIRST (256u << 10)
#define SEED 91

/* ---- lwIP's clock, advanced by a thread of its own ----------------------------------------- */

static _Atomic uint32_t lwip_ms;
static _Atomic bool fast;
static pthread_t clock_thread;

/* At real speed, or fast: one timer tick (TCP_TMR_INTERVAL, 100 ms) every 0.2 ms. Never a
 * bigger step: lwIP's cyclic timers do not catch up on a jump, they fire once and restart. */
static void *run_clock(void *arg)
{
	uint64_t last = h_now_ms();

	(void)arg;
	for (;;) {
		uint64_t now;

		if (atomic_load(&fast)) {
			usleep(200);
			atomic_fetch_add(&lwip_ms, 100);
			last = h_now_ms();
			continue;
		}
		usleep(2000);
		now = h_now_ms();
		atomic_fetch_add(&lwip_ms, (uint32_t)(now - last));
		last = now;
	}
	return NULL;
}

/* Take over lwIP's clock where the TSC has it now (a little ahead: it must never go back). */
static bool clock_take_over(void)
{
	atomic_store(&lwip_ms, (uint32_t)(rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000)) + 20);
	if (pthread_create(&clock_thread, NULL, run_clock, NULL) != 0)
		return false;
	pthread_detach(clock_thread);
	dpw_test_set_clock((const uint32_t *)&lwip_ms);
	return true;
}

/* ---- the peer ------------------------------------------------------------------------------ */

/* The peer goes silent for ever; false if a command failed. */
static bool peer_vanish(void)
{
	const char *ns = getenv("DPW_NS_PEER"), *dev = getenv("DPW_IF_PEER");
	char cmd[512];

	if (ns == NULL || dev == NULL)
		return false;
	snprintf(cmd, sizeof(cmd),
		 "ip -n '%s' -4 addr flush dev '%s' && "
		 "ip netns exec '%s' tc qdisc replace dev '%s' root blackhole", ns, dev, ns, dev);
	return system(cmd) == 0;
}

static bool engine(struct dpw_engine_stats *s)
{
	return h_engine_stats(s);
}

static void test_peer_vanishes(void)
{
	static uint8_t out[SEND_BYTES], first[READ_FIRST], in[64];
	struct dpw_engine_stats s0, s1, s2;
	struct h_irp snd, rcv;
	struct h_buf sb, rb;
	uint32_t pcbs0 = h_tcp_pcbs_in_use();
	uint64_t t0, end;
	PWSK_SOCKET s;
	int lfd, fd;

	h_test("peer vanishes mid-transfer: retransmissions, then the send and the receive fail "
	       "once each (R2, R3), close completes (C1)");
	if (!H_CHECK(clock_take_over()))
		return;
	lfd = peer_listen(PEER_PORT);
	if (!H_CHECK_STATUS(h_connect_to_peer(PEER_PORT, &s), STATUS_SUCCESS))
		return;
	fd = peer_accept(lfd, 5000);
	if (!H_CHECK(fd >= 0))
		return;

	/* Under way: the send started and the peer has read the first part of it. */
	h_fill_pattern(out, sizeof(out), SEED, 0);
	h_irp_init(&snd);
	h_irp_init(&rcv);
	h_buf_init(&sb, out, sizeof(out));
	h_buf_init(&rb, in, sizeof(in));
	H_CHECK(DpwConnectionDispatch(s)->WskSend(s, &sb.wb, 0, snd.irp) == STATUS_PENDING);
	H_CHECK(DpwConnectionDispatch(s)->WskReceive(s, &rb.wb, 0, rcv.irp) == STATUS_PENDING);
	H_CHECK(peer_read_all(fd, first, sizeof(first), 5000) == (long)sizeof(first) &&
		h_check_pattern(first, sizeof(first), SEED, 0) == sizeof(first));
	H_CHECK(engine(&s0));

	if (!H_CHECK(peer_vanish()))
		return;

	/* Real time: the stack resends what the peer no longer acknowledges. */
	t0 = h_now_ms();
	for (end = t0 + 15000; h_now_ms() < end;) {
		h_pump(100);
		if (engine(&s1) && s1.tcp_retransmits >= s0.tcp_retransmits + 2)
			break;
	}
	printf("%llu retransmissions in %llu ms of real time after the peer vanished\n",
	       (unsigned long long)(s1.tcp_retransmits - s0.tcp_retransmits),
	       (unsigned long long)(h_now_ms() - t0));
	H_CHECK(s1.tcp_retransmits >= s0.tcp_retransmits + 2);
	H_CHECK(atomic_load(&snd.completions) == 0 && atomic_load(&rcv.completions) == 0);

	/* lwIP's clock fast: 60 s of waiting is hours of its time. */
	atomic_store(&fast, true);
	t0 = h_now_ms();
	H_CHECK(h_wait(&snd, 60000));
	H_CHECK(h_wait(&rcv, 5000));
	atomic_store(&fast, false);
	H_CHECK(engine(&s2));
	printf("gave up after %llu ms of fast clock: send %s (%lu bytes), receive %s; %llu retransmissions"
	       " in all\n", (unsigned long long)(h_now_ms() - t0),
	       DpwNtStatusName(snd.status), (unsigned long)snd.info, DpwNtStatusName(rcv.status),
	       (unsigned long long)(s2.tcp_retransmits - s0.tcp_retransmits));
	H_CHECK(!NT_SUCCESS(snd.status) && !NT_SUCCESS(rcv.status));
	H_CHECK(rcv.info == 0);
	H_CHECK(s2.tcp_retransmits > s1.tcp_retransmits);
	h_pump(200);   /* a second completion would come by now */
	H_CHECK(atomic_load(&snd.completions) == 1 && atomic_load(&rcv.completions) == 1);

	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs0);
	H_CHECK(s2.lwip_errors == s0.lwip_errors);
	h_irp_free(&snd);
	h_irp_free(&rcv);
	h_buf_free(&sb);
	h_buf_free(&rb);
	close(fd);
	close(lfd);
}

int main(int argc, char **argv)
{
	h_start(argc, argv);
	test_peer_vanishes();
	return h_finish();
}
