/* Event callbacks on connection-oriented sockets (WSK-F7, F4, C9): they start disabled, are
 * enabled with SO_WSK_EVENT_CALLBACK or WSK_SET_STATIC_EVENT_CALLBACKS, run on the polling
 * core; a receive event consumes (STATUS_SUCCESS), retains (STATUS_PENDING, until WskRelease)
 * or refuses (STATUS_DATA_NOT_ACCEPTED, until the next WskReceive); pending receive IRPs come
 * before the event; the disconnect event reports the peer's FIN and RST; the send backlog
 * event reports the ideal send backlog. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define PEER_PORT 5301

static pthread_t main_thread;
static int lfd;

/* ---- the callbacks (run on the lcore) ----------------------------------------------------- */

enum recv_answer { ANSWER_SUCCESS, ANSWER_PENDING, ANSWER_NOT_ACCEPTED, ANSWER_CLOSE };

/* Shared between the callbacks and the test thread: atomics, so that the test thread reads
 * what a callback wrote only after the callback published it (seen[] is published by
 * seen_len). */
static struct {
	_Atomic int answer;                /* enum recv_answer */
	_Atomic int recv_calls, disc_calls, on_test_thread;
	_Atomic(PVOID) ctx;
	_Atomic ULONG disc_flags;
	_Atomic size_t indicated;          /* BytesIndicated of the last call */
	_Atomic size_t seen_len;           /* bytes read through the indications, all calls */
	char seen[256 * 1024];
	_Atomic unsigned max_list;         /* longest indication list seen */
	_Atomic(PWSK_DATA_INDICATION) retained;   /* the last list kept with STATUS_PENDING */
	_Atomic(PWSK_SOCKET) close_socket; /* ANSWER_CLOSE: close it from inside the callback */
	_Atomic(struct h_irp *) close_irp;
	_Atomic NTSTATUS close_returned;
	_Atomic int backlog_calls;
	_Atomic SIZE_T backlog_size;
} ev;

static int sock_ctx_marker;

/* Walk a data indication list through its MDLs, as a client would (R4 layout). */
static size_t copy_indications(PWSK_DATA_INDICATION di, char *out, size_t room)
{
	size_t n = 0;

	for (; di != NULL; di = di->Next) {
		PMDL mdl = di->Buffer.Mdl;
		size_t off = di->Buffer.Offset, left = di->Buffer.Length;

		for (; mdl != NULL && left > 0; mdl = mdl->Next, off = 0) {
			size_t piece = MmGetMdlByteCount(mdl) - off;
			const char *p = (const char *)MmGetSystemAddressForMdlSafe(mdl,
									    NormalPagePriority);

			if (piece > left)
				piece = left;
			if (n + piece > room)
				piece = room - n;
			memcpy(out + n, p + off, piece);
			n += piece;
			left -= piece;
		}
	}
	return n;
}

static NTSTATUS WSKAPI on_receive(PVOID SocketContext, ULONG Flags,
				  PWSK_DATA_INDICATION DataIndication, SIZE_T BytesIndicated,
				  SIZE_T *BytesAccepted)
{
	(void)Flags;
	if (pthread_equal(pthread_self(), main_thread))
		ev.on_test_thread++;
	ev.ctx = SocketContext;
	ev.indicated = BytesIndicated;
	if (DataIndication != NULL) {
		size_t at = ev.seen_len;
		unsigned n = 0;

		for (PWSK_DATA_INDICATION d = DataIndication; d != NULL; d = d->Next)
			n++;
		if (n > ev.max_list)
			ev.max_list = n;
		/* Copy first, then publish the new length. */
		ev.seen_len = at + copy_indications(DataIndication, ev.seen + at,
						    sizeof(ev.seen) - at);
	}
	if (BytesAccepted != NULL)
		*BytesAccepted = 0;
	switch (ev.answer) {
	case ANSWER_PENDING:
		ev.retained = DataIndication;
		ev.recv_calls++;
		return STATUS_PENDING;
	case ANSWER_NOT_ACCEPTED:
		ev.recv_calls++;
		return STATUS_DATA_NOT_ACCEPTED;
	case ANSWER_CLOSE: {
		/* F7: any Wsk call from a callback, WskCloseSocket included (C5). */
		PWSK_SOCKET cs = ev.close_socket;
		struct h_irp *ci = ev.close_irp;

		ev.close_returned = DpwConnectionDispatch(cs)->WskCloseSocket(cs, ci->irp);
		ev.recv_calls++;
		return STATUS_SUCCESS;
	}
	default:
		ev.recv_calls++;
		return STATUS_SUCCESS;
	}
}

static NTSTATUS WSKAPI on_disconnect(PVOID SocketContext, ULONG Flags)
{
	if (pthread_equal(pthread_self(), main_thread))
		ev.on_test_thread++;
	ev.ctx = SocketContext;
	ev.disc_flags = Flags;
	ev.disc_calls++;
	return STATUS_SUCCESS;
}

static NTSTATUS WSKAPI on_send_backlog(PVOID SocketContext, SIZE_T IdealBacklogSize)
{
	if (pthread_equal(pthread_self(), main_thread))
		ev.on_test_thread++;
	ev.ctx = SocketContext;
	ev.backlog_size = IdealBacklogSize;
	ev.backlog_calls++;
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH conn_events = { on_receive, on_disconnect,
							    on_send_backlog };

static void ev_reset(enum recv_answer answer)
{
	ev.answer = answer;
	ev.recv_calls = 0;
	ev.disc_calls = 0;
	ev.seen_len = 0;
	ev.indicated = 0;
	ev.retained = NULL;
	ev.ctx = NULL;
	ev.max_list = 0;
}

static bool recv_calls_reach(void *arg)
{
	return ev.recv_calls >= *(int *)arg;
}

static bool disc_calls_reach(void *arg)
{
	return ev.disc_calls >= *(int *)arg;
}

static bool backlog_calls_reach(void *arg)
{
	return ev.backlog_calls >= *(int *)arg;
}

static bool seen_reach(void *arg)
{
	return ev.seen_len >= *(size_t *)arg;
}

static bool mbufs_at_most(void *arg)
{
	return h_mbufs_in_use() <= *(uint32_t *)arg;
}

/* A connection socket with our event table, connected to the peer. */
static bool pair_with(ULONG category, const VOID *dispatch, PWSK_SOCKET *s, int *fd)
{
	*fd = -1;
	if (!H_CHECK_STATUS(h_connect_to_peer_ex(category, &sock_ctx_marker, dispatch, PEER_PORT,
						 s),
			    STATUS_SUCCESS))
		return false;
	*fd = peer_accept(lfd, 5000);
	return H_CHECK(*fd >= 0);
}

static bool pair(PWSK_SOCKET *s, int *fd)
{
	return pair_with(WSK_FLAG_CONNECTION_SOCKET, &conn_events, s, fd);
}

static void test_disabled_then_consume(void)
{
	PWSK_SOCKET s;
	struct h_irp rx;
	struct h_buf b;
	char buf[64];
	size_t got = 0, want_len;
	int fd, want;

	h_test("events start disabled: data waits for WskReceive, no callback (WSK-F7)");
	ev_reset(ANSWER_SUCCESS);
	if (!pair(&s, &fd))
		return;
	H_CHECK(peer_write_all(fd, "abc", 3));
	h_pump(150);
	H_CHECK(ev.recv_calls == 0);
	memset(buf, 0, sizeof(buf));
	H_CHECK_STATUS(h_receive(s, buf, sizeof(buf), 0, &got), STATUS_SUCCESS);
	H_CHECK(got == 3 && memcmp(buf, "abc", 3) == 0);
	H_CHECK(ev.recv_calls == 0);

	h_test("SO_WSK_EVENT_CALLBACK enables the receive event; it runs on the lcore with the "
	       "socket's context; STATUS_SUCCESS consumes the data (WSK-F7)");
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "hello", 5));
	want_len = 5;
	H_CHECK(h_pump_until(seen_reach, &want_len, 5000));
	H_CHECK(ev.recv_calls >= 1);
	H_CHECK(ev.on_test_thread == 0);                 /* F7: on the polling core */
	H_CHECK(ev.ctx == &sock_ctx_marker);
	H_CHECK(ev.seen_len == 5 && memcmp(ev.seen, "hello", 5) == 0);
	H_CHECK(ev.indicated == 5);
	/* Consumed: a receive now finds nothing and waits. */
	memset(buf, 0, sizeof(buf));
	h_buf_init(&b, buf, sizeof(buf));
	h_irp_init(&rx);
	H_CHECK_STATUS(DpwConnectionDispatch(s)->WskReceive(s, &b.wb, 0, rx.irp), STATUS_PENDING);
	h_pump(100);
	H_CHECK(rx.completions == 0);

	h_test("a pending receive IRP takes precedence over the receive event (WSK-F4)");
	want = ev.recv_calls;
	H_CHECK(peer_write_all(fd, "to the IRP", 10));
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_SUCCESS);
	H_CHECK(rx.info == 10 && memcmp(buf, "to the IRP", 10) == 0);
	h_pump(50);
	H_CHECK(ev.recv_calls == want);                  /* the event did not see it */
	H_CHECK(ev.seen_len == 5);

	h_test("disconnect event on the peer's FIN, flags 0, on the lcore (WSK-F7)");
	shutdown(fd, SHUT_WR);
	want = 1;
	H_CHECK(h_pump_until(disc_calls_reach, &want, 5000));
	H_CHECK(ev.disc_calls == 1);
	H_CHECK(ev.disc_flags == 0);
	H_CHECK(ev.on_test_thread == 0);
	h_pump(50);
	H_CHECK(ev.disc_calls == 1);                      /* once */
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	h_irp_free(&rx);
	h_buf_free(&b);
	close(fd);
}

static void test_retain(void)
{
	static const char msg[] = "retained data";
	PWSK_SOCKET s;
	char copy[64];
	size_t got = 0, n;
	uint32_t idle;
	int fd, want = 1;

	h_test("receive event returning STATUS_PENDING keeps the indication: readable after the "
	       "callback returned, WskRelease frees it (WSK-F7, C9)");
	ev_reset(ANSWER_PENDING);
	if (!pair(&s, &fd))
		return;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	h_pump(50);
	idle = h_mbufs_in_use();
	H_CHECK(peer_write_all(fd, msg, strlen(msg)));
	H_CHECK(h_pump_until(recv_calls_reach, &want, 5000));
	H_CHECK(ev.retained != NULL);
	h_pump(100);
	if (ev.retained != NULL) {
		memset(copy, 0, sizeof(copy));
		n = copy_indications(ev.retained, copy, sizeof(copy));
		H_CHECK(n == strlen(msg) && memcmp(copy, msg, n) == 0);   /* still valid */
		H_CHECK(h_mbufs_in_use() > idle);          /* the client holds the received mbuf */
		H_CHECK_STATUS(DpwConnectionDispatch(s)->WskRelease(s, ev.retained),
			       STATUS_SUCCESS);
		H_CHECK(h_pump_until(mbufs_at_most, &idle, 5000));   /* given back */
	}

	h_test("retained data is the client's: never indicated again, the next data is (WSK-F7)");
	ev.answer = ANSWER_SUCCESS;
	H_CHECK(peer_write_all(fd, "next", 4));
	want = 2;
	H_CHECK(h_pump_until(recv_calls_reach, &want, 5000));
	H_CHECK(ev.seen_len == strlen(msg) + 4 && memcmp(ev.seen + strlen(msg), "next", 4) == 0);

	h_test("WskRelease after close still frees retained data (WSK-C9)");
	ev.answer = ANSWER_PENDING;
	ev.retained = NULL;
	idle = h_mbufs_in_use();
	H_CHECK(peer_write_all(fd, "kept past close", 15));
	want = 3;
	H_CHECK(h_pump_until(recv_calls_reach, &want, 5000));
	H_CHECK(ev.retained != NULL);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	if (ev.retained != NULL) {
		memset(copy, 0, sizeof(copy));
		n = copy_indications(ev.retained, copy, sizeof(copy));
		H_CHECK(n == 15 && memcmp(copy, "kept past close", 15) == 0);   /* C9 */
		H_CHECK_STATUS(DpwConnectionDispatch(s)->WskRelease(s, ev.retained),
			       STATUS_SUCCESS);
		H_CHECK(h_pump_until(mbufs_at_most, &idle, 5000));
	}
	(void)got;
	close(fd);
}

static void test_not_accepted(void)
{
	PWSK_SOCKET s;
	char buf[64];
	size_t got = 0, total = 0, want_len;
	int fd, want = 1;

	h_test("STATUS_DATA_NOT_ACCEPTED: no more indications until the next WskReceive, which "
	       "gets the held data (WSK-F7)");
	ev_reset(ANSWER_NOT_ACCEPTED);
	if (!pair(&s, &fd))
		return;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "held1", 5));
	H_CHECK(h_pump_until(recv_calls_reach, &want, 5000));
	H_CHECK(ev.recv_calls == 1);
	H_CHECK(peer_write_all(fd, "held2", 5));
	h_pump(200);
	H_CHECK(ev.recv_calls == 1);                     /* stopped */
	memset(buf, 0, sizeof(buf));
	while (total < 10 &&
	       h_receive(s, buf + total, sizeof(buf) - total, 0, &got) == STATUS_SUCCESS &&
	       got > 0)
		total += got;
	H_CHECK(total == 10 && memcmp(buf, "held1held2", 10) == 0);
	H_CHECK(ev.recv_calls == 1);

	h_test("after that WskReceive, indications resume (WSK-F7)");
	ev.answer = ANSWER_SUCCESS;
	ev.seen_len = 0;
	H_CHECK(peer_write_all(fd, "after", 5));
	want_len = 5;
	H_CHECK(h_pump_until(seen_reach, &want_len, 5000));
	H_CHECK(ev.recv_calls == 2);
	H_CHECK(memcmp(ev.seen, "after", 5) == 0);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	close(fd);
}

static void test_abortive_disconnect_event(void)
{
	PWSK_SOCKET s;
	int fd, want = 1;

	h_test("disconnect event with WSK_FLAG_ABORTIVE on the peer's RST (WSK-F7)");
	ev_reset(ANSWER_SUCCESS);
	if (!pair(&s, &fd))
		return;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	peer_abort(fd);
	H_CHECK(h_pump_until(disc_calls_reach, &want, 5000));
	H_CHECK(ev.disc_calls == 1);
	H_CHECK(ev.disc_flags == WSK_FLAG_ABORTIVE);
	H_CHECK(ev.on_test_thread == 0);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
}

static void test_static_callbacks(void)
{
	WSK_EVENT_CALLBACK_CONTROL ctl = { (PNPIID)&NPI_WSK_INTERFACE_ID,
					   WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT };
	struct h_client c2;
	PWSK_SOCKET s;
	size_t want_len = 6;
	int fd, want = 1;

	h_test("WSK_SET_STATIC_EVENT_CALLBACKS before the client's first socket: events on from "
	       "the start (WSK-F7, R1: a second client)");
	ev_reset(ANSWER_SUCCESS);
	if (!H_CHECK_STATUS(h_client_open(&c2, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS))
		return;
	H_CHECK_STATUS(c2.npi.Dispatch->WskControlClient(c2.npi.Client,
							 WSK_SET_STATIC_EVENT_CALLBACKS,
							 sizeof(ctl), &ctl, 0, NULL, NULL, NULL),
		       STATUS_SUCCESS);
	h_use_client(&c2.npi);
	if (pair(&s, &fd)) {
		H_CHECK(peer_write_all(fd, "static", 6));
		H_CHECK(h_pump_until(seen_reach, &want_len, 5000));   /* no SO_WSK_EVENT_CALLBACK */
		H_CHECK(ev.seen_len == 6 && memcmp(ev.seen, "static", 6) == 0);

		h_test("WSK_SET_STATIC_EVENT_CALLBACKS once a socket exists: refused (WSK-F7)");
		H_CHECK_STATUS(c2.npi.Dispatch->WskControlClient(c2.npi.Client,
								 WSK_SET_STATIC_EVENT_CALLBACKS,
								 sizeof(ctl), &ctl, 0, NULL, NULL,
								 NULL),
			       STATUS_INVALID_DEVICE_STATE);

		h_test("the same with an IRP: the IRP completes with the refusal, once (R3)");
		{
			struct h_irp x;

			h_irp_init(&x);
			H_CHECK_STATUS(c2.npi.Dispatch->WskControlClient(
					       c2.npi.Client, WSK_SET_STATIC_EVENT_CALLBACKS,
					       sizeof(ctl), &ctl, 0, NULL, NULL, x.irp),
				       STATUS_INVALID_DEVICE_STATE);
			H_CHECK(h_wait(&x, 2000));
			H_CHECK_STATUS(x.status, STATUS_INVALID_DEVICE_STATE);
			H_CHECK(x.completions == 1);
			h_irp_free(&x);
		}

		shutdown(fd, SHUT_WR);
		H_CHECK(h_pump_until(disc_calls_reach, &want, 5000));   /* static too */
		H_CHECK(ev.disc_flags == 0);
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
		close(fd);
	}
	h_use_client(NULL);
	h_client_close(&c2);
}

static bool all_acked(void *arg)
{
	return peer_unacked(*(int *)arg) == 0;
}

static void test_large_indication(void)
{
	enum { BIG = 64 * 1024 };
	static uint8_t pat[BIG];
	struct h_irp rx;
	WSK_BUF none = { NULL, 0, 0 };
	PWSK_SOCKET s;
	size_t want_len = BIG;
	uint32_t idle;
	int fd, want = 1;

	h_test("data held back by STATUS_DATA_NOT_ACCEPTED comes as one indication list after a "
	       "zero-length WskReceive, whole and in order; retained and released as a list "
	       "(WSK-F7, F4, C9)");
	ev_reset(ANSWER_NOT_ACCEPTED);
	if (!pair(&s, &fd))
		return;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	h_fill_pattern(pat, BIG, 12, 0);
	H_CHECK(peer_write_all(fd, pat, BIG));
	H_CHECK(h_pump_until(recv_calls_reach, &want, 5000));
	/* The stack has acknowledged every byte: all of it is held now, in many segments. */
	H_CHECK(h_pump_until(all_acked, &fd, 5000));
	H_CHECK(ev.recv_calls == 1);
	idle = h_mbufs_in_use();
	ev.answer = ANSWER_PENDING;                        /* and keep the whole list */
	ev.seen_len = 0;
	ev.max_list = 0;
	h_irp_init(&rx);
	H_CHECK_STATUS(DpwConnectionDispatch(s)->WskReceive(s, &none, 0, rx.irp), STATUS_PENDING);
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_SUCCESS);
	H_CHECK(rx.info == 0);                             /* F4: zero-length, data left */
	H_CHECK(h_pump_until(seen_reach, &want_len, 5000));
	H_CHECK(ev.seen_len == BIG);
	H_CHECK(h_check_pattern(ev.seen, BIG, 12, 0) == BIG);
	H_CHECK(ev.max_list > 1);                          /* a real list was walked */
	printf("%d receive events, longest indication list %u\n", (int)ev.recv_calls,
	       ev.max_list);
	/* The retained list, read again after the callback: still all there (C9). */
	H_CHECK(ev.retained != NULL);
	if (ev.retained != NULL) {
		static char again[BIG];

		H_CHECK(copy_indications(ev.retained, again, BIG) == BIG &&
			h_check_pattern(again, BIG, 12, 0) == BIG);
		H_CHECK_STATUS(DpwConnectionDispatch(s)->WskRelease(s, ev.retained),
			       STATUS_SUCCESS);
		H_CHECK(h_pump_until(mbufs_at_most, &idle, 5000));   /* every mbuf back */
	}
	h_irp_free(&rx);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	close(fd);
}

static void test_close_in_callback(void)
{
	struct h_irp cl;
	PWSK_SOCKET s;
	char buf[16];
	int fd, want = 1, calls;

	h_test("WskCloseSocket from inside the receive event: the close completes, the peer is "
	       "reset, no callback runs afterwards (WSK-F7, C5)");
	ev_reset(ANSWER_CLOSE);
	if (!pair(&s, &fd))
		return;
	h_irp_init(&cl);
	ev.close_socket = s;
	ev.close_irp = &cl;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "close me", 8));
	H_CHECK(h_pump_until(recv_calls_reach, &want, 5000));
	H_CHECK(ev.close_returned == STATUS_PENDING || ev.close_returned == STATUS_SUCCESS);
	H_CHECK(h_wait(&cl, 5000));
	H_CHECK_STATUS(cl.status, STATUS_SUCCESS);
	calls = ev.recv_calls + ev.disc_calls;
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);   /* C3 */
	(void)!peer_write_all(fd, "more", 4);
	h_pump(200);
	H_CHECK(ev.recv_calls + ev.disc_calls == calls);                 /* C5: quiet */
	H_CHECK(cl.completions == 1);
	h_irp_free(&cl);
	close(fd);
}

static void test_stream_dispatch(void)
{
	static const WSK_CLIENT_STREAM_DISPATCH stream_events = { NULL, &conn_events };
	PWSK_SOCKET s;
	size_t want_len = 6;
	int fd;

	h_test("a stream socket takes a WSK_CLIENT_STREAM_DISPATCH: its receive event is "
	       "Connect->WskReceiveEvent (WSK-F7, R5)");
	ev_reset(ANSWER_SUCCESS);
	/* Listen is NULL: a provider that took this table for a connection table would find
	 * no receive event and deliver nothing (instead of calling a data pointer). */
	if (!pair_with(WSK_FLAG_STREAM_SOCKET, &stream_events, &s, &fd))
		return;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "stream", 6));
	H_CHECK(h_pump_until(seen_reach, &want_len, 3000));
	H_CHECK(ev.seen_len == 6 && memcmp(ev.seen, "stream", 6) == 0);
	H_CHECK(ev.ctx == &sock_ctx_marker);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	close(fd);
}

static void test_enable_with_data_waiting(void)
{
	PWSK_SOCKET s;
	size_t want_len = 5, got = 99;
	char none[1];
	int fd;

	h_test("data that arrived while the receive event was off is indicated as soon as it is "
	       "enabled, without waiting for more (WSK-F7)");
	ev_reset(ANSWER_SUCCESS);
	if (!pair(&s, &fd))
		return;
	H_CHECK(peer_write_all(fd, "early", 5));
	/* A zero-length receive completes once data is there, leaving it in place (F4). */
	H_CHECK_STATUS(h_receive(s, none, 0, 0, &got), STATUS_SUCCESS);
	H_CHECK(got == 0);
	H_CHECK(ev.recv_calls == 0);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	H_CHECK(h_pump_until(seen_reach, &want_len, 3000));
	H_CHECK(ev.seen_len == 5 && memcmp(ev.seen, "early", 5) == 0);
	H_CHECK(ev.on_test_thread == 0);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	close(fd);
}

static NTSTATUS events_without_irp(PWSK_SOCKET s, ULONG mask)
{
	WSK_EVENT_CALLBACK_CONTROL ctl = { (PNPIID)&NPI_WSK_INTERFACE_ID, mask };

	return DpwBasicDispatch(s)->WskControlSocket(s, WskSetOption, SO_WSK_EVENT_CALLBACK,
						     SOL_SOCKET, sizeof(ctl), &ctl, 0, NULL, NULL,
						     NULL);
}

static void test_enable_without_irp(void)
{
	PWSK_SOCKET s;
	size_t want_len = 5, got = 0;
	char buf[16];
	ULONG one = 1;
	int fd, calls;

	h_test("SO_WSK_EVENT_CALLBACK without an IRP, as Windows takes it: the events are on "
	       "when the call returns STATUS_SUCCESS (WSK-F7, W2)");
	ev_reset(ANSWER_SUCCESS);
	if (!pair(&s, &fd))
		return;
	H_CHECK_STATUS(events_without_irp(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "noirp", 5));
	H_CHECK(h_pump_until(seen_reach, &want_len, 5000));
	H_CHECK(ev.seen_len == 5 && memcmp(ev.seen, "noirp", 5) == 0);
	H_CHECK(ev.on_test_thread == 0);

	h_test("... and off again without an IRP: data waits for WskReceive (WSK-F7)");
	H_CHECK_STATUS(events_without_irp(s, WSK_EVENT_RECEIVE | WSK_EVENT_DISABLE),
		       STATUS_SUCCESS);
	calls = ev.recv_calls;
	H_CHECK(peer_write_all(fd, "later", 5));
	memset(buf, 0, sizeof(buf));
	H_CHECK_STATUS(h_receive(s, buf, sizeof(buf), 0, &got), STATUS_SUCCESS);
	H_CHECK(got == 5 && memcmp(buf, "later", 5) == 0);
	H_CHECK(ev.recv_calls == calls);

	h_test("without an IRP, an event the category lacks is STATUS_INVALID_PARAMETER, another "
	       "option STATUS_INVALID_PARAMETER (it needs an IRP), a closed socket "
	       "STATUS_INVALID_HANDLE (WSK-F7, R3, C6)");
	H_CHECK_STATUS(events_without_irp(s, WSK_EVENT_ACCEPT), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(DpwBasicDispatch(s)->WskControlSocket(s, WskSetOption, SO_KEEPALIVE,
							     SOL_SOCKET, sizeof(one), &one, 0,
							     NULL, NULL, NULL),
		       STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	H_CHECK_STATUS(events_without_irp(s, WSK_EVENT_RECEIVE), STATUS_INVALID_HANDLE);
	close(fd);
}

static void test_send_backlog(void)
{
	PWSK_SOCKET s;
	int fd, one = 1;

	h_test("WskSendBacklogEvent: not called while disabled; enabled on a connected socket it "
	       "runs once, on the polling core, with the ideal send backlog (128 KiB, as "
	       "SIO_WSK_QUERY_IDEAL_SEND_BACKLOG says) (WSK-F7)");
	ev_reset(ANSWER_SUCCESS);
	ev.backlog_calls = 0;
	ev.on_test_thread = 0;
	if (!pair(&s, &fd))
		return;
	H_CHECK_STATUS(h_send(s, "x", 1, 0), STATUS_SUCCESS);   /* sends change nothing */
	h_pump(50);
	H_CHECK(ev.backlog_calls == 0);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_SEND_BACKLOG), STATUS_SUCCESS);
	H_CHECK(h_pump_until(backlog_calls_reach, &one, 3000));
	H_CHECK(ev.backlog_size == 128 * 1024);
	H_CHECK(ev.ctx == &sock_ctx_marker);
	H_CHECK(ev.on_test_thread == 0);
	/* Enabling it again, or another event, does not repeat it: the size has not changed. */
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_SEND_BACKLOG | WSK_EVENT_DISCONNECT),
		       STATUS_SUCCESS);
	h_pump(50);
	H_CHECK(ev.backlog_calls == 1);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	H_CHECK(ev.backlog_calls == 1);
	close(fd);
}

int main(int argc, char **argv)
{
	main_thread = pthread_self();
	h_start(argc, argv);
	lfd = peer_listen(PEER_PORT);

	test_disabled_then_consume();
	test_retain();
	test_not_accepted();
	test_abortive_disconnect_event();
	test_static_callbacks();
	test_large_indication();
	test_close_in_callback();
	test_stream_dispatch();
	test_send_backlog();
	test_enable_with_data_waiting();
	test_enable_without_irp();

	close(lfd);
	return h_finish();
}
