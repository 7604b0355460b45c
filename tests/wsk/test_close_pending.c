/* WskCloseSocket and the requests still pending on the socket (WSK-C2, C4, C1, C6, C10):
 * receives (1, 16, 1000 of them), sends stuck on a peer that never reads, graceful
 * disconnects that cannot finish, a connect to an address that never answers, accepts on
 * listeners of both kinds, receive-froms on a datagram socket, and all kinds at once. Every
 * pending IRP must complete exactly once with STATUS_CANCELLED and Information 0, all of them
 * before the close IRP, which completes with STATUS_SUCCESS, and every completion runs on the
 * thread that polls the client's completions. A listener's close resets the connections it
 * queued but never handed out, and leaves the ones it did alone. IoCancelIrp cancels just its
 * one IRP, and a call through the closed handle is refused with STATUS_INVALID_HANDLE.
 *
 * The wire side of close (C3) is in test_close_wire.c, close from callbacks and completion
 * routines (C5) in test_close_callbacks.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

#define PEER_PORT   5711   /* ordinary Linux listener */
#define SLOW_PORT   5712   /* Linux listener with a tiny receive buffer, never read from */
#define STACK_PORT  6711   /* the stack's listeners (one at a time) */
#define DGRAM_PORT  6712
#define SILENT_IP   "198.18.0.3"   /* on the veth's subnet, but nobody answers its ARP */

static int lfd, slow_lfd;
static pthread_t main_thread;

/* ---- helpers ----------------------------------------------------------------------------- */

static bool pair_ex(ULONG category, int listener, uint16_t port, PWSK_SOCKET *s, int *fd)
{
	*fd = -1;
	if (!H_CHECK_STATUS(h_connect_to_peer_ex(category, NULL, NULL, port, s),
			    STATUS_SUCCESS))
		return false;
	*fd = peer_accept(listener, 5000);
	return H_CHECK(*fd >= 0);
}

/* Receive, send and disconnect sit at different places in the connection and the stream
 * tables (R5): go through the right one. */
static bool is_conn(PWSK_SOCKET s)
{
	return h_category(s) == WSK_FLAG_CONNECTION_SOCKET;
}

static NTSTATUS do_receive(PWSK_SOCKET s, PWSK_BUF b, PIRP irp)
{
	return is_conn(s) ? DpwConnectionDispatch(s)->WskReceive(s, b, 0, irp)
			  : DpwStreamDispatch(s)->WskReceive(s, b, 0, irp);
}

static NTSTATUS do_send(PWSK_SOCKET s, PWSK_BUF b, PIRP irp)
{
	return is_conn(s) ? DpwConnectionDispatch(s)->WskSend(s, b, 0, irp)
			  : DpwStreamDispatch(s)->WskSend(s, b, 0, irp);
}

static NTSTATUS do_disconnect(PWSK_SOCKET s, PIRP irp)
{
	return is_conn(s) ? DpwConnectionDispatch(s)->WskDisconnect(s, NULL, 0, irp)
			  : DpwStreamDispatch(s)->WskDisconnect(s, NULL, 0, irp);
}

/* A set of IRPs, each with its own buffer. */
struct batch {
	int n;
	size_t each;
	struct h_irp *irp;
	struct h_buf *buf;
	uint8_t *mem;
	NTSTATUS *issued;   /* what each call returned */
};

static bool batch_new(struct batch *b, int n, size_t each)
{
	b->n = n;
	b->each = each;
	b->irp = calloc((size_t)n, sizeof(*b->irp));
	b->buf = calloc((size_t)n, sizeof(*b->buf));
	b->issued = calloc((size_t)n, sizeof(*b->issued));
	b->mem = calloc((size_t)n, each);
	if (b->irp == NULL || b->buf == NULL || b->issued == NULL || b->mem == NULL)
		return H_CHECK(!"out of memory");
	for (int i = 0; i < n; i++) {
		h_irp_init(&b->irp[i]);
		h_buf_init(&b->buf[i], b->mem + (size_t)i * each, each);
	}
	return true;
}

static void batch_free(struct batch *b)
{
	/* An IRP the provider still holds (a failed test) is left to it, with its buffer. */
	for (int i = 0; i < b->n; i++)
		if (b->irp[i].completions == 0)
			return;
	for (int i = 0; i < b->n; i++) {
		h_irp_free(&b->irp[i]);
		h_buf_free(&b->buf[i]);
	}
	free(b->irp);
	free(b->buf);
	free(b->issued);
	free(b->mem);
}

static int count_issued(const struct batch *b, NTSTATUS st)
{
	int n = 0;

	for (int i = 0; i < b->n; i++)
		n += b->issued[i] == st;
	return n;
}

static int count_completed(const struct batch *b)
{
	int n = 0;

	for (int i = 0; i < b->n; i++)
		n += b->irp[i].completions != 0;
	return n;
}

/* C2: how many of b completed exactly once, STATUS_CANCELLED with 0 bytes, before the close
 * IRP cl, on this thread (C10: through the client's ring). Prints the first misfit. */
static int count_cancelled_before(const struct batch *b, const struct h_irp *cl)
{
	int n = 0;
	bool told = false;

	for (int i = 0; i < b->n; i++) {
		const struct h_irp *x = &b->irp[i];
		bool ok = x->completions == 1 && x->status == STATUS_CANCELLED && x->info == 0 &&
			  x->order < cl->order && pthread_equal((pthread_t)x->thread, main_thread);

		n += ok;
		if (!ok && !told) {
			printf("IRP %d of %d: %d completions, %s, info %lu, order %llu "
			       "(close %llu)\n", i, b->n, (int)x->completions,
			       DpwNtStatusName(x->status),
			       (unsigned long)x->info, (unsigned long long)x->order,
			       (unsigned long long)cl->order);
			told = true;
		}
	}
	return n;
}

/* A call that has completed is behind every call issued before it on the request ring (one
 * thread, FIFO): once it has, the earlier ones are pending on the socket, not merely on
 * their way. */
static void settle(PWSK_SOCKET s)
{
	SOCKADDR_IN sa;

	H_CHECK_STATUS(h_local_address(s, &sa), STATUS_SUCCESS);
}

/* The same through the datagram table (the harness knows only the TCP ones). */
static void settle_datagram(PWSK_SOCKET s)
{
	const WSK_PROVIDER_DATAGRAM_DISPATCH *d = s->Dispatch;
	struct h_irp *h = h_irp_new();
	SOCKADDR_IN sa;

	H_CHECK_STATUS(h_irp_done(h, d->WskGetLocalAddress(s, (PSOCKADDR)&sa, h->irp), NULL),
		       STATUS_SUCCESS);
}

/* C1, C10: close returns STATUS_PENDING or STATUS_SUCCESS; its IRP completes STATUS_SUCCESS,
 * 0 bytes, on this thread. Exactly once is checked later (close_done). */
static void close_checked(PWSK_SOCKET s, struct h_irp *cl)
{
	NTSTATUS st;

	h_irp_init(cl);
	st = DpwBasicDispatch(s)->WskCloseSocket(s, cl->irp);
	H_CHECK(st == STATUS_PENDING || st == STATUS_SUCCESS);
	H_CHECK(h_wait(cl, 5000));
	H_CHECK_STATUS(cl->status, STATUS_SUCCESS);
	H_CHECK(cl->info == 0);
	H_CHECK(pthread_equal((pthread_t)cl->thread, main_thread));
}

static void close_done(struct h_irp *cl)
{
	H_CHECK(cl->completions == 1);
	h_irp_free(cl);
}

/* C6 (ours): a call through a dead handle returns STATUS_INVALID_HANDLE and completes its IRP
 * with it, 0 bytes, once. */
static void expect_invalid_handle(NTSTATUS returned, struct h_irp *x, const char *what)
{
	if (!h_check_status(returned, STATUS_INVALID_HANDLE, what, __FILE__, __LINE__))
		return;
	H_CHECK(h_wait(x, 2000));
	h_pump(5);
	h_check_status(x->status, STATUS_INVALID_HANDLE, what, __FILE__, __LINE__);
	H_CHECK(x->info == 0 && x->completions == 1);
}

/* ---- receives ---------------------------------------------------------------------------- */

static void test_receives(int n, ULONG category)
{
	char title[200];
	struct batch b;
	struct h_irp cl;
	PWSK_SOCKET s;
	ULONG open = h_sockets_open();
	char buf[16];
	int fd;

	snprintf(title, sizeof(title),
		 "close with %d pending WskReceive on a %s socket: each completes CANCELLED, 0 "
		 "bytes, once, all before the close IRP (WSK-C2, C1, C10)",
		 n, category == WSK_FLAG_CONNECTION_SOCKET ? "connection" : "stream");
	h_test(title);
	if (!pair_ex(category, lfd, PEER_PORT, &s, &fd) || !batch_new(&b, n, 16))
		return;
	for (int i = 0; i < n; i++)
		b.issued[i] = do_receive(s, &b.buf[i].wb, b.irp[i].irp);
	H_CHECK(count_issued(&b, STATUS_PENDING) == n);
	settle(s);
	H_CHECK(count_completed(&b) == 0);               /* no data: all still pending */
	close_checked(s, &cl);
	h_pump(20);                                       /* room for a late second completion */
	H_CHECK(count_cancelled_before(&b, &cl) == n);   /* exactly n, no more, no fewer */
	close_done(&cl);
	H_CHECK(h_sockets_open() == open);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);   /* C3 */

	if (category == WSK_FLAG_CONNECTION_SOCKET) {
		const WSK_PROVIDER_CONNECTION_DISPATCH *cd = DpwConnectionDispatch(s);
		struct h_irp x;

		h_test("calls through the connection socket closed with receives pending: "
		       "STATUS_INVALID_HANDLE, the IRP completed with it (WSK-C6)");
		h_irp_init(&x);
		expect_invalid_handle(cd->WskReceive(s, &b.buf[0].wb, 0, x.irp), &x, "WskReceive");
		h_irp_reset(&x);
		expect_invalid_handle(cd->WskSend(s, &b.buf[0].wb, 0, x.irp), &x, "WskSend");
		h_irp_reset(&x);
		expect_invalid_handle(cd->WskControlSocket(s, WskGetOption, SO_WSK_EVENT_CALLBACK,
							   SOL_SOCKET, 0, NULL, 0, NULL, NULL,
							   x.irp),
				      &x, "WskControlSocket");
		h_irp_reset(&x);
		expect_invalid_handle(cd->WskCloseSocket(s, x.irp), &x, "WskCloseSocket");
		h_irp_free(&x);
		/* The cancelled receives did not move on the refused calls. */
		H_CHECK(count_cancelled_before(&b, &cl) == n);
	}
	batch_free(&b);
	close(fd);
}

static void test_cancel_one(void)
{
	enum { N = 5, VICTIM = 2 };
	struct batch b;
	struct h_irp cl;
	PWSK_SOCKET s;
	int fd;

	h_test("IoCancelIrp on one of five pending receives: just that one completes CANCELLED; "
	       "data then goes to the first; the other three stay pending until close cancels "
	       "them (WSK-C2, R2)");
	if (!pair_ex(WSK_FLAG_STREAM_SOCKET, lfd, PEER_PORT, &s, &fd) || !batch_new(&b, N, 16))
		return;
	for (int i = 0; i < N; i++)
		b.issued[i] = do_receive(s, &b.buf[i].wb, b.irp[i].irp);
	H_CHECK(count_issued(&b, STATUS_PENDING) == N);
	settle(s);
	H_CHECK(IoCancelIrp(b.irp[VICTIM].irp));
	H_CHECK(h_wait(&b.irp[VICTIM], 5000));
	H_CHECK_STATUS(b.irp[VICTIM].status, STATUS_CANCELLED);
	H_CHECK(b.irp[VICTIM].info == 0);
	settle(s);
	H_CHECK(count_completed(&b) == 1);               /* the others untouched */
	H_CHECK(peer_write_all(fd, "abc", 3));
	H_CHECK(h_wait(&b.irp[0], 5000));                /* F4: the oldest receive gets it */
	H_CHECK_STATUS(b.irp[0].status, STATUS_SUCCESS);
	H_CHECK(b.irp[0].info == 3 && memcmp(b.mem, "abc", 3) == 0);
	settle(s);
	H_CHECK(count_completed(&b) == 2);
	close_checked(s, &cl);
	h_pump(20);
	{
		/* The three still pending: cancelled by the close, before it. */
		const struct h_irp *left[3] = { &b.irp[1], &b.irp[3], &b.irp[4] };
		int ok = 0;

		for (int i = 0; i < 3; i++)
			ok += left[i]->completions == 1 && left[i]->status == STATUS_CANCELLED &&
			      left[i]->info == 0 && left[i]->order < cl.order &&
			      left[i]->order > b.irp[0].order;
		H_CHECK(ok == 3);
	}
	H_CHECK(b.irp[VICTIM].completions == 1 && b.irp[0].completions == 1);
	close_done(&cl);
	batch_free(&b);
	close(fd);
}

static void *cancel_all_thread(void *arg)
{
	struct batch *b = arg;

	for (int i = 0; i < b->n; i++)
		IoCancelIrp(b->irp[i].irp);
	return NULL;
}

static void test_cancel_racing_close(void)
{
	enum { N = 64 };
	struct batch b;
	struct h_irp cl;
	PWSK_SOCKET s;
	pthread_t t;
	int fd;

	h_test("IoCancelIrp on 64 pending receives from another thread while the socket closes: "
	       "each completes CANCELLED exactly once, before the close IRP, whichever comes "
	       "first (WSK-C2, R2)");
	if (!pair_ex(WSK_FLAG_STREAM_SOCKET, lfd, PEER_PORT, &s, &fd) || !batch_new(&b, N, 16))
		return;
	for (int i = 0; i < N; i++)
		b.issued[i] = do_receive(s, &b.buf[i].wb, b.irp[i].irp);
	H_CHECK(count_issued(&b, STATUS_PENDING) == N);
	settle(s);
	if (!H_CHECK(pthread_create(&t, NULL, cancel_all_thread, &b) == 0))
		return;
	close_checked(s, &cl);
	pthread_join(t, NULL);
	h_pump(20);
	H_CHECK(count_cancelled_before(&b, &cl) == N);
	close_done(&cl);
	batch_free(&b);
	close(fd);
}

/* ---- sends and disconnects stuck on a peer that does not read ---------------------------- */

enum { BIG = 256 * 1024 };   /* more than the stack's send buffer and the peer's window */

static void test_sends(void)
{
	enum { N = 4 };
	struct batch b;
	struct h_irp cl;
	PWSK_SOCKET s;
	size_t got = 0;
	int fd;

	h_test("close with 4 sends pending on a peer that does not read (window closed, the "
	       "first one partly sent): each CANCELLED, 0 bytes, once, before the close IRP; the "
	       "peer is reset (WSK-C2, C3)");
	if (!pair_ex(WSK_FLAG_STREAM_SOCKET, slow_lfd, SLOW_PORT, &s, &fd) ||
	    !batch_new(&b, N, BIG))
		return;
	for (int i = 0; i < N; i++) {
		h_fill_pattern(b.mem + (size_t)i * BIG, BIG, 30, (uint64_t)i * BIG);
		b.issued[i] = do_send(s, &b.buf[i].wb, b.irp[i].irp);
	}
	H_CHECK(count_issued(&b, STATUS_PENDING) == N);
	settle(s);
	H_CHECK(count_completed(&b) == 0);
	close_checked(s, &cl);
	h_pump(20);
	H_CHECK(count_cancelled_before(&b, &cl) == N);
	close_done(&cl);
	H_CHECK(peer_drain(fd, 5000, &got) == -ECONNRESET);
	H_CHECK(got < BIG);
	batch_free(&b);
	close(fd);
}

static void test_disconnect_behind_data(void)
{
	enum { BULK = 64 * 1024 };
	uint8_t *data = malloc(BULK);
	struct h_irp dis, cl;
	struct h_tap tap;
	struct h_tap_counts c = { 0 };
	PWSK_SOCKET s;
	size_t got = 0;
	int fd;

	h_test("close with a graceful WskDisconnect pending (its FIN queued behind data the peer "
	       "does not take): CANCELLED, 0 bytes, once, before the close IRP; no FIN, a RST "
	       "(WSK-C2, C3)");
	if (data == NULL || !pair_ex(WSK_FLAG_STREAM_SOCKET, slow_lfd, SLOW_PORT, &s, &fd)) {
		free(data);
		return;
	}
	H_CHECK(h_tap_open(&tap));
	h_fill_pattern(data, BULK, 31, 0);
	H_CHECK_STATUS(h_send(s, data, BULK, 0), STATUS_SUCCESS);   /* in the send buffer */
	h_irp_init(&dis);
	H_CHECK_STATUS(do_disconnect(s, dis.irp), STATUS_PENDING);
	settle(s);
	H_CHECK(dis.completions == 0);                   /* F5: not before the peer has it all */
	close_checked(s, &cl);
	h_pump(20);
	H_CHECK(dis.completions == 1);
	H_CHECK_STATUS(dis.status, STATUS_CANCELLED);
	H_CHECK(dis.info == 0);
	H_CHECK(dis.order < cl.order);
	close_done(&cl);
	H_CHECK(peer_drain(fd, 5000, &got) == -ECONNRESET);   /* never an EOF */
	H_CHECK(got < BULK);
	h_tap_collect(&tap, &c, 50);
	H_CHECK(c.fin_from_stack == 0);
	H_CHECK(c.rst_from_stack >= 1);
	h_tap_close(&tap);
	h_irp_free(&dis);
	close(fd);
	free(data);
}

static void test_all_kinds(void)
{
	enum { NR = 4, NS = 2 };
	struct batch rx, tx;
	struct h_irp dis, cl;
	PWSK_SOCKET s;
	int fd;

	h_test("close with receives, sends and a graceful disconnect all pending on a connection "
	       "socket: all 7 CANCELLED, 0 bytes, once, before the close IRP (WSK-C2)");
	if (!pair_ex(WSK_FLAG_CONNECTION_SOCKET, slow_lfd, SLOW_PORT, &s, &fd) ||
	    !batch_new(&rx, NR, 64) || !batch_new(&tx, NS, BIG))
		return;
	for (int i = 0; i < NR; i++)
		rx.issued[i] = do_receive(s, &rx.buf[i].wb, rx.irp[i].irp);
	for (int i = 0; i < NS; i++)
		tx.issued[i] = do_send(s, &tx.buf[i].wb, tx.irp[i].irp);
	h_irp_init(&dis);
	H_CHECK_STATUS(do_disconnect(s, dis.irp), STATUS_PENDING);   /* behind the sends */
	H_CHECK(count_issued(&rx, STATUS_PENDING) == NR);
	H_CHECK(count_issued(&tx, STATUS_PENDING) == NS);
	settle(s);
	H_CHECK(count_completed(&rx) + count_completed(&tx) + dis.completions == 0);
	close_checked(s, &cl);
	h_pump(20);
	H_CHECK(count_cancelled_before(&rx, &cl) == NR);
	H_CHECK(count_cancelled_before(&tx, &cl) == NS);
	H_CHECK(dis.completions == 1 && dis.status == STATUS_CANCELLED && dis.info == 0 &&
		dis.order < cl.order);
	close_done(&cl);
	H_CHECK(peer_drain(fd, 5000, NULL) == -ECONNRESET);
	h_irp_free(&dis);
	batch_free(&rx);
	batch_free(&tx);
	close(fd);
}

/* ---- connect ----------------------------------------------------------------------------- */

static void test_connect(void)
{
	SOCKADDR_IN to;
	struct h_irp con, cl;
	PWSK_SOCKET s;
	uint32_t ip, pcbs = h_tcp_pcbs_in_use();

	h_test("close with a WskConnect pending to an address that never answers: CANCELLED, 0, "
	       "once, before the close IRP; the transport keeps nothing of it (WSK-C2, C3)");
	if (!H_CHECK_STATUS(h_socket(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s), STATUS_SUCCESS))
		return;
	H_CHECK_STATUS(h_bind(s, 0, 0), STATUS_SUCCESS);
	inet_pton(AF_INET, SILENT_IP, &ip);
	h_sockaddr(&to, ip, 80);
	h_irp_init(&con);
	H_CHECK_STATUS(DpwConnectionDispatch(s)->WskConnect(s, (PSOCKADDR)&to, 0, con.irp),
		       STATUS_PENDING);
	settle(s);
	h_pump(100);
	H_CHECK(con.completions == 0);                   /* still waiting for ARP or SYN-ACK */
	H_CHECK(h_tcp_pcbs_in_use() == pcbs + 1);
	close_checked(s, &cl);
	h_pump(20);
	H_CHECK(con.completions == 1);
	H_CHECK_STATUS(con.status, STATUS_CANCELLED);
	H_CHECK(con.info == 0);
	H_CHECK(con.order < cl.order);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	close_done(&cl);
	h_irp_free(&con);
}

/* ---- listeners (C4) ---------------------------------------------------------------------- */

static void test_accepts(ULONG category)
{
	enum { N = 8 };
	const WSK_PROVIDER_LISTEN_DISPATCH *ld;
	struct batch b;
	struct h_irp cl;
	PWSK_SOCKET l;
	ULONG open = h_sockets_open();
	int fd;

	h_test(category == WSK_FLAG_LISTEN_SOCKET
		       ? "close of a listen socket with 8 WskAccept pending: each CANCELLED, 0, "
			 "once, before the close IRP; the port then refuses connections (WSK-C4, "
			 "C2)"
		       : "the same for a stream socket listening after WskListen (WSK-C4, C2)");
	if (!H_CHECK_STATUS(h_listener(category, STACK_PORT, NULL, NULL, &l), STATUS_SUCCESS) ||
	    !batch_new(&b, N, 0))
		return;
	/* WskAccept has the same place in the listen and the stream table (R5). */
	ld = l->Dispatch;
	for (int i = 0; i < N; i++)
		b.issued[i] = ld->WskAccept(l, 0, NULL, NULL, NULL, NULL, b.irp[i].irp);
	H_CHECK(count_issued(&b, STATUS_PENDING) == N);
	settle(l);
	H_CHECK(count_completed(&b) == 0);
	close_checked(l, &cl);
	h_pump(20);
	H_CHECK(count_cancelled_before(&b, &cl) == N);
	close_done(&cl);
	H_CHECK(h_sockets_open() == open);
	fd = peer_connect_start(STACK_PORT);
	H_CHECK(fd >= 0 && peer_connect_finish(fd, 5000) == -ECONNREFUSED);
	if (fd >= 0)
		close(fd);
	batch_free(&b);
}

static void test_queued_connections(void)
{
	enum { N = 3 };
	struct h_tap tap;
	struct h_tap_counts c = { 0 };
	struct h_irp cl;
	PWSK_SOCKET l;
	ULONG open = h_sockets_open();
	uint32_t pcbs = h_tcp_pcbs_in_use();
	char buf[16];
	int fd[N], reset = 0;

	h_test("close of a listener with 3 connections queued, never accepted: each is reset "
	       "(the Linux side reads ECONNRESET, one RST each), nothing of them is left "
	       "(WSK-C4, C3, C8)");
	if (!H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, STACK_PORT, NULL, NULL, &l),
			    STATUS_SUCCESS))
		return;
	for (int i = 0; i < N; i++)
		fd[i] = peer_connect(STACK_PORT);
	/* The transport has taken each one (the listener and its queue). */
	H_CHECK(h_wait_sockets_open(open + 1 + N, 5000));
	H_CHECK(h_tcp_pcbs_in_use() == pcbs + N);
	H_CHECK(h_tap_open(&tap));
	close_checked(l, &cl);
	H_CHECK(h_sockets_open() == open);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	for (int i = 0; i < N; i++)
		reset += fd[i] >= 0 && peer_read(fd[i], buf, sizeof(buf), 5000) == -ECONNRESET;
	H_CHECK(reset == N);
	h_tap_collect(&tap, &c, 100);
	H_CHECK(c.rst_from_stack == N);                  /* quiet peers: one each, no more */
	H_CHECK(c.fin_from_stack == 0);
	h_tap_close(&tap);
	h_pump(20);
	close_done(&cl);
	for (int i = 0; i < N; i++)
		if (fd[i] >= 0)
			close(fd[i]);
}

static void test_accepted_survives(void)
{
	PWSK_SOCKET l, a;
	char buf[16];
	size_t got = 0;
	int fd;

	h_test("closing a listener leaves the connections it handed out alone: an accepted "
	       "socket still sends and receives (WSK-C4)");
	if (!H_CHECK_STATUS(h_listener(WSK_FLAG_STREAM_SOCKET, STACK_PORT, NULL, NULL, &l),
			    STATUS_SUCCESS))
		return;
	fd = peer_connect(STACK_PORT);
	if (!H_CHECK_STATUS(h_accept(l, NULL, NULL, NULL, NULL, &a), STATUS_SUCCESS)) {
		h_close(l);
		return;
	}
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "still", 5));
	memset(buf, 0, sizeof(buf));
	H_CHECK_STATUS(h_receive(a, buf, 5, WSK_FLAG_WAITALL, &got), STATUS_SUCCESS);
	H_CHECK(got == 5 && memcmp(buf, "still", 5) == 0);
	H_CHECK_STATUS(h_send(a, "here", 4, 0), STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	H_CHECK(peer_read_all(fd, buf, 4, 5000) == 4 && memcmp(buf, "here", 4) == 0);
	H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);
	close(fd);
}

/* ---- datagram and basic sockets ---------------------------------------------------------- */

static void test_datagram(void)
{
	enum { N = 8 };
	const WSK_PROVIDER_DATAGRAM_DISPATCH *dd;
	SOCKADDR_IN *from;
	struct batch b;
	struct h_irp cl;
	PWSK_SOCKET s;
	ULONG open = h_sockets_open();

	h_test("close of a datagram socket with 8 WskReceiveFrom pending: each CANCELLED, 0, "
	       "once, before the close IRP (WSK-C2, C1)");
	from = calloc(N, sizeof(*from));
	if (from == NULL ||
	    !H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS) ||
	    !batch_new(&b, N, 64)) {
		free(from);
		return;
	}
	H_CHECK_STATUS(h_bind(s, h_ip_stack, DGRAM_PORT), STATUS_SUCCESS);
	dd = s->Dispatch;
	for (int i = 0; i < N; i++)
		b.issued[i] = dd->WskReceiveFrom(s, &b.buf[i].wb, 0, (PSOCKADDR)&from[i], NULL,
						 NULL, NULL, b.irp[i].irp);
	H_CHECK(count_issued(&b, STATUS_PENDING) == N);
	settle_datagram(s);
	H_CHECK(count_completed(&b) == 0);
	close_checked(s, &cl);
	h_pump(20);
	H_CHECK(count_cancelled_before(&b, &cl) == N);
	close_done(&cl);
	H_CHECK(h_sockets_open() == open);
	/* The port is free again. */
	H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(s, h_ip_stack, DGRAM_PORT), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	batch_free(&b);
	free(from);
}

static void test_basic(void)
{
	const WSK_PROVIDER_BASIC_DISPATCH *bd;
	struct h_irp cl, x;
	PWSK_SOCKET s;
	ULONG open = h_sockets_open();

	h_test("close of a basic socket: SUCCESS, 0, once; then its handle is dead (WSK-C1, C6)");
	if (!H_CHECK_STATUS(h_socket(WSK_FLAG_BASIC_SOCKET, NULL, NULL, &s), STATUS_SUCCESS))
		return;
	H_CHECK(h_sockets_open() == open + 1);
	bd = s->Dispatch;
	close_checked(s, &cl);
	h_pump(20);
	close_done(&cl);
	H_CHECK(h_sockets_open() == open);
	h_irp_init(&x);
	expect_invalid_handle(bd->WskControlSocket(s, WskGetOption, SO_WSK_EVENT_CALLBACK,
						   SOL_SOCKET, 0, NULL, 0, NULL, NULL, x.irp),
			      &x, "WskControlSocket on a closed basic socket");
	h_irp_reset(&x);
	expect_invalid_handle(bd->WskCloseSocket(s, x.irp), &x,
			      "WskCloseSocket on a closed basic socket");
	h_irp_free(&x);
}

int main(int argc, char **argv)
{
	DPW_IRP_STATS is;
	uint64_t t0;

	main_thread = pthread_self();
	h_start(argc, argv);
	lfd = peer_listen(PEER_PORT);
	slow_lfd = peer_listen(SLOW_PORT);
	peer_set_rcvbuf(slow_lfd, 4096);
	t0 = h_now_ms();

	test_receives(1, WSK_FLAG_STREAM_SOCKET);
	test_receives(16, WSK_FLAG_CONNECTION_SOCKET);
	test_receives(1000, WSK_FLAG_STREAM_SOCKET);
	test_cancel_one();
	test_cancel_racing_close();
	test_sends();
	test_disconnect_behind_data();
	test_all_kinds();
	test_connect();
	test_accepts(WSK_FLAG_LISTEN_SOCKET);
	test_accepts(WSK_FLAG_STREAM_SOCKET);
	test_queued_connections();
	test_accepted_survives();
	test_datagram();
	test_basic();

	h_test("no IRP completed twice, none misused; no socket left open (WSK-R2, C2, C8)");
	DpwGetIrpStats(&is);
	H_CHECK(is.DoubleCompletions == 0);
	H_CHECK(is.BadRuns == 0);
	H_CHECK(is.BadCompletionStatus == 0);
	H_CHECK(h_wait_sockets_open(0, 5000));
	printf("tests took %llu ms\n", (unsigned long long)(h_now_ms() - t0));

	close(lfd);
	close(slow_lfd);
	return h_finish();
}
