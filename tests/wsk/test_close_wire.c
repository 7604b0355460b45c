/* WskCloseSocket as the wire and the transport see it (WSK-C3, C1, C8, C10). A connection
 * not fully disconnected in both directions is reset: with unread received data, with unsent
 * data, with both directions open, half-closed either way, on the active and on the passive
 * side. The Linux peer must then see the reset (ECONNRESET), a packet socket on its link must
 * count exactly one RST from the stack and no FIN, and the transport must keep no pcb (no
 * TIME_WAIT) once the close IRP has completed. After a complete graceful exchange, close puts
 * nothing on the wire and the peer reads a clean end of stream. Every close IRP completes
 * STATUS_SUCCESS, Information 0, exactly once, on the thread that polls the client's
 * completions, even when the close was called on another thread.
 *
 * The requests pending at close (C2, C4, C6) are in test_close_pending.c, close from callbacks
 * and completion routines (C5) in test_close_callbacks.c. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

#define PEER_PORT  5701   /* ordinary Linux listener */
#define SLOW_PORT  5702   /* Linux listener with a tiny receive buffer, never read from */
#define STACK_PORT 6701   /* the stack's listener, for the passive side */

static int lfd, slow_lfd;
static pthread_t main_thread;

/* ---- helpers ----------------------------------------------------------------------------- */

static bool pair(int listener, uint16_t port, PWSK_SOCKET *s, int *fd)
{
	*fd = -1;
	if (!H_CHECK_STATUS(h_connect_to_peer(port, s), STATUS_SUCCESS))
		return false;
	*fd = peer_accept(listener, 5000);
	return H_CHECK(*fd >= 0);
}

static bool all_acked(void *arg)
{
	return peer_unacked(*(int *)arg) == 0;
}

static bool mbufs_at_most(void *arg)
{
	return h_mbufs_in_use() <= *(uint32_t *)arg;
}


/* C1: WskCloseSocket returns STATUS_PENDING or STATUS_SUCCESS, and the IRP completes with
 * STATUS_SUCCESS and Information 0, on this (the polling) thread (C10). Exactly once is
 * checked by the caller after the rest of the test, when a late second completion would
 * have shown. */
static void close_checked(PWSK_SOCKET s, struct h_irp *cl)
{
	NTSTATUS st;

	h_irp_init(cl);
	st = DpwStreamDispatch(s)->WskCloseSocket(s, cl->irp);
	H_CHECK(st == STATUS_PENDING || st == STATUS_SUCCESS);
	H_CHECK(h_wait(cl, 5000));
	H_CHECK_STATUS(cl->status, STATUS_SUCCESS);
	H_CHECK(cl->info == 0);
	H_CHECK(pthread_equal((pthread_t)cl->thread, main_thread));
}

/* What the wire shows from just before a close: a packet socket on the peer's link, and the
 * transport's count of dropped segments. */
struct watch {
	struct h_tap tap;
	struct h_tap_counts c;
	uint64_t drops;
};

static void watch_start(struct watch *w)
{
	memset(&w->c, 0, sizeof(w->c));
	H_CHECK(h_tap_open(&w->tap));
	w->drops = h_tcp_segments_dropped();
}

/* After the peer has seen the reset (so the RST has passed the tap already): read on for a
 * while, so that a second RST would be counted too, then check that the close sent exactly
 * one RST and no FIN (C3). A segment the peer sent before our RST reached it may arrive after
 * the connection is gone; the transport drops it and answers it with a RST of its own (TCP's
 * rule for a segment of an unknown connection), so every RST beyond the first must match such
 * a drop. A quiet peer (nothing of its own in flight) sends no such segment: there it is
 * exactly one RST. */
static void expect_one_rst(struct watch *w, bool quiet)
{
	uint64_t strays;

	h_tap_collect(&w->tap, &w->c, 150);
	/* Until the drop count stands still over a collection: then the tap has seen the answer
	 * to every stray segment counted. */
	for (int i = 0; i < 20; i++) {
		strays = h_tcp_segments_dropped() - w->drops;
		h_tap_collect(&w->tap, &w->c, 30);
		if (h_tcp_segments_dropped() - w->drops == strays)
			break;
	}
	H_CHECK(w->c.fin_from_stack == 0);
	H_CHECK(w->c.rst_from_stack == 1 + strays);
	if (quiet)
		H_CHECK(strays == 0);
	if (w->c.rst_from_stack != 1 || w->c.fin_from_stack != 0)
		printf("wire: %u RST, %u FIN from the stack; %u stray peer segments\n",
		       w->c.rst_from_stack, w->c.fin_from_stack, (unsigned)strays);
	h_tap_close(&w->tap);
}

static void expect_once(struct h_irp *cl)
{
	h_pump(20);
	H_CHECK(cl->completions == 1);
	h_irp_free(cl);
}

/* ---- resets ------------------------------------------------------------------------------ */

static void test_unread_data(void)
{
	static const char msg[] = "never read by the client";
	uint32_t pcbs, idle;
	ULONG open;
	struct h_irp cl;
	struct watch w;
	PWSK_SOCKET s;
	char buf[64];
	int fd;

	h_test("close with unread received data: RST (the peer reads ECONNRESET, the wire shows "
	       "one RST, no FIN), no TIME_WAIT pcb, the data dropped; close IRP SUCCESS, 0, once "
	       "(WSK-C3, C1, C8)");
	pcbs = h_tcp_pcbs_in_use();
	idle = h_mbufs_in_use();
	open = h_sockets_open();
	if (!pair(lfd, PEER_PORT, &s, &fd))
		return;
	H_CHECK(peer_write_all(fd, msg, strlen(msg)));
	H_CHECK(h_pump_until(all_acked, &fd, 5000));   /* the stack holds it, unread */
	H_CHECK(h_mbufs_in_use() > idle);
	watch_start(&w);
	close_checked(s, &cl);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);           /* C3: freed at once, no TIME_WAIT */
	H_CHECK(h_sockets_open() == open);              /* C8 */
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);
	expect_one_rst(&w, true);
	H_CHECK(h_pump_until(mbufs_at_most, &idle, 5000));   /* C8: unread data freed */
	expect_once(&cl);
	close(fd);
}

static void test_unsent_data(void)
{
	enum { BULK = 64 * 1024 };   /* fits the stack's send buffer, not the peer's window */
	uint8_t *data = malloc(BULK);
	uint32_t pcbs;
	struct h_irp cl;
	struct watch w;
	PWSK_SOCKET s;
	size_t got = 0;
	int fd;

	h_test("close with unsent data (the peer's window is full, the rest queued in the stack): "
	       "RST, not the data and not a FIN; the peer reads what it had, then ECONNRESET "
	       "(WSK-C3, C1)");
	pcbs = h_tcp_pcbs_in_use();
	if (data == NULL || !pair(slow_lfd, SLOW_PORT, &s, &fd)) {
		free(data);
		return;
	}
	h_fill_pattern(data, BULK, 21, 0);
	/* F3: the send completes once its bytes are in the transport's buffer, not on the wire. */
	H_CHECK_STATUS(h_send(s, data, BULK, 0), STATUS_SUCCESS);
	watch_start(&w);
	close_checked(s, &cl);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	H_CHECK(peer_drain(fd, 5000, &got) == -ECONNRESET);
	H_CHECK(got < BULK);                             /* some of it never left the stack */
	expect_one_rst(&w, false);
	expect_once(&cl);
	close(fd);
	free(data);
}

struct close_call {
	PWSK_SOCKET s;
	PIRP irp;
	NTSTATUS returned;
};

static void *close_thread(void *arg)
{
	struct close_call *cc = arg;

	cc->returned = DpwStreamDispatch(cc->s)->WskCloseSocket(cc->s, cc->irp);
	return NULL;
}

static void test_both_open_other_thread(void)
{
	struct close_call cc;
	struct h_irp cl;
	struct watch w;
	PWSK_SOCKET s;
	pthread_t t;
	uint32_t pcbs;
	char buf[16];
	int fd;

	h_test("close with both directions open and nothing pending, called on another thread: "
	       "RST; the close IRP completes on the thread that polls the client's completions "
	       "(WSK-C3, C10, C1)");
	pcbs = h_tcp_pcbs_in_use();
	if (!pair(lfd, PEER_PORT, &s, &fd))
		return;
	/* A working connection first, so that the reset is not of a half-made one; data from
	 * the peer, whose acknowledgement the test can wait for: then nothing is in flight. */
	H_CHECK(peer_write_all(fd, "ping", 4));
	H_CHECK_STATUS(h_receive(s, buf, 4, WSK_FLAG_WAITALL, NULL), STATUS_SUCCESS);
	H_CHECK(h_pump_until(all_acked, &fd, 5000));
	watch_start(&w);
	h_irp_init(&cl);
	cc.s = s;
	cc.irp = cl.irp;
	cc.returned = STATUS_UNSUCCESSFUL;
	if (!H_CHECK(pthread_create(&t, NULL, close_thread, &cc) == 0))
		return;
	pthread_join(t, NULL);   /* C10: close never blocks (nor completes) on its caller */
	H_CHECK(cc.returned == STATUS_PENDING || cc.returned == STATUS_SUCCESS);
	H_CHECK(h_wait(&cl, 5000));
	H_CHECK_STATUS(cl.status, STATUS_SUCCESS);
	H_CHECK(cl.info == 0);
	H_CHECK(pthread_equal((pthread_t)cl.thread, main_thread));   /* C10: via the ring */
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);
	expect_one_rst(&w, true);
	expect_once(&cl);
	close(fd);
}

static void test_passive_side(void)
{
	PWSK_SOCKET l, s;
	SOCKADDR_IN local, remote;
	struct h_irp cl;
	struct watch w;
	uint32_t pcbs;
	char buf[16];
	int fd;

	h_test("close of an accepted connection with both directions open: RST, no TIME_WAIT; "
	       "the listener's own close then sends nothing (WSK-C3, C4, C1)");
	pcbs = h_tcp_pcbs_in_use();
	if (!H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, STACK_PORT, NULL, NULL, &l),
			    STATUS_SUCCESS))
		return;
	fd = peer_connect(STACK_PORT);
	H_CHECK(fd >= 0);
	if (!H_CHECK_STATUS(h_accept(l, NULL, NULL, &local, &remote, &s), STATUS_SUCCESS)) {
		h_close(l);
		return;
	}
	H_CHECK(peer_write_all(fd, "hi", 2));
	H_CHECK_STATUS(h_receive(s, buf, 2, WSK_FLAG_WAITALL, NULL), STATUS_SUCCESS);
	H_CHECK(h_pump_until(all_acked, &fd, 5000));
	watch_start(&w);
	close_checked(s, &cl);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);
	expect_one_rst(&w, true);
	expect_once(&cl);
	watch_start(&w);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
	h_tap_collect(&w.tap, &w.c, 100);
	H_CHECK(w.c.rst_from_stack == 0 && w.c.fin_from_stack == 0);
	h_tap_close(&w.tap);
	close(fd);
}

static void test_our_direction_closed(void)
{
	struct h_irp cl;
	struct watch w;
	PWSK_SOCKET s;
	uint32_t pcbs;
	char buf[16];
	int fd, err;

	h_test("close after our graceful WskDisconnect (FIN acknowledged) while the peer's "
	       "direction is still open: RST, not silence (WSK-C3)");
	pcbs = h_tcp_pcbs_in_use();
	if (!pair(lfd, PEER_PORT, &s, &fd))
		return;
	H_CHECK_STATUS(h_disconnect(s, NULL, 0, 0), STATUS_SUCCESS);   /* F5: FIN acked */
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == 0);            /* the peer saw it */
	watch_start(&w);
	close_checked(s, &cl);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);           /* no FIN_WAIT_2, no TIME_WAIT left */
	/* The peer already read the end of our stream, so a read says 0; the reset shows as
	 * the socket's error instead. Linux reports a RST taken in CLOSE_WAIT as EPIPE. */
	err = peer_wait_error(fd, 5000);
	H_CHECK(err == EPIPE || err == ECONNRESET);
	expect_one_rst(&w, true);
	expect_once(&cl);
	close(fd);
}

static void test_peer_direction_closed(void)
{
	struct h_irp cl;
	struct watch w;
	PWSK_SOCKET s;
	uint32_t pcbs;
	size_t got = 99;
	char buf[16];
	int fd;

	h_test("close after the peer's FIN while our direction is still open: RST, the peer "
	       "reads ECONNRESET (WSK-C3)");
	pcbs = h_tcp_pcbs_in_use();
	if (!pair(lfd, PEER_PORT, &s, &fd))
		return;
	shutdown(fd, SHUT_WR);
	H_CHECK_STATUS(h_receive(s, buf, sizeof(buf), 0, &got), STATUS_SUCCESS);
	H_CHECK(got == 0);                              /* F4: the peer's FIN */
	H_CHECK(h_pump_until(all_acked, &fd, 5000));    /* and its ACK is back: a quiet peer */
	watch_start(&w);
	close_checked(s, &cl);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);
	expect_one_rst(&w, true);
	expect_once(&cl);
	close(fd);
}

/* ---- silent closes ----------------------------------------------------------------------- */

static void test_never_connected(void)
{
	struct h_tap_counts c = { 0 };
	struct h_irp cl;
	struct h_tap tap;
	PWSK_SOCKET s;
	uint32_t pcbs = h_tcp_pcbs_in_use();

	h_test("close of a bound socket that never connected: nothing on the wire, its pcb freed, "
	       "its port free again (WSK-C3, C1, C8)");
	if (!H_CHECK_STATUS(h_socket(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s), STATUS_SUCCESS))
		return;
	H_CHECK_STATUS(h_bind(s, h_ip_stack, STACK_PORT + 1), STATUS_SUCCESS);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs + 1);
	H_CHECK(h_tap_open(&tap));
	close_checked(s, &cl);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	h_tap_collect(&tap, &c, 100);
	H_CHECK(c.rst_from_stack == 0 && c.fin_from_stack == 0 && c.syn_from_stack == 0);
	h_tap_close(&tap);
	expect_once(&cl);
	H_CHECK_STATUS(h_socket(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(s, h_ip_stack, STACK_PORT + 1), STATUS_SUCCESS);   /* F2 */
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
}

/* Close a fully disconnected socket: nothing on the wire, the peer keeps a clean EOF. */
static void expect_silent_close(PWSK_SOCKET s, int fd)
{
	struct h_tap_counts c = { 0 };
	struct h_irp cl;
	struct h_tap tap;
	char buf[16];
	uint64_t t0;

	H_CHECK(h_tap_open(&tap));
	t0 = h_now_ms();
	close_checked(s, &cl);
	H_CHECK(h_now_ms() - t0 < 1000);                 /* C3: TIME_WAIT does not delay it */
	h_tap_collect(&tap, &c, 200);
	H_CHECK(c.rst_from_stack == 0);
	H_CHECK(c.fin_from_stack == 0);
	H_CHECK(c.syn_from_stack == 0);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 100) == 0);   /* EOF, not ECONNRESET */
	H_CHECK(peer_wait_error(fd, 100) == 0);
	h_tap_close(&tap);
	expect_once(&cl);
}

static void test_graceful_peer_first(void)
{
	PWSK_SOCKET s;
	uint32_t pcbs;
	size_t got = 99;
	char buf[16];
	int fd;

	h_test("fully disconnected, the peer's FIN first, then our WskDisconnect: close sends "
	       "nothing, the peer reads EOF; the transport keeps nothing (WSK-C3, C1)");
	pcbs = h_tcp_pcbs_in_use();
	if (!pair(lfd, PEER_PORT, &s, &fd))
		return;
	shutdown(fd, SHUT_WR);
	H_CHECK_STATUS(h_receive(s, buf, sizeof(buf), 0, &got), STATUS_SUCCESS);
	H_CHECK(got == 0);
	H_CHECK_STATUS(h_disconnect(s, NULL, 0, 0), STATUS_SUCCESS);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == 0);
	expect_silent_close(s, fd);
	/* We closed second (LAST_ACK): no TIME_WAIT on our side. */
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	close(fd);
}

static void test_graceful_we_first(void)
{
	PWSK_SOCKET s;
	uint32_t pcbs;
	size_t got = 99;
	char buf[16];
	int fd;

	h_test("fully disconnected, our WskDisconnect first, then the peer's FIN: close sends "
	       "nothing, the peer reads EOF; TIME_WAIT stays the transport's (WSK-C3, C1)");
	pcbs = h_tcp_pcbs_in_use();
	if (!pair(lfd, PEER_PORT, &s, &fd))
		return;
	H_CHECK_STATUS(h_disconnect(s, NULL, 0, 0), STATUS_SUCCESS);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == 0);
	shutdown(fd, SHUT_WR);
	H_CHECK_STATUS(h_receive(s, buf, sizeof(buf), 0, &got), STATUS_SUCCESS);
	H_CHECK(got == 0);
	expect_silent_close(s, fd);
	H_CHECK(h_tcp_pcbs_in_use() <= pcbs + 1);        /* at most its TIME_WAIT pcb */
	close(fd);
}

int main(int argc, char **argv)
{
	DPW_IRP_STATS is;

	main_thread = pthread_self();
	h_start(argc, argv);
	lfd = peer_listen(PEER_PORT);
	slow_lfd = peer_listen(SLOW_PORT);
	peer_set_rcvbuf(slow_lfd, 4096);

	/* The resets first: they must leave no pcb behind, which is exact only while no
	 * TIME_WAIT pcb of a graceful exchange can expire meanwhile. */
	test_unread_data();
	test_unsent_data();
	test_both_open_other_thread();
	test_passive_side();
	test_our_direction_closed();
	test_peer_direction_closed();
	test_never_connected();
	test_graceful_peer_first();
	test_graceful_we_first();

	h_test("no IRP completed twice, no socket left open (WSK-R2, C1, C8)");
	DpwGetIrpStats(&is);
	H_CHECK(is.DoubleCompletions == 0);
	H_CHECK(is.BadRuns == 0);
	H_CHECK(h_wait_sockets_open(0, 5000));

	close(lfd);
	close(slow_lfd);
	return h_finish();
}
