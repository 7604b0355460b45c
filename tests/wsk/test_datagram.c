/* Datagram sockets (WSK-F8, with F7, C2, C9, R3): WskSendTo and WskSendMessages judged by a
 * Linux UDP socket in the peer namespace (what it received, from which address), WskReceiveFrom
 * of what Linux sent (data, Information, RemoteAddress, MSG_TRUNC), the queue of datagrams
 * that arrive with no receive pending and its bound, the receive-from event with indications
 * kept until WskRelease, SIO_WSK_SET_REMOTE_ADDRESS and SIO_WSK_SET_SENDTO_ADDRESS, and
 * close. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- the Linux side -------------------------------------------------------------------------- */

static int peer_udp(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = htons(port) };
	int fd = peer_socket(SOCK_DGRAM);

	a.sin_addr.s_addr = h_ip_peer;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "peer UDP bind to port %u failed\n", port);
		exit(1);
	}
	return fd;
}

static bool peer_send(int fd, const void *data, size_t len, uint16_t stack_port)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = htons(stack_port) };

	a.sin_addr.s_addr = h_ip_stack;
	return sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)len;
}

/* One datagram: its length, -ETIMEDOUT, or -errno; *from its source. */
static long peer_recv(int fd, void *buf, size_t len, struct sockaddr_in *from, unsigned ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t fl = sizeof(*from);
	ssize_t n;

	if (poll(&p, 1, (int)ms) != 1)
		return -ETIMEDOUT;
	n = recvfrom(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)from, &fl);
	return n < 0 ? -errno : n;
}

/* ---- the stack side -------------------------------------------------------------------------- */

static NTSTATUS dg_bind(PWSK_SOCKET s, uint32_t ip, uint16_t port)
{
	return h_bind(s, ip, port);   /* WskBind is third in the datagram table too (R5) */
}


static NTSTATUS dg_ioctl(PWSK_SOCKET s, ULONG code, void *in, size_t in_len, void *out,
			 size_t out_len)
{
	struct h_irp *h = h_irp_new();

	return h_irp_done(h, DpwDatagramDispatch(s)->WskControlSocket(s, WskIoctl, code, 0, in_len,
								      in, out_len, out, NULL,
								      h->irp), NULL);
}

static NTSTATUS set_remote(PWSK_SOCKET s, const SOCKADDR_IN *to)
{
	return dg_ioctl(s, SIO_WSK_SET_REMOTE_ADDRESS, (void *)to, to ? sizeof(*to) : 0, NULL, 0);
}

static SIZE_T backlog(PWSK_SOCKET s)
{
	SIZE_T v = (SIZE_T)-1;

	if (dg_ioctl(s, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL, 0, &v, sizeof(v)) != STATUS_SUCCESS)
		return (SIZE_T)-1;
	return v;
}

/* A WskReceiveFrom in flight. */
struct rx {
	struct h_irp h;
	struct h_buf b;
	unsigned char data[65536];
	SOCKADDR_IN from;
	ULONG ctl_len, ctl_flags;
	NTSTATUS issued;
};

static struct rx *rx_start(PWSK_SOCKET s, size_t len)
{
	struct rx *r = calloc(1, sizeof(*r));

	if (r == NULL)
		exit(1);
	h_irp_init(&r->h);
	h_buf_init(&r->b, r->data, len);
	r->ctl_len = 77;
	r->ctl_flags = 0xdead;
	r->issued = DpwDatagramDispatch(s)->WskReceiveFrom(s, &r->b.wb, 0, (PSOCKADDR)&r->from,
							   &r->ctl_len, NULL, &r->ctl_flags,
							   r->h.irp);
	return r;
}

static void rx_free(struct rx *r)
{
	/* An IRP that never completed is still the provider's, with its buffer: leave both. */
	if (r->h.completions == 0)
		return;
	h_irp_free(&r->h);
	h_buf_free(&r->b);
	free(r);
}

static bool from_is(const SOCKADDR_IN *a, uint32_t ip, uint16_t port)
{
	return a->sin_family == AF_INET && a->sin_addr.s_addr == ip && a->sin_port == htons(port);
}

static DPW_DATAGRAM_STATS dstats(void)
{
	DPW_DATAGRAM_STATS s;

	DpwGetDatagramStats(&s);
	return s;
}

static ULONGLONG received_target;

/* Run completions until the stack has received n more datagrams than `base` (5 s at most). */
static bool wait_received(ULONGLONG base, ULONGLONG n)
{
	received_target = base + n;
	return h_pump_until(h_datagrams_received, &received_target, 5000);
}

static bool retained_zero(void *arg)
{
	(void)arg;
	return dstats().Retained == 0;
}

/* ---- the receive-from event (runs on the lcore) ---------------------------------------------- */

#define EV_MAX 8
/* Shared with the callback on the lcore. The scalars are atomics; the arrays are written by
 * the callback before it bumps calls and read by the test after it saw calls move, so the
 * atomic counter orders them (what ThreadSanitizer checks). */
static struct {
	_Atomic int calls;
	_Atomic int off_lcore;
	_Atomic NTSTATUS reply;                /* what the callback returns */
	_Atomic(PWSK_DATAGRAM_INDICATION) retained;   /* the last list, when reply was PENDING */
	_Atomic int count;                     /* datagrams in the last list */
	unsigned char data[EV_MAX][256];
	size_t len[EV_MAX];
	ULONG mdls[EV_MAX];
	SOCKADDR_IN from[EV_MAX];
	_Atomic ULONG flags;
	_Atomic(PVOID) ctx;
	_Atomic(PWSK_SOCKET) close_sock;       /* closed from inside the callback when set */
	_Atomic(struct h_irp *) close_irp;
	_Atomic NTSTATUS close_ret;
} ev;
static pthread_t main_thread;
static int ev_ctx_marker;

static NTSTATUS WSKAPI on_receive_from(PVOID SocketContext, ULONG Flags,
				       PWSK_DATAGRAM_INDICATION DataIndication)
{
	int n = 0;

	if (pthread_equal(pthread_self(), main_thread))
		ev.off_lcore++;
	ev.ctx = SocketContext;
	ev.flags = Flags;
	for (PWSK_DATAGRAM_INDICATION d = DataIndication; d != NULL; d = d->Next, n++) {
		if (n < EV_MAX) {
			ULONG m = 0;

			for (PMDL l = d->Buffer.Mdl; l != NULL; l = l->Next)
				m++;
			ev.mdls[n] = m;
			ev.len[n] = d->Buffer.Length;
			/* Read the bytes where the indication says they are (no copy was made). */
			if (d->Buffer.Mdl != NULL)
				memcpy(ev.data[n],
				       (char *)MmGetSystemAddressForMdlSafe(d->Buffer.Mdl, 0) +
					       d->Buffer.Offset,
				       d->Buffer.Length < 256 ? d->Buffer.Length : 256);
			memcpy(&ev.from[n], d->RemoteAddress, sizeof(SOCKADDR_IN));
		}
	}
	ev.count = n;
	ev.retained = ev.reply == STATUS_PENDING ? DataIndication : NULL;
	if (ev.close_sock != NULL) {
		PWSK_SOCKET s = ev.close_sock;
		struct h_irp *ci = ev.close_irp;

		ev.close_sock = NULL;
		ev.close_ret = DpwDatagramDispatch(s)->WskCloseSocket(s, ci->irp);
	}
	ev.calls++;
	return ev.reply;
}

static const WSK_CLIENT_DATAGRAM_DISPATCH dg_events = { on_receive_from };

static int ev_want;
static bool ev_calls_reach(void *arg)
{
	(void)arg;
	return ev.calls >= ev_want;
}

/* ---------------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	PWSK_SOCKET s, s2;
	SOCKADDR_IN to, sa;
	struct sockaddr_in from;
	unsigned char buf[65536];
	ULONG_PTR info = 0;
	struct rx *r;
	DPW_DATAGRAM_STATS st0;
	int pfd, pfd2;
	long n;

	main_thread = pthread_self();
	h_start(argc, argv);
	pfd = peer_udp(7001);
	pfd2 = peer_udp(7002);

	h_test("WskSendTo: the Linux socket receives the bytes from the bound address (WSK-F8)");
	H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS);
	H_CHECK_STATUS(dg_bind(s, h_ip_stack, 6001), STATUS_SUCCESS);
	H_CHECK_STATUS(h_local_address(s, &sa), STATUS_SUCCESS);
	H_CHECK(from_is(&sa, h_ip_stack, 6001));
	h_sockaddr(&to, h_ip_peer, 7001);
	H_CHECK_STATUS(h_send_to(s, "hello, peer", 11, &to, &info), STATUS_SUCCESS);
	H_CHECK(info == 11);
	n = peer_recv(pfd, buf, sizeof(buf), &from, 5000);
	H_CHECK(n == 11 && memcmp(buf, "hello, peer", 11) == 0);
	H_CHECK(from.sin_addr.s_addr == h_ip_stack && from.sin_port == htons(6001));

	h_test("a zero-length datagram goes out as one (WSK-F8)");
	H_CHECK_STATUS(h_send_to(s, NULL, 0, &to, &info), STATUS_SUCCESS);
	H_CHECK(info == 0);
	n = peer_recv(pfd, buf, sizeof(buf), &from, 5000);
	H_CHECK(n == 0);

	h_test("WskReceiveFrom pending before Linux sends: data, Information, RemoteAddress (F8)");
	r = rx_start(s, 100);
	H_CHECK_STATUS(r->issued, STATUS_PENDING);
	H_CHECK(r->ctl_len == 0);   /* no control data is produced */
	h_pump(30);
	H_CHECK(r->h.completions == 0);
	H_CHECK(peer_send(pfd, "from linux", 10, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK_STATUS(r->h.status, STATUS_SUCCESS);
	H_CHECK(r->h.info == 10 && memcmp(r->data, "from linux", 10) == 0);
	H_CHECK(from_is(&r->from, h_ip_peer, 7001));
	H_CHECK(r->ctl_flags == 0);
	H_CHECK(r->h.completions == 1);
	rx_free(r);

	h_test("datagrams arriving with no receive pending are queued, then received in order (F8)");
	st0 = dstats();
	H_CHECK(peer_send(pfd, "one", 3, 6001));
	H_CHECK(peer_send(pfd2, "two!", 4, 6001));
	H_CHECK(peer_send(pfd, "three", 5, 6001));
	H_CHECK(wait_received(st0.Received, 3));
	H_CHECK(backlog(s) == 12);   /* SIO_WSK_QUERY_RECEIVE_BACKLOG: the bytes queued (F9) */
	r = rx_start(s, 100);
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 3 && memcmp(r->data, "one", 3) == 0 && from_is(&r->from, h_ip_peer, 7001));
	rx_free(r);
	r = rx_start(s, 100);
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 4 && memcmp(r->data, "two!", 4) == 0 && from_is(&r->from, h_ip_peer, 7002));
	rx_free(r);
	r = rx_start(s, 100);
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 5 && memcmp(r->data, "three", 5) == 0);
	rx_free(r);
	H_CHECK(backlog(s) == 0);

	h_test("a datagram longer than the buffer: truncated, MSG_TRUNC, the rest lost (F8)");
	for (int i = 0; i < 100; i++)
		buf[i] = (unsigned char)i;
	r = rx_start(s, 10);
	H_CHECK(peer_send(pfd, buf, 100, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK_STATUS(r->h.status, STATUS_SUCCESS);
	H_CHECK(r->h.info == 10 && memcmp(r->data, buf, 10) == 0);
	H_CHECK(r->ctl_flags == DPW_MSG_TRUNC);
	rx_free(r);
	r = rx_start(s, 100);
	H_CHECK(peer_send(pfd, "next", 4, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 4 && memcmp(r->data, "next", 4) == 0 && r->ctl_flags == 0);
	rx_free(r);

	h_test("a zero-length receive buffer takes one datagram, truncated (F8)");
	r = rx_start(s, 0);
	H_CHECK(peer_send(pfd, "xyz", 3, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.status == STATUS_SUCCESS && r->h.info == 0 && r->ctl_flags == DPW_MSG_TRUNC);
	rx_free(r);

	h_test("a zero-length datagram from Linux: a receive of 0 bytes (F8)");
	r = rx_start(s, 100);
	H_CHECK(peer_send(pfd, "", 0, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.status == STATUS_SUCCESS && r->h.info == 0 && r->ctl_flags == 0);
	H_CHECK(from_is(&r->from, h_ip_peer, 7001));
	rx_free(r);

	h_test("a 60000-byte WskSendTo leaves IP-fragmented; Linux reassembles it (F8)");
	for (int i = 0; i < 60000; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	H_CHECK_STATUS(h_send_to(s, buf, 60000, &to, &info), STATUS_SUCCESS);
	H_CHECK(info == 60000);
	{
		static unsigned char got[65536];

		n = peer_recv(pfd, got, sizeof(got), &from, 5000);
		H_CHECK(n == 60000 && memcmp(got, buf, 60000) == 0);
	}

	/* The other way only up to one frame: net_af_packet joins its socket to a fanout group
	 * with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles fragments before the PMD,
	 * which cuts what exceeds its 2048-byte ring frame. A topology limit, not the API's. */
	h_test("the largest single-frame datagram from Linux, 1472 bytes (F8)");
	r = rx_start(s, 65536);
	H_CHECK(peer_send(pfd, buf, 1472, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 1472 && memcmp(r->data, buf, 1472) == 0 && r->ctl_flags == 0);
	rx_free(r);

	h_test("a datagram larger than UDP over IPv4 allows: STATUS_INVALID_BUFFER_SIZE (F8)");
	{
		static unsigned char big[65508];

		H_CHECK_STATUS(h_send_to(s, big, sizeof(big), &to, NULL),
			       STATUS_INVALID_BUFFER_SIZE);
	}

	h_test("WskSendTo with no address and none fixed: STATUS_INVALID_PARAMETER (F8)");
	H_CHECK_STATUS(h_send_to(s, "x", 1, NULL, NULL), STATUS_INVALID_PARAMETER);

	h_test("WskSendMessages: each buffer is one datagram, Information the total (F8)");
	{
		static unsigned char m3[1000];
		struct h_buf b1, b2, b3;
		WSK_BUF_LIST l3 = { NULL, { 0 } }, l2 = { &l3, { 0 } }, l1 = { &l2, { 0 } };
		struct h_irp *h = h_irp_new();
		ULONG_PTR total = 0;

		memset(m3, 'c', sizeof(m3));
		h_buf_init(&b1, "a", 1);
		h_buf_init(&b2, "bbbbbbbbbb", 10);
		h_buf_init(&b3, m3, sizeof(m3));
		l1.Buffer = b1.wb;
		l2.Buffer = b2.wb;
		l3.Buffer = b3.wb;
		H_CHECK_STATUS(h_irp_done(h, DpwDatagramDispatch(s)->WskSendMessages(s, &l1, 0,
										     (PSOCKADDR)&to,
										     0, NULL,
										     h->irp),
					  &total), STATUS_SUCCESS);
		H_CHECK(total == 1011);
		n = peer_recv(pfd, buf, sizeof(buf), &from, 5000);
		H_CHECK(n == 1 && buf[0] == 'a');
		n = peer_recv(pfd, buf, sizeof(buf), &from, 5000);
		H_CHECK(n == 10 && memcmp(buf, "bbbbbbbbbb", 10) == 0);
		n = peer_recv(pfd, buf, sizeof(buf), &from, 5000);
		H_CHECK(n == 1000 && memcmp(buf, m3, 1000) == 0);
		H_CHECK(from.sin_port == htons(6001));
		h_buf_free(&b1);
		h_buf_free(&b2);
		h_buf_free(&b3);
	}

	h_test("SIO_WSK_SET_REMOTE_ADDRESS: sends with no address go there; other senders are "
	       "discarded (F8)");
	h_sockaddr(&sa, h_ip_peer, 7002);
	H_CHECK_STATUS(set_remote(s, &sa), STATUS_SUCCESS);
	H_CHECK_STATUS(h_send_to(s, "fixed", 5, NULL, &info), STATUS_SUCCESS);
	H_CHECK(info == 5);
	n = peer_recv(pfd2, buf, sizeof(buf), &from, 5000);
	H_CHECK(n == 5 && memcmp(buf, "fixed", 5) == 0 && from.sin_port == htons(6001));
	/* An address given still overrides the fixed one. */
	H_CHECK_STATUS(h_send_to(s, "override", 8, &to, NULL), STATUS_SUCCESS);
	n = peer_recv(pfd, buf, sizeof(buf), &from, 5000);
	H_CHECK(n == 8 && memcmp(buf, "override", 8) == 0);
	/* 7001 is not the fixed remote: its datagram is dropped; 7002's, sent after it, arrives. */
	r = rx_start(s, 100);
	H_CHECK(peer_send(pfd, "intruder", 8, 6001));
	H_CHECK(peer_send(pfd2, "friend", 6, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 6 && memcmp(r->data, "friend", 6) == 0 &&
		from_is(&r->from, h_ip_peer, 7002));
	rx_free(r);
	H_CHECK(backlog(s) == 0);
	/* Cleared (no address): no default destination, and every sender is accepted again. */
	H_CHECK_STATUS(set_remote(s, NULL), STATUS_SUCCESS);
	H_CHECK_STATUS(h_send_to(s, "x", 1, NULL, NULL), STATUS_INVALID_PARAMETER);
	r = rx_start(s, 100);
	H_CHECK(peer_send(pfd, "welcome", 7, 6001));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 7 && from_is(&r->from, h_ip_peer, 7001));
	rx_free(r);

	h_test("SIO_WSK_SET_SENDTO_ADDRESS: sends with no address go there; unlike the remote "
	       "address it filters nothing: every sender is still received (F8)");
	h_sockaddr(&sa, h_ip_peer, 7002);
	H_CHECK_STATUS(dg_ioctl(s, SIO_WSK_SET_SENDTO_ADDRESS, &sa, sizeof(sa), NULL, 0),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(h_send_to(s, "sendto", 6, NULL, &info), STATUS_SUCCESS);
	H_CHECK(info == 6);
	n = peer_recv(pfd2, buf, sizeof(buf), &from, 5000);
	H_CHECK(n == 6 && memcmp(buf, "sendto", 6) == 0 && from.sin_port == htons(6001));
	r = rx_start(s, 100);
	H_CHECK(peer_send(pfd, "other", 5, 6001));   /* from 7001, not the sendto address */
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 5 && from_is(&r->from, h_ip_peer, 7001));
	rx_free(r);
	sa.sin_port = 0;   /* not a destination */
	H_CHECK_STATUS(dg_ioctl(s, SIO_WSK_SET_SENDTO_ADDRESS, &sa, sizeof(sa), NULL, 0),
		       STATUS_INVALID_ADDRESS);
	H_CHECK_STATUS(dg_ioctl(s, SIO_WSK_SET_SENDTO_ADDRESS, NULL, 0, NULL, 0), STATUS_SUCCESS);
	H_CHECK_STATUS(h_send_to(s, "x", 1, NULL, NULL), STATUS_INVALID_PARAMETER);

	h_test("an unbound socket: WskReceiveFrom and SIO_WSK_SET_REMOTE_ADDRESS refused, "
	       "WskGetLocalAddress STATUS_INVALID_DEVICE_STATE (F1, F8)");
	H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s2), STATUS_SUCCESS);
	H_CHECK_STATUS(h_local_address(s2, &sa), STATUS_INVALID_DEVICE_STATE);
	r = rx_start(s2, 10);
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK_STATUS(r->h.status, STATUS_INVALID_DEVICE_STATE);
	rx_free(r);
	h_sockaddr(&sa, h_ip_peer, 7001);
	H_CHECK_STATUS(set_remote(s2, &sa), STATUS_INVALID_DEVICE_STATE);

	h_test("WskSendTo on an unbound socket binds it to an ephemeral port first (F8)");
	H_CHECK_STATUS(h_send_to(s2, "auto", 4, &to, NULL), STATUS_SUCCESS);
	n = peer_recv(pfd, buf, sizeof(buf), &from, 5000);
	H_CHECK(n == 4 && memcmp(buf, "auto", 4) == 0 && from.sin_port != 0);
	H_CHECK_STATUS(h_local_address(s2, &sa), STATUS_SUCCESS);
	H_CHECK(sa.sin_port == from.sin_port && sa.sin_port != htons(6001));
	/* and it receives the reply there */
	r = rx_start(s2, 100);
	H_CHECK(peer_send(pfd, "reply", 5, ntohs(from.sin_port)));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 5 && memcmp(r->data, "reply", 5) == 0);
	rx_free(r);

	h_test("IoCancelIrp on a pending WskReceiveFrom: STATUS_CANCELLED, once (R2)");
	r = rx_start(s2, 100);
	H_CHECK_STATUS(r->issued, STATUS_PENDING);
	IoCancelIrp(r->h.irp);
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK_STATUS(r->h.status, STATUS_CANCELLED);
	h_pump(20);
	H_CHECK(r->h.completions == 1);
	rx_free(r);

	h_test("close: a pending WskReceiveFrom completes STATUS_CANCELLED before the close (C2); "
	       "queued datagrams are dropped");
	st0 = dstats();
	H_CHECK(peer_send(pfd, "left", 4, ntohs(from.sin_port)));
	H_CHECK(wait_received(st0.Received, 1));
	H_CHECK(backlog(s2) == 4);
	H_CHECK_STATUS(h_close(s2), STATUS_SUCCESS);
	r = rx_start(s, 100);
	{
		struct h_irp c;

		h_irp_init(&c);
		H_CHECK_STATUS(r->issued, STATUS_PENDING);
		/* A completed call behind it on the request ring: the receive is pending on the
		 * socket now, not merely queued to the lcore. */
		H_CHECK(backlog(s) == 0);
		DpwDatagramDispatch(s)->WskCloseSocket(s, c.irp);
		H_CHECK(h_wait(&c, 5000));
		H_CHECK_STATUS(c.status, STATUS_SUCCESS);
		H_CHECK(r->h.completions == 1);
		H_CHECK_STATUS(r->h.status, STATUS_CANCELLED);
		H_CHECK(r->h.info == 0);
		H_CHECK(r->h.order < c.order);
		h_irp_free(&c);
	}
	rx_free(r);
	/* The port is free again: a new socket binds it. */
	H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, &ev_ctx_marker, &dg_events, &s),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(dg_bind(s, h_ip_stack, 6001), STATUS_SUCCESS);

	h_test("the receive-from event starts disabled: datagrams are queued (F7)");
	st0 = dstats();
	H_CHECK(peer_send(pfd, "early", 5, 6001));
	H_CHECK(wait_received(st0.Received, 1));
	H_CHECK(ev.calls == 0 && backlog(s) == 5);

	h_test("enabling it indicates what is queued; STATUS_PENDING keeps the data until "
	       "WskRelease (F7, F8, C9)");
	ev.reply = STATUS_PENDING;
	ev_want = 1;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE_FROM), STATUS_SUCCESS);
	H_CHECK(h_pump_until(ev_calls_reach, NULL, 5000));
	H_CHECK(ev.count == 1 && ev.len[0] == 5 && memcmp(ev.data[0], "early", 5) == 0);
	H_CHECK(from_is(&ev.from[0], h_ip_peer, 7001));
	H_CHECK(ev.ctx == &ev_ctx_marker && ev.off_lcore == 0);
	H_CHECK(backlog(s) == 0);
	H_CHECK(dstats().Retained == 1);
	{
		PWSK_DATAGRAM_INDICATION kept = ev.retained;

		/* Still the client's: the bytes are where the indication says. */
		H_CHECK(kept != NULL && kept->Buffer.Length == 5 &&
			memcmp((char *)MmGetSystemAddressForMdlSafe(kept->Buffer.Mdl, 0) +
				       kept->Buffer.Offset,
			       "early", 5) == 0);
		H_CHECK_STATUS(DpwDatagramDispatch(s)->WskRelease(s, kept), STATUS_SUCCESS);
		H_CHECK(h_pump_until(retained_zero, NULL, 5000));
	}

	h_test("the event is called for each new datagram; STATUS_SUCCESS frees it (F7)");
	ev.reply = STATUS_SUCCESS;
	ev_want = ev.calls + 1;
	H_CHECK(peer_send(pfd2, "event!", 6, 6001));
	H_CHECK(h_pump_until(ev_calls_reach, NULL, 5000));
	H_CHECK(ev.count == 1 && ev.len[0] == 6 && memcmp(ev.data[0], "event!", 6) == 0);
	H_CHECK(from_is(&ev.from[0], h_ip_peer, 7002) && ev.flags == 0);
	H_CHECK(dstats().Retained == 0 && backlog(s) == 0);

	h_test("a full-frame datagram is indicated in place (F7)");
	ev_want = ev.calls + 1;
	H_CHECK(peer_send(pfd, buf, 1472, 6001));
	H_CHECK(h_pump_until(ev_calls_reach, NULL, 5000));
	H_CHECK(ev.count == 1 && ev.len[0] == 1472 && ev.mdls[0] >= 1);
	H_CHECK(memcmp(ev.data[0], buf, 256) == 0);

	h_test("a pending WskReceiveFrom takes precedence over the event (F7, F8)");
	{
		int calls = ev.calls;

		r = rx_start(s, 100);
		H_CHECK_STATUS(r->issued, STATUS_PENDING);
		/* A call completed behind it: the receive is pending on the socket, not merely on
		 * its way to the lcore, before the datagram can arrive. */
		H_CHECK(backlog(s) == 0);
		H_CHECK(peer_send(pfd, "for the irp", 11, 6001));
		H_CHECK(h_wait(&r->h, 5000));
		H_CHECK(r->h.info == 11 && memcmp(r->data, "for the irp", 11) == 0);
		H_CHECK(ev.calls == calls);
		rx_free(r);
	}

	h_test("STATUS_DATA_NOT_ACCEPTED: the datagram stays for WskReceiveFrom and the event is "
	       "off until enabled again (F7)");
	ev.reply = STATUS_DATA_NOT_ACCEPTED;
	ev_want = ev.calls + 1;
	H_CHECK(peer_send(pfd, "refused", 7, 6001));
	H_CHECK(h_pump_until(ev_calls_reach, NULL, 5000));
	H_CHECK(backlog(s) == 7);
	st0 = dstats();
	H_CHECK(peer_send(pfd, "later", 5, 6001));
	H_CHECK(wait_received(st0.Received, 1));
	H_CHECK(ev.calls == ev_want && backlog(s) == 12);   /* queued, not indicated */
	r = rx_start(s, 100);
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.info == 7 && memcmp(r->data, "refused", 7) == 0);
	rx_free(r);
	/* Enabled again: the rest is indicated, as one list. */
	ev.reply = STATUS_PENDING;
	ev_want = ev.calls + 1;
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE_FROM), STATUS_SUCCESS);
	H_CHECK(h_pump_until(ev_calls_reach, NULL, 5000));
	H_CHECK(ev.count == 1 && ev.len[0] == 5 && memcmp(ev.data[0], "later", 5) == 0);

	h_test("several queued datagrams are indicated as one list, in order (F7)");
	{
		PWSK_DATAGRAM_INDICATION first = ev.retained;

		H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE_FROM | WSK_EVENT_DISABLE),
			       STATUS_SUCCESS);
		st0 = dstats();
		H_CHECK(peer_send(pfd, "d1", 2, 6001));
		H_CHECK(peer_send(pfd2, "d22", 3, 6001));
		H_CHECK(peer_send(pfd, "d333", 4, 6001));
		H_CHECK(wait_received(st0.Received, 3));
		ev_want = ev.calls + 1;
		H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE_FROM), STATUS_SUCCESS);
		H_CHECK(h_pump_until(ev_calls_reach, NULL, 5000));
		H_CHECK(ev.count == 3 && ev.len[0] == 2 && ev.len[1] == 3 && ev.len[2] == 4);
		H_CHECK(memcmp(ev.data[1], "d22", 3) == 0 && from_is(&ev.from[1], h_ip_peer, 7002));
		H_CHECK(dstats().Retained == 4);
		H_CHECK_STATUS(DpwDatagramDispatch(s)->WskRelease(s, first), STATUS_SUCCESS);

		h_test("retained indications outlive the close; WskRelease after it frees them (C9)");
		first = ev.retained;
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
		H_CHECK(dstats().Retained == 3);
		H_CHECK(memcmp((char *)MmGetSystemAddressForMdlSafe(first->Next->Buffer.Mdl, 0) +
				       first->Next->Buffer.Offset,
			       "d22", 3) == 0);
		H_CHECK_STATUS(DpwDatagramDispatch(s)->WskRelease(s, first), STATUS_SUCCESS);
		H_CHECK(h_pump_until(retained_zero, NULL, 5000));
	}

	h_test("a call through the closed handle: STATUS_INVALID_HANDLE (C6)");
	H_CHECK_STATUS(h_send_to(s, "x", 1, &to, NULL), STATUS_INVALID_HANDLE);

	h_test("WskCloseSocket from inside the receive-from event completes after the callback "
	       "returned (C5, C10)");
	H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, &ev_ctx_marker, &dg_events, &s),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(dg_bind(s, h_ip_stack, 6003), STATUS_SUCCESS);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE_FROM), STATUS_SUCCESS);
	{
		struct h_irp *ci = h_irp_new();

		ev.reply = STATUS_SUCCESS;
		ev.close_irp = ci;
		ev.close_sock = s;
		ev_want = ev.calls + 1;
		H_CHECK(peer_send(pfd, "bye", 3, 6003));
		H_CHECK(h_irp_done(ci, STATUS_PENDING, NULL) == STATUS_SUCCESS);
		H_CHECK(ev.calls == ev_want && ev.count == 1 && memcmp(ev.data[0], "bye", 3) == 0);
		H_CHECK_STATUS(ev.close_ret, STATUS_PENDING);
		H_CHECK(dstats().Retained == 0);
		/* gone for good: the port is free, the handle dead */
		H_CHECK_STATUS(h_send_to(s, "x", 1, &to, NULL), STATUS_INVALID_HANDLE);
		H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS);
		H_CHECK_STATUS(dg_bind(s, h_ip_stack, 6003), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}

	h_test("the queue is bounded: 256 datagrams, the rest dropped and counted (F8)");
	H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS);
	H_CHECK_STATUS(dg_bind(s, h_ip_stack, 6002), STATUS_SUCCESS);
	st0 = dstats();
	for (int batch = 0; batch < 6; batch++) {
		/* In batches of 50, each waited for, so that the veth never drops any. */
		for (int i = 0; i < 50; i++)
			H_CHECK(peer_send(pfd, "q", 1, 6002));
		H_CHECK(wait_received(st0.Received, (ULONGLONG)(batch + 1) * 50));
	}
	{
		ULONGLONG drops = st0.QueueDrops + (300 - 256);   /* counted after its datagram */

		H_CHECK(h_pump_until(h_datagrams_dropped, &drops, 5000));
	}
	H_CHECK(dstats().QueueDrops - st0.QueueDrops == 300 - 256);
	H_CHECK(backlog(s) == 256);
	r = rx_start(s, 10);
	H_CHECK(h_wait(&r->h, 5000) && r->h.info == 1);
	rx_free(r);
	H_CHECK(backlog(s) == 255);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);

	close(pfd);
	close(pfd2);
	return h_finish();
}
