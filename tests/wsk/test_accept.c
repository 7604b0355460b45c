/* Accepting connections (WSK-F6, F7, R5, C4): a stream socket that listens after WskListen
 * and a listen-category socket that listens on bind; WskAccept pending before a Linux client
 * connects and after the connection is queued; the addresses it fills; data both ways over
 * the accepted socket; the accept event, and the precedence of accept IRPs over it. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static pthread_t main_thread;

/* ---- the accept event (runs on the lcore) ----------------------------------------------- */

static struct {
	_Atomic int calls;
	_Atomic int off_lcore;       /* calls made on the test's own thread (must stay 0) */
	_Atomic NTSTATUS answer;     /* what the callback returns */
	PWSK_SOCKET last_socket;
	SOCKADDR_IN last_local, last_remote;
	ULONG last_flags;
	PVOID last_listen_ctx;
	/* Set by the test: a WskAccept the callback issues on this listener, from the lcore,
	 * and what that call returned. The listener is stored last (release): the callback
	 * sees the IRP with it. */
	_Atomic(PWSK_SOCKET) inline_listener;
	PIRP inline_irp;
	NTSTATUS inline_status;
} ev;

static int accepted_ctx_marker;

static NTSTATUS WSKAPI on_accept_event(PVOID SocketContext, ULONG Flags, PSOCKADDR LocalAddress,
				       PSOCKADDR RemoteAddress, PWSK_SOCKET AcceptSocket,
				       PVOID *AcceptSocketContext,
				       const WSK_CLIENT_CONNECTION_DISPATCH **AcceptSocketDispatch)
{
	if (pthread_equal(pthread_self(), main_thread))
		ev.off_lcore++;
	ev.last_listen_ctx = SocketContext;
	ev.last_flags = Flags;
	ev.last_socket = AcceptSocket;
	memset(&ev.last_local, 0, sizeof(ev.last_local));
	memset(&ev.last_remote, 0, sizeof(ev.last_remote));
	if (LocalAddress != NULL)
		memcpy(&ev.last_local, LocalAddress, sizeof(ev.last_local));
	if (RemoteAddress != NULL)
		memcpy(&ev.last_remote, RemoteAddress, sizeof(ev.last_remote));
	PWSK_SOCKET q = atomic_exchange(&ev.inline_listener, NULL);

	if (q != NULL)
		ev.inline_status = DpwListenDispatch(q)->WskAccept(q, 0, NULL, NULL, NULL, NULL,
								   ev.inline_irp);
	if (ev.answer == STATUS_SUCCESS) {
		*AcceptSocketContext = &accepted_ctx_marker;
		*AcceptSocketDispatch = NULL;
	}
	ev.calls++;   /* last: the test thread reads the rest once it sees the count move */
	return ev.answer;
}

static const WSK_CLIENT_LISTEN_DISPATCH listen_events = { on_accept_event, NULL, NULL };

static int listen_ctx_marker;

static bool ev_calls_reach(void *arg)
{
	return ev.calls >= *(int *)arg;
}

/* ---- checks shared by the sections ---------------------------------------------------------- */

static bool addr_is(const SOCKADDR_IN *sa, uint32_t ip, uint16_t port)
{
	return sa->sin_family == AF_INET && sa->sin_addr.s_addr == ip &&
	       ntohs(sa->sin_port) == port;
}

/* Data both ways over an accepted socket and its Linux end (F3, F4 on the new socket). */
static void check_data_both_ways(PWSK_SOCKET a, int fd, const char *tag)
{
	char buf[64];
	size_t got = 0;
	long n;

	H_CHECK_STATUS(h_send(a, tag, strlen(tag), 0), STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	n = peer_read_all(fd, buf, strlen(tag), 5000);
	H_CHECK(n == (long)strlen(tag) && memcmp(buf, tag, strlen(tag)) == 0);
	H_CHECK(peer_write_all(fd, "answer", 6));
	memset(buf, 0, sizeof(buf));
	H_CHECK_STATUS(h_receive(a, buf, 6, WSK_FLAG_WAITALL, &got), STATUS_SUCCESS);
	H_CHECK(got == 6 && memcmp(buf, "answer", 6) == 0);
}

/* WskAccept issued before any client connects: pending, then completed by the connection. */
static void accept_pending_first(ULONG category, uint16_t port)
{
	PWSK_SOCKET l, a;
	struct h_irp acc;
	SOCKADDR_IN local, remote, sa;
	NTSTATUS st;
	int fd;

	H_CHECK_STATUS(h_listener(category, port, NULL, NULL, &l), STATUS_SUCCESS);
	if (l == NULL)
		return;
	h_irp_init(&acc);
	memset(&local, 0xAA, sizeof(local));
	memset(&remote, 0xAA, sizeof(remote));
	st = DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, (PSOCKADDR)&local,
					     (PSOCKADDR)&remote, acc.irp);
	H_CHECK_STATUS(st, STATUS_PENDING);              /* F6: nothing queued yet */
	h_pump(100);
	H_CHECK(acc.completions == 0);                   /* F6: waits for a connection */

	fd = peer_connect(port);
	H_CHECK(fd >= 0);
	H_CHECK(h_wait(&acc, 5000));
	H_CHECK_STATUS(acc.status, STATUS_SUCCESS);      /* F6 */
	H_CHECK(acc.info != 0);                          /* R2: Information = the new socket */
	a = (PWSK_SOCKET)acc.info;
	/* F6: local and remote addresses filled in */
	H_CHECK(addr_is(&local, h_ip_stack, port));
	H_CHECK(fd >= 0 && addr_is(&remote, h_ip_peer, peer_local_port(fd)));
	if (acc.status == STATUS_SUCCESS && a != NULL && fd >= 0) {
		H_CHECK(h_category(a) == WSK_FLAG_CONNECTION_SOCKET);   /* R5 */
		H_CHECK_STATUS(h_remote_address(a, &sa), STATUS_SUCCESS);
		H_CHECK(addr_is(&sa, h_ip_peer, peer_local_port(fd)));
		H_CHECK_STATUS(h_local_address(a, &sa), STATUS_SUCCESS);
		H_CHECK(addr_is(&sa, h_ip_stack, port));
		check_data_both_ways(a, fd, "hello from the accepted socket");
		H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	}
	H_CHECK(acc.completions == 1);                   /* R2: exactly once */
	h_irp_free(&acc);
	if (fd >= 0)
		close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
}

/* A listener closed with one WskAccept pending (C2, C4): the accept completes CANCELLED,
 * 0 bytes, once, before the close. settle: let the accept reach the lcore first; otherwise
 * close as soon as WskAccept has returned STATUS_PENDING, which is just as pending (R3). */
static NTSTATUS close_with_pending_accept(uint16_t port, bool settle)
{
	PWSK_SOCKET l;
	struct h_irp acc, cl;
	NTSTATUS st;

	H_CHECK_STATUS(h_listener(WSK_FLAG_STREAM_SOCKET, port, NULL, NULL, &l), STATUS_SUCCESS);
	if (l == NULL)
		return STATUS_UNSUCCESSFUL;
	h_irp_init(&acc);
	h_irp_init(&cl);
	H_CHECK_STATUS(DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, NULL, NULL, acc.irp),
		       STATUS_PENDING);
	if (settle) {
		h_pump(100);
		H_CHECK(acc.completions == 0);
	}
	st = DpwListenDispatch(l)->WskCloseSocket(l, cl.irp);
	H_CHECK(st == STATUS_PENDING || st == STATUS_SUCCESS);     /* C1 */
	H_CHECK(h_wait(&cl, 5000));
	H_CHECK_STATUS(cl.status, STATUS_SUCCESS);
	H_CHECK(acc.completions == 1);
	if (settle)   /* the other case counts statuses over several rounds */
		H_CHECK_STATUS(acc.status, STATUS_CANCELLED);      /* C2, C4 */
	H_CHECK(acc.info == 0);
	H_CHECK(acc.order < cl.order);                             /* C2: before the close */
	h_pump(20);
	H_CHECK(acc.completions == 1 && cl.completions == 1);      /* R2: once */
	st = acc.status;
	h_irp_free(&cl);
	h_irp_free(&acc);
	return st;
}

int main(int argc, char **argv)
{
	PWSK_SOCKET l, a;
	struct h_irp acc, acc2;
	SOCKADDR_IN local, remote;
	char buf[64];
	size_t got;
	ULONG base;
	NTSTATUS st;
	int fd, fd2, want;
	long n;

	main_thread = pthread_self();
	h_start(argc, argv);
	base = h_sockets_open();

	h_test("stream socket: bind + WskListen; WskAccept pending before the connect "
	       "(WSK-F6, R5)");
	accept_pending_first(WSK_FLAG_STREAM_SOCKET, 6001);

	h_test("listen-category socket listens on bind; WskAccept pending before the connect "
	       "(WSK-F6, R5)");
	accept_pending_first(WSK_FLAG_LISTEN_SOCKET, 6002);

	h_test("WskAccept after the connection is queued: SUCCESS at once, early data kept "
	       "(WSK-F6)");
	H_CHECK_STATUS(h_listener(WSK_FLAG_STREAM_SOCKET, 6003, NULL, NULL, &l), STATUS_SUCCESS);
	fd = peer_connect(6003);
	H_CHECK(fd >= 0);
	H_CHECK(fd >= 0 && peer_write_all(fd, "early", 5));
	/* The provider allocates the socket when the transport accepts: then it is queued. */
	H_CHECK(h_wait_sockets_open(base + 2, 5000));
	h_irp_init(&acc);
	st = DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, (PSOCKADDR)&local,
					     (PSOCKADDR)&remote, acc.irp);
	H_CHECK(st == STATUS_SUCCESS || st == STATUS_PENDING);   /* R3 */
	if (st == STATUS_PENDING)
		printf("note: WskAccept returned STATUS_PENDING with a connection queued "
		       "(completed through the ring)\n");
	H_CHECK(h_wait(&acc, 1000));                     /* F6: at once, no further event */
	H_CHECK_STATUS(acc.status, STATUS_SUCCESS);
	H_CHECK(fd >= 0 && addr_is(&remote, h_ip_peer, peer_local_port(fd)));
	H_CHECK(addr_is(&local, h_ip_stack, 6003));
	a = (PWSK_SOCKET)acc.info;
	if (acc.status == STATUS_SUCCESS && a != NULL) {
		memset(buf, 0, sizeof(buf));
		H_CHECK_STATUS(h_receive(a, buf, 5, WSK_FLAG_WAITALL, &got), STATUS_SUCCESS);
		H_CHECK(got == 5 && memcmp(buf, "early", 5) == 0);   /* F4: queued data kept */
		check_data_both_ways(a, fd, "queued");
		H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	}
	H_CHECK(acc.completions == 1);
	h_irp_free(&acc);
	close(fd);

	h_test("two pending WskAccept IRPs take two connections in order (WSK-F6, R2)");
	h_irp_init(&acc);
	h_irp_init(&acc2);
	H_CHECK_STATUS(DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, NULL, (PSOCKADDR)&remote,
						       acc.irp), STATUS_PENDING);
	H_CHECK_STATUS(DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, NULL, NULL, acc2.irp),
		       STATUS_PENDING);
	fd = peer_connect(6003);
	H_CHECK(h_wait(&acc, 5000));
	H_CHECK(acc2.completions == 0);                  /* one connection, one IRP */
	fd2 = peer_connect(6003);
	H_CHECK(h_wait(&acc2, 5000));
	H_CHECK_STATUS(acc.status, STATUS_SUCCESS);
	H_CHECK_STATUS(acc2.status, STATUS_SUCCESS);
	H_CHECK(acc.order < acc2.order);                 /* first IRP first */
	H_CHECK(fd >= 0 && addr_is(&remote, h_ip_peer, peer_local_port(fd)));
	if (acc2.status == STATUS_SUCCESS && fd2 >= 0) {
		SOCKADDR_IN sa;

		H_CHECK_STATUS(h_remote_address((PWSK_SOCKET)acc2.info, &sa), STATUS_SUCCESS);
		H_CHECK(addr_is(&sa, h_ip_peer, peer_local_port(fd2)));
	}
	if (acc.status == STATUS_SUCCESS)
		H_CHECK_STATUS(h_close((PWSK_SOCKET)acc.info), STATUS_SUCCESS);
	if (acc2.status == STATUS_SUCCESS)
		H_CHECK_STATUS(h_close((PWSK_SOCKET)acc2.info), STATUS_SUCCESS);
	H_CHECK(acc.completions == 1 && acc2.completions == 1);
	h_irp_free(&acc);
	h_irp_free(&acc2);
	close(fd);
	close(fd2);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);

	h_test("a listener bound to the wildcard address: the accepted socket's local address is "
	       "the stack's own (WSK-F6)");
	{
		PWSK_SOCKET w;
		SOCKADDR_IN sa;

		H_CHECK_STATUS(h_socket(WSK_FLAG_LISTEN_SOCKET, NULL, NULL, &w), STATUS_SUCCESS);
		H_CHECK(w != NULL && h_bind(w, 0, 6008) == STATUS_SUCCESS);
		fd = peer_connect(6008);
		H_CHECK(fd >= 0);
		a = NULL;
		if (w != NULL)
			H_CHECK_STATUS(h_accept(w, NULL, NULL, &local, &remote, &a),
				       STATUS_SUCCESS);
		H_CHECK(addr_is(&local, h_ip_stack, 6008));
		H_CHECK(fd >= 0 && addr_is(&remote, h_ip_peer, peer_local_port(fd)));
		if (a != NULL) {
			H_CHECK_STATUS(h_local_address(a, &sa), STATUS_SUCCESS);
			H_CHECK(addr_is(&sa, h_ip_stack, 6008));
			H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
		}
		if (w != NULL)
			H_CHECK_STATUS(h_close(w), STATUS_SUCCESS);
		close(fd);
	}

	h_test("IoCancelIrp on a pending WskAccept: STATUS_CANCELLED once; the listener accepts "
	       "the next connection (WSK-F6, R2)");
	H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, 6007, NULL, NULL, &l), STATUS_SUCCESS);
	h_irp_init(&acc);
	H_CHECK_STATUS(DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, NULL, NULL, acc.irp),
		       STATUS_PENDING);
	h_pump(50);
	H_CHECK(IoCancelIrp(acc.irp));
	H_CHECK(h_wait(&acc, 5000));
	H_CHECK_STATUS(acc.status, STATUS_CANCELLED);
	H_CHECK(acc.info == 0);
	fd = peer_connect(6007);
	H_CHECK(fd >= 0);
	H_CHECK_STATUS(h_accept(l, NULL, NULL, NULL, &remote, &a), STATUS_SUCCESS);
	H_CHECK(fd >= 0 && addr_is(&remote, h_ip_peer, peer_local_port(fd)));
	if (a != NULL)
		H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	h_pump(20);
	H_CHECK(acc.completions == 1);
	h_irp_free(&acc);
	close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);

	h_test("accept event: disabled until SO_WSK_EVENT_CALLBACK (WSK-F7)");
	ev.answer = STATUS_SUCCESS;
	H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, 6004, &listen_ctx_marker, &listen_events,
				  &l),
		       STATUS_SUCCESS);
	fd = peer_connect(6004);
	H_CHECK(fd >= 0);
	H_CHECK(h_wait_sockets_open(base + 2, 5000));    /* queued in the backlog */
	h_pump(100);
	H_CHECK(ev.calls == 0);                          /* F7: events start disabled */
	H_CHECK_STATUS(h_accept(l, NULL, NULL, NULL, NULL, &a), STATUS_SUCCESS);
	if (a != NULL)
		H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	close(fd);

	h_test("accept event takes a connection, on the lcore, with both addresses (WSK-F7)");
	H_CHECK_STATUS(h_set_events(l, WSK_EVENT_ACCEPT), STATUS_SUCCESS);
	fd = peer_connect(6004);
	H_CHECK(fd >= 0);
	want = 1;
	H_CHECK(h_pump_until(ev_calls_reach, &want, 5000));
	H_CHECK(ev.calls == 1);
	H_CHECK(ev.off_lcore == 0);                      /* F7: on the polling core */
	H_CHECK(ev.last_listen_ctx == &listen_ctx_marker);
	H_CHECK(addr_is(&ev.last_local, h_ip_stack, 6004));
	H_CHECK(fd >= 0 && addr_is(&ev.last_remote, h_ip_peer, peer_local_port(fd)));
	a = ev.last_socket;
	H_CHECK(a != NULL);
	if (ev.calls == 1 && a != NULL && fd >= 0) {
		H_CHECK(h_category(a) == WSK_FLAG_CONNECTION_SOCKET);   /* R5 */
		check_data_both_ways(a, fd, "taken by the accept event");
		H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	}
	close(fd);

	h_test("a pending WskAccept IRP takes precedence over the accept event (WSK-F6)");
	h_irp_init(&acc);
	H_CHECK_STATUS(DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, NULL, (PSOCKADDR)&remote,
						       acc.irp), STATUS_PENDING);
	fd = peer_connect(6004);
	H_CHECK(fd >= 0);
	H_CHECK(h_wait(&acc, 5000));
	H_CHECK_STATUS(acc.status, STATUS_SUCCESS);
	H_CHECK(ev.calls == 1);                          /* the event did not see it */
	H_CHECK(fd >= 0 && addr_is(&remote, h_ip_peer, peer_local_port(fd)));
	if (acc.status == STATUS_SUCCESS && fd >= 0) {
		check_data_both_ways((PWSK_SOCKET)acc.info, fd, "IRP first");
		H_CHECK_STATUS(h_close((PWSK_SOCKET)acc.info), STATUS_SUCCESS);
	}
	h_irp_free(&acc);
	close(fd);
	/* ... and with no IRP waiting, the next connection goes to the event. */
	fd = peer_connect(6004);
	want = 2;
	H_CHECK(h_pump_until(ev_calls_reach, &want, 5000));
	if (ev.calls == 2 && ev.last_socket != NULL)
		H_CHECK_STATUS(h_close(ev.last_socket), STATUS_SUCCESS);
	close(fd);

	h_test("accept event refusing a connection: the client is reset (WSK-F7)");
	ev.answer = STATUS_REQUEST_NOT_ACCEPTED;
	fd = peer_connect_start(6004);
	H_CHECK(fd >= 0);
	want = 3;
	H_CHECK(h_pump_until(ev_calls_reach, &want, 5000));
	/* The reset follows the handshake at once: Linux reports it from connect() or from
	 * the first read, depending on which comes first. */
	n = fd >= 0 ? peer_connect_finish(fd, 5000) : -1;
	if (n == 0)
		n = peer_read(fd, buf, sizeof(buf), 5000);
	H_CHECK(n == -ECONNRESET);
	H_CHECK(h_wait_sockets_open(base + 1, 5000));    /* nothing left behind */
	close(fd);

	h_test("WskAccept called on the lcore (from a callback) with a connection queued: "
	       "STATUS_SUCCESS, and the IRP completed with it (WSK-F6, R3)");
	{
		PWSK_SOCKET q;
		int qfd;

		H_CHECK_STATUS(h_listener(WSK_FLAG_STREAM_SOCKET, 6009, NULL, NULL, &q),
			       STATUS_SUCCESS);
		qfd = peer_connect(6009);
		H_CHECK(qfd >= 0);
		H_CHECK(h_wait_sockets_open(base + 3, 5000));   /* l, q and the queued one */
		h_irp_init(&acc);
		ev.inline_status = STATUS_PENDING;
		ev.inline_irp = acc.irp;
		ev.inline_listener = q;       /* the next accept event calls WskAccept on q */
		fd = peer_connect_start(6004);   /* refused by the event, as above */
		want = 4;
		H_CHECK(h_pump_until(ev_calls_reach, &want, 5000));
		if (h_lcores() == 1)
			H_CHECK_STATUS(ev.inline_status, STATUS_SUCCESS);   /* F6 */
		else   /* q may live on the other lcore: the call is posted there, and pends */
			H_CHECK(ev.inline_status == STATUS_SUCCESS ||
				ev.inline_status == STATUS_PENDING);
		H_CHECK(h_wait(&acc, 1000));
		H_CHECK_STATUS(acc.status, STATUS_SUCCESS);
		h_pump(20);
		H_CHECK(acc.completions == 1);
		a = (PWSK_SOCKET)acc.info;
		if (acc.status == STATUS_SUCCESS && a != NULL && qfd >= 0) {
			check_data_both_ways(a, qfd, "accepted on the lcore");
			H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
		}
		h_irp_free(&acc);
		if (qfd >= 0)
			close(qfd);
		if (fd >= 0)
			close(fd);
		H_CHECK_STATUS(h_close(q), STATUS_SUCCESS);
		H_CHECK(h_wait_sockets_open(base + 1, 5000));
	}
	ev.answer = STATUS_SUCCESS;
	H_CHECK_STATUS(h_set_events(l, WSK_EVENT_ACCEPT | WSK_EVENT_DISABLE), STATUS_SUCCESS);

	h_test("closing the listener resets a connection queued but not accepted (WSK-C4)");
	fd = peer_connect(6004);                         /* queued: the event is off again */
	H_CHECK(fd >= 0);
	H_CHECK(h_wait_sockets_open(base + 2, 5000));
	H_CHECK(ev.calls == 4);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
	n = fd >= 0 ? peer_read(fd, buf, sizeof(buf), 5000) : 0;
	H_CHECK(n == -ECONNRESET);                       /* C4 */
	H_CHECK(h_wait_sockets_open(base, 5000));
	close(fd);

	h_test("closing a listener with a WskAccept pending cancels it (WSK-C4, C2)");
	close_with_pending_accept(6005, true);

	h_test("close right after WskAccept returned STATUS_PENDING: still CANCELLED, 20 times "
	       "(WSK-C2, C4)");
	{
		int cancelled = 0, other = 0;
		NTSTATUS seen = STATUS_CANCELLED;

		for (int i = 0; i < 20; i++) {
			st = close_with_pending_accept(6006, false);
			if (st == STATUS_CANCELLED) {
				cancelled++;
			} else {
				other++;
				seen = st;
			}
		}
		if (other > 0)
			printf("%d of 20 pending accepts completed with %s instead\n", other,
			       DpwNtStatusName(seen));
		H_CHECK(cancelled == 20);                        /* C2: every time */
	}

	return h_finish();
}
