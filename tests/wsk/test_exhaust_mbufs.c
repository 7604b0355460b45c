/* Exhaustion of mbufs by lent receive buffers (issue 10): clients whose receive event keeps
 * every data indication (STATUS_PENDING, WSK-F7) and never calls WskRelease hold the mbufs
 * under them. Each connection holds at most its receive window that way (the window reopens
 * only at WskRelease: wsk-lent-bound), so it takes a few hundred such connections, each fed
 * by the peer until it stops, to drain the engine's pool.
 *
 * While the pool is dry the stack can neither take frames in nor send. Sending shows in the
 * counters (tx_dropped: lwIP's segments refused for want of an mbuf, resent later); receiving
 * does not: af_packet leaves the frames in the kernel's ring, uncounted until that overflows
 * (rx_missed). Work already accepted waits: a WskSend on another connection (lwIP may take
 * its bytes, but none can leave), data the peer sent on it. Once the clients release what
 * they kept: the pool comes back, the send completes whole (F3), every byte on every
 * connection arrives once and in order (TCP resends what was refused), a new connection
 * opens, and lwIP met no checked error. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpw/engine.h"
#include "harness.h"

#define PEER_PORT 5313
/* Per engine, x a 128 KiB window: more than one engine's share of the pool (19,264 mbufs)
 * can carry. Over N engines (DPW_HARNESS_QUEUES) the port's one pool is N times as large, and
 * the hoarders, spread over the lcores, N times as many. */
#define HOARDERS_PER_ENGINE 320
#define MAX_ENGINES 4
#define HOARDERS_MAX (HOARDERS_PER_ENGINE * MAX_ENGINES)
#define SEED_HOARD 1000
#define SEED_A 72
#define SEED_A_BACK 73
#define MAX_LISTS 400000
#define A_BYTES (64 * 1024)
#define CHUNK 65536

/* One hoarding connection's stream: the peer writes pattern bytes of its own seed. */
struct stream {
	PWSK_SOCKET sock;
	int fd;                          /* the peer's end */
	uint32_t seed;
	uint64_t wpos;                   /* bytes the peer wrote */
	uint64_t pos;                    /* [lcore] the stream position of the next byte */
	_Atomic uint64_t received, bad;  /* bytes seen; bytes not the pattern's */
};
static struct stream streams[HOARDERS_MAX];
static int hoarders;   /* HOARDERS_PER_ENGINE x the engines */

/* The kept indications, of every hoarding connection: the lcores write them from the
 * receive event (each takes a slot of its own, then marks it ready: over several lcores two
 * receive events run at once), the test thread reads the counts and releases the lists in
 * the slots taken. */
static struct {
	_Atomic int retain;
	PWSK_DATA_INDICATION lists[MAX_LISTS];
	PWSK_SOCKET socks[MAX_LISTS];
	_Atomic bool ready[MAX_LISTS];
	_Atomic int taken;               /* slots handed out (may pass MAX_LISTS: not kept) */
	_Atomic int not_retained;        /* lists it wanted to keep but had no room for */
} hoard;

/* Slots that hold a list, or soon will (a receive event between taking and marking it). */
static int kept_lists(void)
{
	int n = atomic_load(&hoard.taken);

	return n < MAX_LISTS ? n : MAX_LISTS;
}

struct piece_check {
	struct stream *st;
	uint64_t bad;
};

/* Bytes not the pattern's, counted as they come (lcore). */
static void check_piece(const uint8_t *p, size_t len, void *arg)
{
	struct piece_check *c = arg;

	for (size_t i = 0; i < len; i++)
		c->bad += p[i] != h_pattern(c->st->seed, c->st->pos + i);
	c->st->pos += len;
}

static NTSTATUS WSKAPI hoard_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				     SIZE_T indicated, SIZE_T *accepted)
{
	struct piece_check c = { ctx, 0 };
	uint64_t seen;
	int n;

	(void)flags, (void)accepted;
	if (di == NULL)
		return STATUS_SUCCESS;   /* the peer's FIN */
	seen = h_indication_bytes(di, check_piece, &c);
	c.bad += seen != indicated;
	atomic_fetch_add(&c.st->bad, c.bad);
	atomic_fetch_add(&c.st->received, seen);
	if (!atomic_load(&hoard.retain))
		return STATUS_SUCCESS;
	n = atomic_fetch_add(&hoard.taken, 1);
	if (n >= MAX_LISTS) {
		atomic_fetch_add(&hoard.not_retained, 1);
		return STATUS_SUCCESS;
	}
	hoard.lists[n] = di;
	hoard.socks[n] = c.st->sock;
	atomic_store(&hoard.ready[n], true);   /* published after the list (seq_cst) */
	return STATUS_PENDING;
}

static const WSK_CLIENT_CONNECTION_DISPATCH hoard_events = { hoard_receive, NULL, NULL };

/* Write pattern bytes of seed from *pos to a non-blocking fd until it would block or max
 * bytes went: how many went. */
static size_t write_some(int fd, uint32_t seed, uint64_t *pos, size_t max)
{
	static uint8_t buf[CHUNK];
	size_t sent = 0;

	while (sent < max) {
		size_t len = max - sent < CHUNK ? max - sent : CHUNK;
		ssize_t n;

		h_fill_pattern(buf, len, seed, *pos);
		n = write(fd, buf, len);
		if (n <= 0)
			break;
		*pos += (uint64_t)n;
		sent += (size_t)n;
	}
	return sent;
}

static bool stats(struct dpw_engine_stats *s)
{
	return h_engine_stats(s);
}

static int release_kept(int from)
{
	int n = kept_lists(), bad = 0;

	for (int i = from; i < n; i++) {
		/* A slot taken is marked ready within the receive event that took it. */
		for (uint64_t end = h_now_ms() + 5000;
		     !atomic_load(&hoard.ready[i]) && h_now_ms() < end;)
			sched_yield();
		if (!H_CHECK(atomic_load(&hoard.ready[i])))
			return i;
		bad += DpwConnectionDispatch(hoard.socks[i])->WskRelease(hoard.socks[i], hoard.lists[i]) !=
		       STATUS_SUCCESS;
	}
	if (bad != 0)
		printf("%d WskRelease calls failed\n", bad);
	return n;
}

static uint64_t hoarded_bytes(void)
{
	uint64_t n = 0;

	for (int i = 0; i < hoarders; i++)
		n += atomic_load(&streams[i].received);
	return n;
}

static void test_lent_buffers_drain_the_pool(void)
{
	struct dpw_engine_stats s0, s1, s2;
	PWSK_SOCKET a = NULL, b = NULL;
	int lfd, afd, bfd, released, opened = 0;
	uint64_t end, a_pos = 0, written;
	uint32_t peak = 0;
	struct h_irp send_irp;
	struct h_buf send_buf;
	static uint8_t a_out[A_BYTES], a_in[A_BYTES], back[A_BYTES];
	size_t got = 0;
	long n;

	h_test("lent buffers drain the mbuf pool: refused work counted, accepted work waits, "
	       "all of it arrives after WskRelease (F3, F7, C9)");
	lfd = peer_listen(PEER_PORT);
	atomic_store(&hoard.retain, 1);
	for (int i = 0; i < hoarders; i++) {
		struct stream *st = &streams[i];

		st->seed = SEED_HOARD + (uint32_t)i;
		if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, st,
							 &hoard_events, PEER_PORT, &st->sock),
				    STATUS_SUCCESS))
			break;
		st->fd = peer_accept(lfd, 5000);
		if (!H_CHECK(st->fd >= 0))
			break;
		fcntl(st->fd, F_SETFL, fcntl(st->fd, F_GETFL) | O_NONBLOCK);
		H_CHECK_STATUS(h_set_events(st->sock, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
		opened++;
	}
	if (!H_CHECK(opened == hoarders))
		return;
	if (!H_CHECK_STATUS(h_connect_to_peer(PEER_PORT, &a), STATUS_SUCCESS))
		return;
	afd = peer_accept(lfd, 5000);
	if (!H_CHECK(afd >= 0))
		return;
	H_CHECK(stats(&s0));

	/* The peer writes to every hoarding connection until the stack stops taking anything:
	 * 2 s with no progress while the pool is near empty (bounded: 60 s in all). */
	for (end = h_now_ms() + 60000; h_now_ms() < end;) {
		uint64_t before = hoarded_bytes(), still = h_now_ms() + 2000;

		for (int i = 0; i < hoarders; i++)
			write_some(streams[i].fd, streams[i].seed, &streams[i].wpos, 1u << 20);
		while (h_now_ms() < still && hoarded_bytes() == before) {
			for (int i = 0; i < hoarders; i++)
				write_some(streams[i].fd, streams[i].seed, &streams[i].wpos, CHUNK);
			usleep(20000);
		}
		if (hoarded_bytes() == before)
			break;
	}
	H_CHECK(stats(&s1));
	peak = s1.mbuf_in_use;
	printf("kept %d indication lists, %llu bytes; mbufs in use %u of %u (idle %u)\n",
	       kept_lists(), (unsigned long long)hoarded_bytes(),
	       s1.mbuf_in_use, s1.mbuf_total, s1.mbuf_idle);
	H_CHECK(atomic_load(&hoard.not_retained) == 0);
	H_CHECK(peak >= s1.mbuf_total - s1.mbuf_total / 50);   /* the pool is (nearly) dry */

	/* Accepted work on the other connection meanwhile: a send, and data from the peer. */
	h_fill_pattern(a_out, sizeof(a_out), SEED_A, 0);
	h_irp_init(&send_irp);
	h_buf_init(&send_buf, a_out, sizeof(a_out));
	(void)DpwConnectionDispatch(a)->WskSend(a, &send_buf.wb, 0, send_irp.irp);
	h_fill_pattern(back, sizeof(back), SEED_A_BACK, 0);
	fcntl(afd, F_SETFL, fcntl(afd, F_GETFL) | O_NONBLOCK);
	{
		uint64_t p = 0;

		a_pos = write_some(afd, SEED_A_BACK, &p, A_BYTES);
	}
	h_pump(1000);
	H_CHECK(stats(&s2));
	printf("while dry, 1 s: send %s; rx_dropped +%llu rx_missed +%llu tx_dropped +%llu "
	       "tcp_retransmits +%llu\n", send_irp.completions ? "completed" : "pending",
	       (unsigned long long)(s2.rx_dropped - s0.rx_dropped),
	       (unsigned long long)(s2.rx_missed - s0.rx_missed),
	       (unsigned long long)(s2.tx_dropped - s0.tx_dropped),
	       (unsigned long long)(s2.tcp_retransmits - s0.tcp_retransmits));
	/* Refused frames are counted (on the way out; see the top). */
	H_CHECK(s2.tx_dropped > s0.tx_dropped);

	/* The client lets go: everything flows again. */
	atomic_store(&hoard.retain, 0);
	released = release_kept(0);
	H_CHECK(h_wait(&send_irp, 30000));
	H_CHECK_STATUS(send_irp.status, STATUS_SUCCESS);
	H_CHECK(send_irp.info == A_BYTES);
	n = peer_read_all(afd, a_in, sizeof(a_in), 10000);
	H_CHECK(n == A_BYTES && h_check_pattern(a_in, A_BYTES, SEED_A, 0) == A_BYTES);
	{
		uint64_t p = a_pos, left_end = h_now_ms() + 10000;

		/* the rest of the peer's A_BYTES, now that the stack takes them */
		fcntl(afd, F_SETFL, fcntl(afd, F_GETFL) & ~O_NONBLOCK);
		while (p < A_BYTES && h_now_ms() < left_end)
			write_some(afd, SEED_A_BACK, &p, A_BYTES - p);
		H_CHECK(p == A_BYTES);
	}
	/* The peer resends what the dry pool refused on its own backed-off timer: on a loaded
	 * machine the last of it came after the harness's usual 5 s (seen beside two other
	 * suites). A receive that waits for all of it is given a minute. */
	h_set_sync_wait(60000);
	H_CHECK_STATUS(h_receive(a, back, sizeof(back), WSK_FLAG_WAITALL, &got), STATUS_SUCCESS);
	h_set_sync_wait(5000);
	H_CHECK(got == A_BYTES && h_check_pattern(back, A_BYTES, SEED_A_BACK, 0) == A_BYTES);

	/* The hoarded streams go on to their ends, each byte once and in order. */
	written = 0;
	for (int i = 0; i < hoarders; i++) {
		fcntl(streams[i].fd, F_SETFL, fcntl(streams[i].fd, F_GETFL) & ~O_NONBLOCK);
		shutdown(streams[i].fd, SHUT_WR);
		written += streams[i].wpos;
	}
	/* A list kept while retain was being cleared holds its window shut: give those back as
	 * they turn up. Until every byte is in, as long as bytes keep coming: the peer's TCP
	 * backed off its resends while the pool was dry (under ThreadSanitizer, on a busy
	 * machine, 30 s and more of it: the next resend may be tens of seconds away), so the
	 * bound is 60 s without a byte, 300 s in all. */
	{
		uint64_t last = hoarded_bytes(), quiet_until = h_now_ms() + 60000, t0 = h_now_ms();

		for (end = h_now_ms() + 300000;
		     hoarded_bytes() < written && h_now_ms() < end && h_now_ms() < quiet_until;) {
			released = release_kept(released);
			h_pump(50);
			if (hoarded_bytes() != last) {
				last = hoarded_bytes();
				quiet_until = h_now_ms() + 60000;
			}
		}
		printf("the hoarded streams' last bytes came %.1f s after the release (%llu of %llu "
		       "bytes)\n", (double)(h_now_ms() - t0) / 1000, (unsigned long long)last,
		       (unsigned long long)written);
	}
	released = release_kept(released);
	H_CHECK(hoarded_bytes() == written);
	for (int i = 0; i < hoarders; i++)
		if (!H_CHECK(atomic_load(&streams[i].received) == streams[i].wpos &&
			     atomic_load(&streams[i].bad) == 0))
			break;

	/* A new connection opens and carries data. */
	H_CHECK_STATUS(h_connect_to_peer(PEER_PORT, &b), STATUS_SUCCESS);
	bfd = peer_accept(lfd, 5000);
	H_CHECK(bfd >= 0 && b != NULL && h_send(b, "new", 3, 0) == STATUS_SUCCESS);
	{
		char buf[3];

		H_CHECK(bfd >= 0 && peer_read_all(bfd, buf, 3, 5000) == 3 &&
			memcmp(buf, "new", 3) == 0);
	}
	H_CHECK(stats(&s2));
	printf("after: mbufs in use %u (idle %u), tcp_retransmits +%llu, lwip_errors %llu\n",
	       s2.mbuf_in_use, s2.mbuf_idle,
	       (unsigned long long)(s2.tcp_retransmits - s0.tcp_retransmits),
	       (unsigned long long)s2.lwip_errors);
	H_CHECK(s2.mbuf_in_use < peak / 2);
	H_CHECK(s2.lwip_errors == s0.lwip_errors);

	for (int i = 0; i < hoarders; i++) {
		H_CHECK_STATUS(h_close(streams[i].sock), STATUS_SUCCESS);
		close(streams[i].fd);
	}
	H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	if (b != NULL)
		H_CHECK_STATUS(h_close(b), STATUS_SUCCESS);
	h_irp_free(&send_irp);
	h_buf_free(&send_buf);
	close(afd);
	if (bfd >= 0)
		close(bfd);
	close(lfd);
}

int main(int argc, char **argv)
{
	h_start(argc, argv);
	hoarders = HOARDERS_PER_ENGINE * (int)(h_lcores() < MAX_ENGINES ? h_lcores() : MAX_ENGINES);
	test_lent_buffers_drain_the_pool();
	return h_finish();
}
