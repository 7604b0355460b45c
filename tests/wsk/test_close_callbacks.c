/* WskCloseSocket called from where the client is called (WSK-C5, C2, C10): from the
 * completion routine of one of the socket's own receives (on the client's thread, inside
 * WskWaitCompletions), and from the socket's receive, disconnect and accept event callbacks
 * (on the polling core). In each, the close IRP completes STATUS_SUCCESS once, every other
 * request still pending on the socket is cancelled before it, and no callback of the socket
 * runs once the close IRP has completed.
 *
 * test_events.c has the plain case (close in a receive event, nothing else pending); the
 * rest of close is in test_close_wire.c (C3) and test_close_pending.c (C2, C4, C6). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

#define PEER_PORT  5721   /* ordinary Linux listener */
#define SLOW_PORT  5722   /* Linux listener with a tiny receive buffer, never read from */
#define STACK_PORT 6721

static int lfd, slow_lfd;
static pthread_t main_thread;

enum { BIG = 256 * 1024 };   /* a send that a peer which does not read keeps pending */
static uint8_t big[BIG];

/* The close IRP: on the heap, so that a close that never completes (a failed test) leaves
 * valid memory to the provider. */
static struct h_irp *new_close_irp(void)
{
	return h_irp_new();
}

static void free_close_irp(struct h_irp *h)
{
	if (h->completions > 0) {
		h_irp_free(h);
		free(h);
	}
}

/* ---- event callbacks (on the lcore) ------------------------------------------------------ */

/* What the callbacks did, published to the test thread through atomics. */
static struct {
	_Atomic(PWSK_SOCKET) target;       /* the socket to close from its callback */
	_Atomic(struct h_irp *) close_irp;
	_Atomic NTSTATUS close_returned;
	_Atomic int receive_calls, disconnect_calls, accept_calls;
	_Atomic int close_calls;           /* closes issued by a callback */
	_Atomic int calls_after_close;     /* callbacks seen once the close IRP had completed */
	_Atomic ULONG disconnect_flags;
	_Atomic(PWSK_SOCKET) accepted;     /* the connection the accept event took */
	_Atomic bool refuse;               /* receive event: STATUS_DATA_NOT_ACCEPTED, no close */
	_Atomic bool close_accepted;       /* accept event: close the new connection, not us */
	_Atomic bool close_then_refuse;    /* receive event: close, then STATUS_DATA_NOT_ACCEPTED */
} ev;

static void ev_reset(PWSK_SOCKET target, struct h_irp *cl)
{
	ev.target = target;
	ev.close_irp = cl;
	ev.close_returned = STATUS_UNSUCCESSFUL;
	ev.receive_calls = ev.disconnect_calls = ev.accept_calls = 0;
	ev.close_calls = ev.calls_after_close = 0;
	ev.disconnect_flags = ~0u;
	ev.accepted = NULL;
	ev.refuse = false;
	ev.close_accepted = false;
	ev.close_then_refuse = false;
}

/* Every callback starts here: a callback that runs once the provider has completed its
 * socket's close IRP breaks C5, even if the completion routine has not run yet on the
 * client's thread (the client may free the socket's context there at any moment). */
static void callback_entered(void)
{
	struct h_irp *cl = ev.close_irp;

	if (cl != NULL && DpwGetIrpState(cl->irp) >= DpwIrpCompleting)
		ev.calls_after_close++;
}

static void close_from_callback(void)
{
	PWSK_SOCKET s = ev.target;
	struct h_irp *cl = ev.close_irp;

	if (s == NULL || cl == NULL || ev.close_calls > 0)
		return;
	ev.close_returned = DpwBasicDispatch(s)->WskCloseSocket(s, cl->irp);
	ev.close_calls++;   /* last: publishes close_returned to the test thread */
}

static NTSTATUS WSKAPI on_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				  SIZE_T indicated, SIZE_T *accepted)
{
	(void)ctx;
	(void)flags;
	(void)di;
	(void)indicated;
	(void)accepted;
	callback_entered();
	ev.receive_calls++;
	if (ev.refuse)
		return STATUS_DATA_NOT_ACCEPTED;   /* F7: held until the next WskReceive */
	close_from_callback();
	if (ev.close_then_refuse)
		return STATUS_DATA_NOT_ACCEPTED;   /* refused, on a socket now closed */
	return STATUS_SUCCESS;   /* consumed: the data is the provider's to free */
}

static NTSTATUS WSKAPI on_disconnect(PVOID ctx, ULONG flags)
{
	(void)ctx;
	callback_entered();
	ev.disconnect_flags = flags;
	ev.disconnect_calls++;
	close_from_callback();
	return STATUS_SUCCESS;
}

static NTSTATUS WSKAPI on_accept(PVOID ctx, ULONG flags, PSOCKADDR local, PSOCKADDR remote,
				 PWSK_SOCKET sock, PVOID *sock_ctx,
				 const WSK_CLIENT_CONNECTION_DISPATCH **sock_dispatch)
{
	(void)ctx;
	(void)flags;
	(void)local;
	(void)remote;
	callback_entered();
	ev.accept_calls++;
	if (ev.close_accepted)
		ev.target = sock;   /* close the connection just offered */
	close_from_callback();   /* else the listener itself */
	/* Take the connection all the same: it is the client's from now on. */
	*sock_ctx = NULL;
	*sock_dispatch = NULL;
	ev.accepted = sock;
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH conn_events = { on_receive, on_disconnect, NULL };
static const WSK_CLIENT_LISTEN_DISPATCH listen_events = { on_accept, NULL, NULL };

static bool close_issued(void *arg)
{
	(void)arg;
	return ev.close_calls > 0;
}

static bool pair_events(int listener, uint16_t port, PWSK_SOCKET *s, int *fd)
{
	*fd = -1;
	if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, &conn_events,
						 port, s),
			    STATUS_SUCCESS))
		return false;
	*fd = peer_accept(listener, 5000);
	return H_CHECK(*fd >= 0);
}

/* The close issued by a callback: returned STATUS_PENDING (it cannot finish while the callback
 * runs), then completed STATUS_SUCCESS, 0, once, on the polling thread (C10: through the
 * client's ring, not inline on the lcore). */
static void expect_close_done(struct h_irp *cl)
{
	H_CHECK(h_pump_until(close_issued, NULL, 5000));
	H_CHECK_STATUS(ev.close_returned, STATUS_PENDING);
	H_CHECK(h_wait(cl, 5000));
	H_CHECK_STATUS(cl->status, STATUS_SUCCESS);
	H_CHECK(cl->info == 0);
	H_CHECK(pthread_equal((pthread_t)cl->thread, main_thread));
}

/* A send that stays pending: the peer (SLOW_PORT) never reads. */
static NTSTATUS start_big_send(PWSK_SOCKET s, struct h_irp *tx, struct h_buf *b)
{
	h_irp_init(tx);
	h_buf_init(b, big, BIG);
	return DpwConnectionDispatch(s)->WskSend(s, &b->wb, 0, tx->irp);
}

static void expect_cancelled_before(struct h_irp *x, const struct h_irp *cl)
{
	H_CHECK(x->completions == 1);
	H_CHECK_STATUS(x->status, STATUS_CANCELLED);
	H_CHECK(x->info == 0);
	H_CHECK(x->order < cl->order);
	H_CHECK(pthread_equal((pthread_t)x->thread, main_thread));
}

/* ---- close from a completion routine ----------------------------------------------------- */

struct routine_ctx {
	PWSK_SOCKET s;
	struct h_irp *close_irp;
	NTSTATUS close_returned;
	NTSTATUS status;
	ULONG_PTR info;
	uintptr_t thread;
	bool close_done_inside;            /* the close IRP completed before the routine returned */
	_Atomic int completions;
};

static NTSTATUS close_in_routine(PDEVICE_OBJECT dev, PIRP irp, PVOID arg)
{
	struct routine_ctx *rc = arg;

	(void)dev;
	rc->status = irp->IoStatus.Status;
	rc->info = irp->IoStatus.Information;
	rc->thread = (uintptr_t)pthread_self();
	rc->close_returned = DpwConnectionDispatch(rc->s)->WskCloseSocket(rc->s,
									  rc->close_irp->irp);
	rc->close_done_inside = atomic_load(&rc->close_irp->completions) > 0;
	atomic_fetch_add(&rc->completions, 1);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static bool routine_ran(void *arg)
{
	return atomic_load(&((struct routine_ctx *)arg)->completions) > 0;
}

static void test_close_in_completion_routine(void)
{
	enum { N = 4 };   /* further receives, pending behind the first */
	struct routine_ctx rc;
	struct h_irp rx[N], *cl = new_close_irp();
	struct h_buf b0, b[N];
	char buf0[16], bufs[N][16];
	PIRP first;
	PWSK_SOCKET s;
	int fd, ok = 0;

	h_test("WskCloseSocket from the completion routine of a receive that got data: the "
	       "close runs on the client's thread, completes SUCCESS once, and the 4 receives "
	       "still pending complete CANCELLED before it (WSK-C5, C2, C10)");
	if (!pair_events(lfd, PEER_PORT, &s, &fd))
		return;
	memset(&rc, 0, sizeof(rc));
	rc.s = s;
	rc.close_irp = cl;
	first = IoAllocateIrp(1, FALSE);
	if (!H_CHECK(first != NULL))
		return;
	IoSetCompletionRoutine(first, close_in_routine, &rc, TRUE, TRUE, TRUE);
	h_buf_init(&b0, buf0, sizeof(buf0));
	H_CHECK_STATUS(DpwConnectionDispatch(s)->WskReceive(s, &b0.wb, 0, first), STATUS_PENDING);
	for (int i = 0; i < N; i++) {
		h_irp_init(&rx[i]);
		h_buf_init(&b[i], bufs[i], sizeof(bufs[i]));
		H_CHECK_STATUS(DpwConnectionDispatch(s)->WskReceive(s, &b[i].wb, 0, rx[i].irp),
			       STATUS_PENDING);
	}
	H_CHECK(peer_write_all(fd, "data", 4));
	H_CHECK(h_pump_until(routine_ran, &rc, 5000));
	H_CHECK_STATUS(rc.status, STATUS_SUCCESS);
	H_CHECK(rc.info == 4 && memcmp(buf0, "data", 4) == 0);
	H_CHECK(pthread_equal((pthread_t)rc.thread, main_thread));
	H_CHECK(rc.close_returned == STATUS_PENDING || rc.close_returned == STATUS_SUCCESS);
	/* C10: its completion too goes through the ring, never run inside the caller. */
	H_CHECK(!rc.close_done_inside);
	H_CHECK(h_wait(cl, 5000));
	H_CHECK_STATUS(cl->status, STATUS_SUCCESS);
	H_CHECK(cl->info == 0);
	H_CHECK(pthread_equal((pthread_t)cl->thread, main_thread));
	h_pump(20);
	for (int i = 0; i < N; i++)
		ok += rx[i].completions == 1 && rx[i].status == STATUS_CANCELLED &&
		      rx[i].info == 0 && rx[i].order < cl->order;
	H_CHECK(ok == N);
	H_CHECK(cl->completions == 1 && rc.completions == 1);
	H_CHECK(peer_read(fd, bufs[0], sizeof(bufs[0]), 5000) == -ECONNRESET);
	for (int i = 0; i < N; i++) {
		if (rx[i].completions > 0)
			h_irp_free(&rx[i]);
		h_buf_free(&b[i]);
	}
	if (rc.completions > 0)
		IoFreeIrp(first);
	h_buf_free(&b0);
	free_close_irp(cl);
	close(fd);
}

/* ---- close from event callbacks ---------------------------------------------------------- */

static void test_close_in_receive_event(void)
{
	struct h_irp tx, *cl = new_close_irp();
	struct h_buf tb;
	PWSK_SOCKET s;
	int fd;

	h_test("WskCloseSocket from the receive event while a send is pending: the close returns "
	       "PENDING and completes after the callback, the send CANCELLED before it, no "
	       "disconnect event or other callback afterwards (WSK-C5, C2)");
	if (!pair_events(slow_lfd, SLOW_PORT, &s, &fd))
		return;
	H_CHECK_STATUS(start_big_send(s, &tx, &tb), STATUS_PENDING);
	ev_reset(s, cl);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "bye", 3));
	expect_close_done(cl);
	h_pump(20);
	expect_cancelled_before(&tx, cl);
	H_CHECK(peer_drain(fd, 5000, NULL) == -ECONNRESET);
	(void)!peer_write_all(fd, "more", 4);
	h_pump(100);
	H_CHECK(ev.receive_calls == 1);
	H_CHECK(ev.disconnect_calls == 0);   /* its own close is no disconnect to report */
	H_CHECK(ev.calls_after_close == 0);
	H_CHECK(cl->completions == 1);
	ev_reset(NULL, NULL);
	if (tx.completions > 0)
		h_irp_free(&tx);
	h_buf_free(&tb);
	free_close_irp(cl);
	close(fd);
}

static void test_close_in_disconnect_event(void)
{
	struct h_irp tx, *cl = new_close_irp();
	struct h_buf tb;
	PWSK_SOCKET s;
	int fd;

	h_test("WskCloseSocket from the disconnect event of the peer's FIN, our direction still "
	       "open with a send pending: the send CANCELLED before the close IRP; the peer is "
	       "reset; no callback afterwards (WSK-C5, C2, C3)");
	if (!pair_events(slow_lfd, SLOW_PORT, &s, &fd))
		return;
	H_CHECK_STATUS(start_big_send(s, &tx, &tb), STATUS_PENDING);
	ev_reset(s, cl);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	shutdown(fd, SHUT_WR);
	expect_close_done(cl);
	h_pump(20);
	H_CHECK(ev.disconnect_calls == 1);
	H_CHECK(ev.disconnect_flags == 0);   /* a FIN, not a reset */
	expect_cancelled_before(&tx, cl);
	H_CHECK(peer_drain(fd, 5000, NULL) == -ECONNRESET);
	h_pump(50);
	H_CHECK(ev.receive_calls == 0 && ev.disconnect_calls == 1);
	H_CHECK(ev.calls_after_close == 0);
	H_CHECK(cl->completions == 1);
	ev_reset(NULL, NULL);
	if (tx.completions > 0)
		h_irp_free(&tx);
	h_buf_free(&tb);
	free_close_irp(cl);
	close(fd);
}

static bool all_acked(void *arg)
{
	return peer_unacked(*(int *)arg) == 0;
}

static bool receive_calls_reach(void *arg)
{
	return ev.receive_calls >= *(int *)arg;
}

static void test_close_in_receive_event_after_fin(void)
{
	struct h_irp rx, *cl = new_close_irp();
	WSK_BUF none = { NULL, 0, 0 };
	PWSK_SOCKET s;
	int fd, one = 1;

	h_test("WskCloseSocket from the receive event of data held back while the peer's FIN "
	       "came in: no disconnect event (nor any callback) after the close (WSK-C5, F7)");
	if (!pair_events(lfd, PEER_PORT, &s, &fd))
		return;
	ev_reset(s, cl);
	ev.refuse = true;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "held", 4));
	H_CHECK(h_pump_until(receive_calls_reach, &one, 5000));
	shutdown(fd, SHUT_WR);
	H_CHECK(h_pump_until(all_acked, &fd, 5000));    /* the stack has the FIN */
	H_CHECK(ev.disconnect_calls == 0);              /* F7: not before the held data */
	/* F7: a WskReceive (zero-length: it completes at once, the data stays) resumes
	 * indications; this time the receive event closes the socket. */
	ev.refuse = false;
	h_irp_init(&rx);
	H_CHECK_STATUS(DpwConnectionDispatch(s)->WskReceive(s, &none, 0, rx.irp), STATUS_PENDING);
	expect_close_done(cl);
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_SUCCESS);
	H_CHECK(rx.order < cl->order);
	h_pump(50);
	H_CHECK(ev.receive_calls == 2);
	H_CHECK(ev.disconnect_calls == 0);
	H_CHECK(ev.calls_after_close == 0);
	H_CHECK(peer_read(fd, (char[8]){ 0 }, 8, 5000) == -ECONNRESET);
	ev_reset(NULL, NULL);
	if (rx.completions > 0)
		h_irp_free(&rx);
	free_close_irp(cl);
	close(fd);
}

static bool mbufs_at_most(void *arg)
{
	return h_mbufs_in_use() <= *(uint32_t *)arg;
}

static void test_close_in_receive_event_refusing(void)
{
	struct h_irp *cl = new_close_irp();
	PWSK_SOCKET s;
	uint32_t idle;
	int fd;

	h_test("WskCloseSocket from the receive event, which then refuses the data "
	       "(STATUS_DATA_NOT_ACCEPTED): the close completes, the data is freed with the socket "
	       "(WSK-C5, C8)");
	if (!pair_events(lfd, PEER_PORT, &s, &fd))
		return;
	h_pump(20);
	idle = h_mbufs_in_use();
	ev_reset(s, cl);
	ev.close_then_refuse = true;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "refused", 7));
	expect_close_done(cl);
	H_CHECK(h_pump_until(mbufs_at_most, &idle, 5000));   /* C8: nothing kept */
	H_CHECK(peer_read(fd, (char[8]){ 0 }, 8, 5000) == -ECONNRESET);
	h_pump(20);
	H_CHECK(ev.receive_calls == 1 && ev.calls_after_close == 0 && cl->completions == 1);
	ev_reset(NULL, NULL);
	free_close_irp(cl);
	close(fd);
}

static void test_close_in_accept_event(void)
{
	struct h_irp *cl = new_close_irp();
	PWSK_SOCKET l, a;
	ULONG open = h_sockets_open();
	char buf[16];
	size_t got = 0;
	int fd, fd2;

	h_test("WskCloseSocket of a listener from its own accept event, which takes the "
	       "connection: the close completes after the callback; the accepted connection is "
	       "the client's and works; the port then refuses connections (WSK-C5, C4)");
	if (!H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, STACK_PORT, NULL, &listen_events,
				       &l),
			    STATUS_SUCCESS))
		return;
	ev_reset(l, cl);
	H_CHECK_STATUS(h_set_events(l, WSK_EVENT_ACCEPT), STATUS_SUCCESS);
	fd = peer_connect(STACK_PORT);
	H_CHECK(fd >= 0);
	expect_close_done(cl);
	H_CHECK(ev.accept_calls == 1);
	a = ev.accepted;
	H_CHECK(a != NULL);
	H_CHECK(h_sockets_open() == open + 1);           /* the listener gone, the connection not */
	if (a != NULL && fd >= 0) {
		H_CHECK(peer_write_all(fd, "kept", 4));
		memset(buf, 0, sizeof(buf));
		H_CHECK_STATUS(h_receive(a, buf, 4, WSK_FLAG_WAITALL, &got), STATUS_SUCCESS);
		H_CHECK(got == 4 && memcmp(buf, "kept", 4) == 0);
		H_CHECK_STATUS(h_send(a, "yes", 3, 0), STATUS_SUCCESS);
		H_CHECK(peer_read_all(fd, buf, 3, 5000) == 3 && memcmp(buf, "yes", 3) == 0);
	}
	fd2 = peer_connect_start(STACK_PORT);
	H_CHECK(fd2 >= 0 && peer_connect_finish(fd2, 5000) == -ECONNREFUSED);
	h_pump(20);
	H_CHECK(ev.accept_calls == 1 && ev.calls_after_close == 0);
	H_CHECK(cl->completions == 1);
	ev_reset(NULL, NULL);
	if (a != NULL)
		H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	H_CHECK(h_sockets_open() == open);
	free_close_irp(cl);
	if (fd2 >= 0)
		close(fd2);
	if (fd >= 0)
		close(fd);
}

static void test_close_accepted_in_accept_event(void)
{
	struct h_irp *cl = new_close_irp();
	PWSK_SOCKET l;
	ULONG open = h_sockets_open();
	char buf[16];
	int fd;

	h_test("WskCloseSocket of the connection the accept event is offered, from inside that "
	       "event, which then takes it: the connection is reset, the close completes SUCCESS "
	       "once, nothing of it is left (WSK-C5, C3, C8)");
	if (!H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, STACK_PORT, NULL, &listen_events,
				       &l),
			    STATUS_SUCCESS))
		return;
	ev_reset(NULL, cl);
	ev.close_accepted = true;
	H_CHECK_STATUS(h_set_events(l, WSK_EVENT_ACCEPT), STATUS_SUCCESS);
	fd = peer_connect_start(STACK_PORT);
	H_CHECK(fd >= 0);
	H_CHECK(h_pump_until(close_issued, NULL, 5000));
	if (!H_CHECK(ev.close_returned == STATUS_PENDING || ev.close_returned == STATUS_SUCCESS))
		printf("close returned %s\n", DpwNtStatusName(ev.close_returned));
	H_CHECK(h_wait(cl, 5000));
	H_CHECK_STATUS(cl->status, STATUS_SUCCESS);
	H_CHECK(cl->info == 0);
	/* The RST follows the handshake at once: on a busy machine it reaches the peer's socket
	 * before its connect() has returned, which then reports it. Either way it is the RST. */
	if (fd >= 0) {
		int rc = peer_connect_finish(fd, 5000);

		H_CHECK(rc == -ECONNRESET ||
			(rc == 0 && peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET));
	}
	H_CHECK(h_wait_sockets_open(open + 1, 5000));   /* just the listener */
	h_pump(20);
	H_CHECK(ev.accept_calls == 1 && cl->completions == 1);
	ev_reset(NULL, NULL);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
	H_CHECK(h_sockets_open() == open);
	free_close_irp(cl);
	if (fd >= 0)
		close(fd);
}

static void test_close_in_reset_event(void)
{
	struct h_irp rx, *cl = new_close_irp();
	struct h_tap tap;
	struct h_tap_counts c = { 0 };
	struct h_buf b;
	char buf[16];
	PWSK_SOCKET s;
	int fd;

	h_test("WskCloseSocket from the disconnect event of the peer's RST: the pending receive "
	       "ends CONNECTION_RESET before the close IRP; close puts nothing on the wire "
	       "(WSK-C5, C3)");
	if (!pair_events(lfd, PEER_PORT, &s, &fd))
		return;
	h_irp_init(&rx);
	h_buf_init(&b, buf, sizeof(buf));
	H_CHECK_STATUS(DpwConnectionDispatch(s)->WskReceive(s, &b.wb, 0, rx.irp), STATUS_PENDING);
	ev_reset(s, cl);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	H_CHECK(h_tap_open(&tap));
	peer_abort(fd);
	expect_close_done(cl);
	H_CHECK(ev.disconnect_calls == 1);
	H_CHECK(ev.disconnect_flags == WSK_FLAG_ABORTIVE);
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_CONNECTION_RESET);
	H_CHECK(rx.info == 0 && rx.order < cl->order);
	h_tap_collect(&tap, &c, 100);
	H_CHECK(c.rst_from_peer == 1);
	H_CHECK(c.rst_from_stack == 0 && c.fin_from_stack == 0);
	h_tap_close(&tap);
	h_pump(20);
	H_CHECK(ev.calls_after_close == 0 && rx.completions == 1 && cl->completions == 1);
	ev_reset(NULL, NULL);
	if (rx.completions > 0)
		h_irp_free(&rx);
	h_buf_free(&b);
	free_close_irp(cl);
}

int main(int argc, char **argv)
{
	DPW_IRP_STATS is;

	main_thread = pthread_self();
	h_start(argc, argv);
	lfd = peer_listen(PEER_PORT);
	slow_lfd = peer_listen(SLOW_PORT);
	peer_set_rcvbuf(slow_lfd, 4096);

	test_close_in_completion_routine();
	test_close_in_receive_event();
	test_close_in_disconnect_event();
	test_close_in_receive_event_after_fin();
	test_close_in_receive_event_refusing();
	test_close_in_reset_event();
	test_close_in_accept_event();
	test_close_accepted_in_accept_event();

	h_test("no IRP completed twice, none misused; no socket left open (WSK-R2, C5, C8)");
	DpwGetIrpStats(&is);
	H_CHECK(is.DoubleCompletions == 0);
	H_CHECK(is.BadRuns == 0);
	H_CHECK(h_wait_sockets_open(0, 5000));

	close(lfd);
	close(slow_lfd);
	return h_finish();
}
