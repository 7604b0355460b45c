/* IPv6 through the WSK API (the topology of scripts/netns.sh with DPW_TOPO_IPV6=1: the stack
 * at 2001:2::2 and 198.18.0.2, Linux at 2001:2::1 and 198.18.0.1). AF_INET6 sockets (Windows'
 * 23, SOCKADDR_IN6) for TCP and UDP against Linux IPv6 sockets in the peer namespace:
 * WskSocketConnect and WskBind/WskConnect out, WskListen/WskAccept in, the addresses WSK
 * reports, an IPv4 and an IPv6 listener on one port each taking only its own family (an
 * AF_INET6 socket is IPv6-only, as Windows' default IPV6_V6ONLY), bind to an address that is
 * not the stack's, family mismatches, datagrams both ways (WskSendTo, WskReceiveFrom, the
 * receive-from event), the RST of WskCloseSocket on the wire (C3) and a graceful disconnect.
 * Each case cites the contract rules it checks; the Linux peer and a packet socket on its
 * link judge what went on the wire. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

#define PEER_PORT    5801   /* Linux IPv6 TCP listener */
#define STACK_PORT   6801   /* the stack's IPv6 listener ([::]) */
#define SHARED_PORT  6802   /* an IPv4 and an IPv6 listener on the stack, both */
#define V6ONLY_PORT  6803   /* an IPv6 listener alone */
#define V4ONLY_PORT  6804   /* an IPv4 listener alone */
#define RST_PORT     6805   /* the stack's IPv6 listener for the passive-side reset */
#define GRACE_PORT   6806   /* the stack's IPv6 listener for the graceful exchange */
#define UDP_STACK    6901
#define UDP_SHARED   6902
#define UDP_EVENT    6903
#define UDP_PEER     7801

static int lfd6;   /* the Linux IPv6 listener on PEER_PORT */

/* ---- addresses ------------------------------------------------------------------------------ */

/* Check that a WSK address is who's, of family af, port `port` (0: any port but 0); print it
 * when it is not (the failure names the caller's line). */
#define addr_ok(what, sa, af, who, port) addr_ok_at(what, sa, af, who, port, __LINE__)
static bool addr_ok_at(const char *what, const SOCKADDR_INET *sa, ADDRESS_FAMILY af,
		       enum h_host who, uint16_t port, int line)
{
	char got[128], want[128];
	SOCKADDR_INET w;
	bool ok;

	if (port == 0) {
		SOCKADDR_INET tmp = *sa;
		uint16_t p = af == AF_INET6 ? ntohs(sa->Ipv6.sin6_port) : ntohs(sa->Ipv4.sin_port);

		ok = p != 0 && h_addr_is(&tmp, af, who, p);
	} else {
		ok = h_addr_is(sa, af, who, port);
	}
	if (!h_check(ok, what, __FILE__, line)) {
		h_addr(&w, af, who, port);
		printf("  %s: got %s, want %s%s\n", what, h_addr_str(sa, got, sizeof(got)),
		       h_addr_str(&w, want, sizeof(want)), port == 0 ? " (any port but 0)" : "");
	}
	return ok;
}

static uint16_t wsk_port(const SOCKADDR_INET *sa)
{
	return sa->si_family == AF_INET6 ? ntohs(sa->Ipv6.sin6_port) : ntohs(sa->Ipv4.sin_port);
}

/* What Linux says a connected socket's local or remote end is. */
static bool peer_end_is(int fd, bool remote, int host_af, const void *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int r = remote ? getpeername(fd, (struct sockaddr *)&ss, &len)
		       : getsockname(fd, (struct sockaddr *)&ss, &len);

	if (r != 0 || ss.ss_family != host_af)
		return false;
	if (host_af == PF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		return memcmp(&a->sin6_addr, addr, 16) == 0 &&
		       (port == 0 || a->sin6_port == htons(port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		return memcmp(&a->sin_addr, addr, 4) == 0 &&
		       (port == 0 || a->sin_port == htons(port));
	}
}

/* ---- helpers -------------------------------------------------------------------------------- */

static bool all_acked(void *arg)
{
	return peer_unacked(*(int *)arg) == 0;
}

/* WskSend of len bytes: the status; Information must be len (F3). */
static NTSTATUS send_counted(PWSK_SOCKET s, const void *data, size_t len)
{
	struct h_irp *h = h_irp_new();
	struct h_buf b;
	ULONG_PTR info = 0;
	NTSTATUS st;

	h_buf_init(&b, (void *)data, len);
	st = h_irp_done(h, DpwStreamDispatch(s)->WskSend(s, &b.wb, 0, h->irp), &info);
	if (st != STATUS_IO_TIMEOUT)
		h_buf_free(&b);
	H_CHECK(st != STATUS_SUCCESS || info == len);
	return st;
}


/* A WskAccept left pending on a listener, with room for an address of either family. */
struct acc {
	struct h_irp h;
	SOCKADDR_INET local, remote;
	NTSTATUS issued;
};

static void acc_start(struct acc *a, PWSK_SOCKET l)
{
	h_irp_init(&a->h);
	memset(&a->local, 0xee, sizeof(a->local));
	memset(&a->remote, 0xee, sizeof(a->remote));
	/* WskAccept has the same place in the listen and the stream table (R5). */
	a->issued = DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, (PSOCKADDR)&a->local,
						    (PSOCKADDR)&a->remote, a->h.irp);
}

/* The accepted socket (NULL if the accept did not complete with success); frees the IRP
 * once it completed (the listener's close completes it otherwise, C4). */
static PWSK_SOCKET acc_socket(struct acc *a)
{
	return a->h.completions > 0 && a->h.status == STATUS_SUCCESS ? (PWSK_SOCKET)a->h.info
								      : NULL;
}

static void acc_free(struct acc *a)
{
	if (a->h.completions > 0)
		h_irp_free(&a->h);
}

/* ---- TCP out ---------------------------------------------------------------------------------- */

static void test_socket_connect(void)
{
	enum { LEN = 64 * 1024 };   /* well inside both windows: no reader needed meanwhile */
	static uint8_t out[LEN], in[LEN];
	SOCKADDR_INET local, remote, la, ra;
	struct h_irp irp;
	PWSK_SOCKET s = NULL;
	size_t got = 0;
	NTSTATUS st;
	int fd;

	h_test("WskSocketConnect, AF_INET6 local [::]:0, remote the Linux IPv6 listener: SUCCESS, "
	       "Information the new connection socket, completed once (WSK-R2, R3, R5)");
	h_addr(&local, AF_INET6, H_ANY, 0);
	h_addr(&remote, AF_INET6, H_PEER, PEER_PORT);
	h_irp_init(&irp);
	st = h_npi.Dispatch->WskSocketConnect(h_npi.Client, SOCK_STREAM, IPPROTO_TCP,
					      (PSOCKADDR)&local, (PSOCKADDR)&remote, 0, NULL, NULL,
					      NULL, NULL, NULL, irp.irp);
	H_CHECK(st == STATUS_PENDING || st == STATUS_SUCCESS);
	if (st != STATUS_PENDING && st != STATUS_SUCCESS)
		printf("  WskSocketConnect returned %s (0x%08x)\n", DpwNtStatusName(st),
		       (unsigned)st);
	if (!H_CHECK(h_wait(&irp, 5000))) {
		IoCancelIrp(irp.irp);
		if (h_wait(&irp, 1000))
			h_irp_free(&irp);
		return;
	}
	H_CHECK_STATUS(irp.status, STATUS_SUCCESS);
	if (irp.status == STATUS_SUCCESS)
		s = (PWSK_SOCKET)irp.info;
	h_pump(20);
	H_CHECK(irp.completions == 1);
	h_irp_free(&irp);
	if (!H_CHECK(s != NULL))
		return;
	H_CHECK(h_category(s) == WSK_FLAG_CONNECTION_SOCKET);
	fd = peer_accept(lfd6, 5000);
	if (!H_CHECK(fd >= 0)) {
		h_close(s);
		return;
	}

	h_test("its addresses: WskGetLocalAddress [2001:2::2]:port, WskGetRemoteAddress "
	       "[2001:2::1]:5801, both SOCKADDR_IN6 with family 23; Linux sees the same ends "
	       "(WSK-F1)");
	H_CHECK_STATUS(h_local_address_sa(s, &la), STATUS_SUCCESS);
	addr_ok("local", &la, AF_INET6, H_STACK, 0);
	H_CHECK_STATUS(h_remote_address_sa(s, &ra), STATUS_SUCCESS);
	addr_ok("remote", &ra, AF_INET6, H_PEER, PEER_PORT);
	H_CHECK(peer_end_is(fd, true, PF_INET6, &h_ip6_stack, wsk_port(&la)));
	H_CHECK(peer_end_is(fd, false, PF_INET6, &h_ip6_peer, PEER_PORT));

	h_test("64 KiB from the stack: WskSend SUCCESS with Information 65536; Linux reads every "
	       "byte in order (WSK-F3)");
	h_fill_pattern(out, LEN, 601, 0);
	H_CHECK_STATUS(send_counted(s, out, LEN), STATUS_SUCCESS);
	H_CHECK(peer_read_all(fd, in, LEN, 5000) == LEN);
	H_CHECK(h_check_pattern(in, LEN, 601, 0) == LEN);

	h_test("64 KiB from Linux: a WAITALL WskReceive completes SUCCESS with all of it, in "
	       "order (WSK-F4)");
	h_fill_pattern(out, LEN, 602, 0);
	H_CHECK(peer_write_all(fd, out, LEN));
	memset(in, 0, LEN);
	H_CHECK_STATUS(h_receive(s, in, LEN, WSK_FLAG_WAITALL, &got), STATUS_SUCCESS);
	H_CHECK(got == LEN);
	H_CHECK(h_check_pattern(in, LEN, 602, 0) == LEN);

	h_test("close with both directions open: Linux reads ECONNRESET (WSK-C3, C1)");
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	H_CHECK(peer_read(fd, in, 16, 5000) == -ECONNRESET);
	close(fd);
}

/* ---- TCP in ---------------------------------------------------------------------------------- */

static void test_listen_accept(void)
{
	SOCKADDR_INET la, local, remote, sa;
	PWSK_SOCKET l, s;
	char buf[64];
	size_t got = 0;
	uint16_t cport;
	int fd;

	h_test("WskSocket(AF_INET6, stream), WskBind [::]:6801, WskListen: SUCCESS; "
	       "WskGetLocalAddress of the listener says [::]:6801, family 23 (WSK-R5, F1)");
	if (!H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_STREAM_SOCKET, H_ANY, STACK_PORT,
					  NULL, NULL, &l),
			    STATUS_SUCCESS))
		return;
	H_CHECK_STATUS(h_local_address_sa(l, &la), STATUS_SUCCESS);
	addr_ok("listener local", &la, AF_INET6, H_ANY, STACK_PORT);

	h_test("a Linux IPv6 client connects; WskAccept: SUCCESS, LocalAddress "
	       "[2001:2::2]:6801, RemoteAddress [2001:2::1]:client port, family 23 (WSK-F6)");
	fd = peer_connect_af(AF_INET6, STACK_PORT);
	if (!H_CHECK(fd >= 0)) {
		h_close(l);
		return;
	}
	cport = peer_local_port(fd);
	memset(&local, 0xee, sizeof(local));
	memset(&remote, 0xee, sizeof(remote));
	if (!H_CHECK_STATUS(h_accept_sa(l, NULL, NULL, (PSOCKADDR)&local, (PSOCKADDR)&remote, &s),
			    STATUS_SUCCESS)) {
		close(fd);
		h_close(l);
		return;
	}
	addr_ok("accept local", &local, AF_INET6, H_STACK, STACK_PORT);
	addr_ok("accept remote", &remote, AF_INET6, H_PEER, cport);

	h_test("the accepted socket's WskGetLocalAddress and WskGetRemoteAddress agree (WSK-F1)");
	H_CHECK_STATUS(h_local_address_sa(s, &sa), STATUS_SUCCESS);
	addr_ok("accepted local", &sa, AF_INET6, H_STACK, STACK_PORT);
	H_CHECK_STATUS(h_remote_address_sa(s, &sa), STATUS_SUCCESS);
	addr_ok("accepted remote", &sa, AF_INET6, H_PEER, cport);

	h_test("data both ways on the accepted IPv6 connection (WSK-F3, F4)");
	H_CHECK(peer_write_all(fd, "over ipv6", 9));
	memset(buf, 0, sizeof(buf));
	H_CHECK_STATUS(h_receive(s, buf, 9, WSK_FLAG_WAITALL, &got), STATUS_SUCCESS);
	H_CHECK(got == 9 && memcmp(buf, "over ipv6", 9) == 0);
	H_CHECK_STATUS(send_counted(s, "and back", 8), STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	H_CHECK(peer_read_all(fd, buf, 8, 5000) == 8 && memcmp(buf, "and back", 8) == 0);

	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);   /* C3 */
	close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
}

/* A connection attempt from Linux that must be refused (a RST from the stack, WSK-F6: no
 * listener of that family): the pending accept stays pending. */
static void expect_refused(int host_af, uint16_t port, struct acc *pending, const char *what)
{
	int fd = peer_connect_start_af(host_af, port), r;

	if (!H_CHECK(fd >= 0))
		return;
	r = peer_connect_finish(fd, 5000);
	if (!H_CHECK(r == -ECONNREFUSED))
		printf("  %s: connect finished with %d (%s), want ECONNREFUSED\n", what, r,
		       r < 0 ? strerror(-r) : "connected");
	close(fd);
	h_pump(50);
	if (pending != NULL && !H_CHECK(pending->h.completions == 0))
		printf("  %s: the listener's pending accept completed with %s\n", what,
		       DpwNtStatusName(pending->h.status));
}

static void test_families_apart(void)
{
	PWSK_SOCKET l4, l6, l6b, s4, s6;
	struct acc a4, a6;
	int fd4, fd6;

	h_test("an IPv4 listener on 0.0.0.0:6802 and an IPv6 listener on [::]:6802 coexist; a "
	       "second IPv6 bind to [::]:6802 or to the stack's IPv6 address is refused (WSK-F2, "
	       "W5)");
	if (!H_CHECK_STATUS(h_listener_af(AF_INET, WSK_FLAG_LISTEN_SOCKET, H_ANY, SHARED_PORT, NULL,
					  NULL, &l4),
			    STATUS_SUCCESS))
		return;
	if (!H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_LISTEN_SOCKET, H_ANY, SHARED_PORT,
					  NULL, NULL, &l6),
			    STATUS_SUCCESS)) {
		h_close(l4);
		return;
	}
	H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_LISTEN_SOCKET, H_ANY, SHARED_PORT, NULL,
				     NULL, &l6b),
		       STATUS_ADDRESS_ALREADY_ASSOCIATED);
	if (l6b != NULL)
		h_close(l6b);
	/* W5: a specific address under a wildcard holder asks the holder's descriptor; it has
	 * none, which admits nobody */
	H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_LISTEN_SOCKET, H_STACK, SHARED_PORT, NULL,
				     NULL, &l6b),
		       STATUS_ACCESS_DENIED);
	if (l6b != NULL)
		h_close(l6b);

	h_test("an IPv4 client is accepted by the IPv4 listener only: its accept completes with "
	       "IPv4 addresses, the IPv6 listener's stays pending (WSK-F6)");
	acc_start(&a4, l4);
	acc_start(&a6, l6);
	H_CHECK_STATUS(a4.issued, STATUS_PENDING);
	H_CHECK_STATUS(a6.issued, STATUS_PENDING);
	fd4 = peer_connect_af(AF_INET, SHARED_PORT);
	H_CHECK(fd4 >= 0);
	H_CHECK(h_wait(&a4.h, 5000));
	H_CHECK_STATUS(a4.h.status, STATUS_SUCCESS);
	addr_ok("v4 accept local", &a4.local, AF_INET, H_STACK, SHARED_PORT);
	addr_ok("v4 accept remote", &a4.remote, AF_INET, H_PEER, fd4 >= 0 ? peer_local_port(fd4)
									 : 0);
	h_pump(50);
	H_CHECK(a6.h.completions == 0);
	s4 = acc_socket(&a4);

	h_test("an IPv6 client is accepted by the IPv6 listener: IPv6 addresses (WSK-F6)");
	fd6 = peer_connect_af(AF_INET6, SHARED_PORT);
	H_CHECK(fd6 >= 0);
	H_CHECK(h_wait(&a6.h, 5000));
	H_CHECK_STATUS(a6.h.status, STATUS_SUCCESS);
	addr_ok("v6 accept local", &a6.local, AF_INET6, H_STACK, SHARED_PORT);
	addr_ok("v6 accept remote", &a6.remote, AF_INET6, H_PEER,
		fd6 >= 0 ? peer_local_port(fd6) : 0);
	s6 = acc_socket(&a6);

	h_test("each accepted connection carries its own data (WSK-F3, F4)");
	if (s4 != NULL && s6 != NULL && fd4 >= 0 && fd6 >= 0) {
		char b4[8] = { 0 }, b6[8] = { 0 };

		H_CHECK(peer_write_all(fd4, "four", 4));
		H_CHECK(peer_write_all(fd6, "six!", 4));
		H_CHECK_STATUS(h_receive(s4, b4, 4, WSK_FLAG_WAITALL, NULL), STATUS_SUCCESS);
		H_CHECK_STATUS(h_receive(s6, b6, 4, WSK_FLAG_WAITALL, NULL), STATUS_SUCCESS);
		H_CHECK(memcmp(b4, "four", 4) == 0 && memcmp(b6, "six!", 4) == 0);
	}
	if (s4 != NULL)
		H_CHECK_STATUS(h_close(s4), STATUS_SUCCESS);
	if (s6 != NULL)
		H_CHECK_STATUS(h_close(s6), STATUS_SUCCESS);
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	acc_free(&a4);
	acc_free(&a6);
	H_CHECK_STATUS(h_close(l4), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(l6), STATUS_SUCCESS);

	h_test("an AF_INET6 listener on [::] is IPv6-only: an IPv4 connect to its port is refused, "
	       "its accept stays pending (WSK-F6; IPV6_V6ONLY as Windows' default)");
	if (H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_LISTEN_SOCKET, H_ANY, V6ONLY_PORT,
					 NULL, NULL, &l6),
			   STATUS_SUCCESS)) {
		acc_start(&a6, l6);
		H_CHECK_STATUS(a6.issued, STATUS_PENDING);
		expect_refused(PF_INET, V6ONLY_PORT, &a6, "IPv4 to the IPv6 listener");
		H_CHECK_STATUS(h_close(l6), STATUS_SUCCESS);
		H_CHECK(h_wait(&a6.h, 5000));
		H_CHECK_STATUS(a6.h.status, STATUS_CANCELLED);   /* C4 */
		acc_free(&a6);
	}

	h_test("an AF_INET listener on 0.0.0.0 takes no IPv6: an IPv6 connect to its port is "
	       "refused, its accept stays pending (WSK-F6)");
	if (H_CHECK_STATUS(h_listener_af(AF_INET, WSK_FLAG_LISTEN_SOCKET, H_ANY, V4ONLY_PORT, NULL,
					 NULL, &l4),
			   STATUS_SUCCESS)) {
		acc_start(&a4, l4);
		H_CHECK_STATUS(a4.issued, STATUS_PENDING);
		expect_refused(PF_INET6, V4ONLY_PORT, &a4, "IPv6 to the IPv4 listener");
		H_CHECK_STATUS(h_close(l4), STATUS_SUCCESS);
		H_CHECK(h_wait(&a4.h, 5000));
		H_CHECK_STATUS(a4.h.status, STATUS_CANCELLED);   /* C4 */
		acc_free(&a4);
	}

	h_test("an IPv6 connect to a port with no listener at all is refused (WSK-F6)");
	expect_refused(PF_INET6, V4ONLY_PORT + 10, NULL, "IPv6 to a closed port");
}

/* ---- bad addresses ---------------------------------------------------------------------------- */

static void test_foreign_bind(void)
{
	static const ULONG cats[] = { WSK_FLAG_STREAM_SOCKET, WSK_FLAG_LISTEN_SOCKET,
				      WSK_FLAG_CONNECTION_SOCKET, WSK_FLAG_DATAGRAM_SOCKET };
	SOCKADDR_IN6 foreign;
	IN6_ADDR a99;

	h_test("bind of an AF_INET6 socket to 2001:2::99, not the stack's address: "
	       "STATUS_INVALID_ADDRESS_COMPONENT, as for IPv4; the socket stays usable (WSK-F2, "
	       "R3)");
	inet_pton(PF_INET6, "2001:2::99", &a99);
	h_sockaddr6(&foreign, &a99, 6810);
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		SOCKADDR_INET ok;
		PWSK_SOCKET s;
		NTSTATUS st;

		if (!H_CHECK_STATUS(h_socket_af(AF_INET6, cats[i], NULL, NULL, &s), STATUS_SUCCESS))
			continue;
		st = h_bind_sa(s, (PSOCKADDR)&foreign);
		if (!H_CHECK_STATUS(st, STATUS_INVALID_ADDRESS_COMPONENT))
			printf("  category %lu\n", (unsigned long)cats[i]);
		h_addr(&ok, AF_INET6, H_STACK, 6810);
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&ok), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}
}

/* A call that must fail: returned a failure (the IRP completed with a failure too, or left
 * alone), or STATUS_PENDING and the IRP then completes with a failure. Never success, never
 * two completions. The status is printed. */
static void expect_failure(const char *what, struct h_irp *h, NTSTATUS issued)
{
	bool done = h_wait(h, issued == STATUS_PENDING ? 5000 : 200);
	NTSTATUS st = done ? h->status : issued;

	printf("  %s: returned %s (0x%08x); IRP %s%s (0x%08x)\n", what, DpwNtStatusName(issued),
	       (unsigned)issued, done ? "completed with " : "not completed",
	       done ? DpwNtStatusName(h->status) : "", done ? (unsigned)h->status : 0u);
	H_CHECK(issued != STATUS_SUCCESS);
	H_CHECK(issued == STATUS_PENDING ? done : !NT_SUCCESS(issued));
	H_CHECK(!NT_SUCCESS(st) && st != STATUS_PENDING);
	h_pump(20);
	H_CHECK(h->completions <= 1);
	if (done || issued != STATUS_PENDING) {
		h_irp_free(h);
		free(h);
	}   /* else: still the provider's, left to it */
}

/* No IPv6 router: a destination beyond the stack's /64 is an error at once, not a connect
 * timing out. 2001:2:0:1::1 is in the benchmarking range, outside the link's 2001:2::/64;
 * nothing is sent to it (the stack would have to ask Neighbor Discovery first). */
static void test_off_link(void)
{
	SOCKADDR_INET any6, far;
	PWSK_SOCKET s;
	struct h_irp h;

	h_addr(&any6, AF_INET6, H_ANY, 0);
	h_addr(&far, AF_INET6, H_ANY, 80);
	far.Ipv6.sin6_addr.s6_addr[0] = 0x20;
	far.Ipv6.sin6_addr.s6_addr[1] = 0x01;
	far.Ipv6.sin6_addr.s6_addr[3] = 0x02;
	far.Ipv6.sin6_addr.s6_addr[7] = 0x01;
	far.Ipv6.sin6_addr.s6_addr[15] = 0x01;

	h_test("connect to an IPv6 address off the link (no router): STATUS_NETWORK_UNREACHABLE, "
	       "completed once, no socket left (WSK-R3, F1)");
	h_irp_init(&h);
	H_CHECK_STATUS(h_npi.Dispatch->WskSocketConnect(h_npi.Client, SOCK_STREAM,
							   IPPROTO_TCP, (PSOCKADDR)&any6,
							   (PSOCKADDR)&far, 0, NULL, NULL, NULL,
							   NULL, NULL, h.irp),
		       STATUS_PENDING);
	H_CHECK(h_wait(&h, 5000));
	H_CHECK_STATUS(h.status, STATUS_NETWORK_UNREACHABLE);
	h_pump(20);
	H_CHECK(h.completions == 1);
	H_CHECK(h_wait_sockets_open(0, 5000));

	h_test("WskSendTo to an IPv6 address off the link: STATUS_NETWORK_UNREACHABLE (WSK-F8)");
	if (H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		struct h_buf b;

		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any6), STATUS_SUCCESS);
		h_buf_init(&b, (void *)"x", 1);
		h_irp_reset(&h);
		DpwDatagramDispatch(s)->WskSendTo(s, &b.wb, 0, (PSOCKADDR)&far, 0, NULL, h.irp);
		H_CHECK(h_wait(&h, 5000));
		H_CHECK_STATUS(h.status, STATUS_NETWORK_UNREACHABLE);
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
		h_buf_free(&b);
	}
	h_irp_free(&h);
}

static void test_family_mismatch(void)
{
	SOCKADDR_INET v4peer, v6peer, v4stack, v6stack, any4, any6, mapped;
	PWSK_SOCKET s;
	struct h_irp *h;
	struct h_buf b;
	ULONG open;

	h_addr(&v4peer, AF_INET, H_PEER, PEER_PORT);
	h_addr(&v6peer, AF_INET6, H_PEER, PEER_PORT);
	h_addr(&v4stack, AF_INET, H_STACK, 6811);
	h_addr(&v6stack, AF_INET6, H_STACK, 6811);
	h_addr(&any4, AF_INET, H_ANY, 0);
	h_addr(&any6, AF_INET6, H_ANY, 0);
	/* ::ffff:198.18.0.1, the IPv4-mapped form of the peer's IPv4 address */
	h_addr(&mapped, AF_INET6, H_ANY, PEER_PORT);
	mapped.Ipv6.sin6_addr.s6_addr[10] = 0xff;
	mapped.Ipv6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&mapped.Ipv6.sin6_addr.s6_addr[12], &h_ip_peer, 4);

	h_test("family mismatch: WskBind of an AF_INET6 socket to a SOCKADDR_IN fails with a "
	       "status (no crash); the socket binds an IPv6 address afterwards (WSK-R3)");
	if (H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		h = h_irp_new();
		expect_failure("v6 socket, bind to 198.18.0.2:6811", h,
			       DpwStreamDispatch(s)->WskBind(s, (PSOCKADDR)&v4stack, 0, h->irp));
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&v6stack), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}

	h_test("family mismatch: WskBind of an AF_INET socket to a SOCKADDR_IN6 fails (WSK-R3)");
	if (H_CHECK_STATUS(h_socket_af(AF_INET, WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		h = h_irp_new();
		expect_failure("v4 socket, bind to [2001:2::2]:6811", h,
			       DpwStreamDispatch(s)->WskBind(s, (PSOCKADDR)&v6stack, 0, h->irp));
		h = h_irp_new();
		expect_failure("v4 socket, bind to [::]:0", h,
			       DpwStreamDispatch(s)->WskBind(s, (PSOCKADDR)&any6, 0, h->irp));
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&v4stack), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}

	h_test("family mismatch: WskConnect of a bound AF_INET6 socket to a SOCKADDR_IN, and to "
	       "the IPv4-mapped ::ffff:198.18.0.1 (IPv6-only), fails (WSK-R3)");
	if (H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any6), STATUS_SUCCESS);
		h = h_irp_new();
		expect_failure("v6 stream socket, connect to 198.18.0.1:5801", h,
			       DpwStreamDispatch(s)->WskConnect(s, (PSOCKADDR)&v4peer, 0, h->irp));
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}
	if (H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any6), STATUS_SUCCESS);
		h = h_irp_new();
		expect_failure("v6 connection socket, connect to ::ffff:198.18.0.1", h,
			       DpwConnectionDispatch(s)->WskConnect(s, (PSOCKADDR)&mapped, 0,
								    h->irp));
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}

	h_test("family mismatch: WskConnect of a bound AF_INET socket to a SOCKADDR_IN6 fails "
	       "(WSK-R3)");
	if (H_CHECK_STATUS(h_socket_af(AF_INET, WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any4), STATUS_SUCCESS);
		h = h_irp_new();
		expect_failure("v4 connection socket, connect to [2001:2::1]:5801", h,
			       DpwConnectionDispatch(s)->WskConnect(s, (PSOCKADDR)&v6peer, 0,
								    h->irp));
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}

	h_test("family mismatch: WskSocketConnect with local [::]:0 and remote 198.18.0.1:5801 "
	       "fails, and leaves no socket behind (WSK-R3, R2)");
	open = h_sockets_open();
	h = h_irp_new();
	expect_failure("WskSocketConnect [::] -> 198.18.0.1", h,
		       h_npi.Dispatch->WskSocketConnect(h_npi.Client, SOCK_STREAM, IPPROTO_TCP,
							(PSOCKADDR)&any6, (PSOCKADDR)&v4peer, 0,
							NULL, NULL, NULL, NULL, NULL, h->irp));
	H_CHECK(h_wait_sockets_open(open, 2000));

	h_test("family mismatch: WskSendTo of AF_INET6 and AF_INET datagram sockets to the other "
	       "family's address fails (WSK-R3, F8)");
	h_buf_init(&b, (void *)"x", 1);
	if (H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any6), STATUS_SUCCESS);
		h = h_irp_new();
		expect_failure("v6 datagram socket, send to 198.18.0.1", h,
			       DpwDatagramDispatch(s)->WskSendTo(s, &b.wb, 0, (PSOCKADDR)&v4peer, 0,
								 NULL, h->irp));
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}
	if (H_CHECK_STATUS(h_socket_af(AF_INET, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s),
			   STATUS_SUCCESS)) {
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any4), STATUS_SUCCESS);
		h = h_irp_new();
		expect_failure("v4 datagram socket, send to [2001:2::1]", h,
			       DpwDatagramDispatch(s)->WskSendTo(s, &b.wb, 0, (PSOCKADDR)&v6peer, 0,
								 NULL, h->irp));
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}
	h_buf_free(&b);
}

/* ---- UDP -------------------------------------------------------------------------------------- */

static int peer_udp6(uint16_t port)
{
	struct sockaddr_storage a;
	socklen_t len = peer_sockaddr(PF_INET6, H_PEER, port, &a);
	int fd = peer_socket_af(PF_INET6, SOCK_DGRAM);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) != 0) {
		fprintf(stderr, "peer UDP IPv6 bind to port %u failed\n", port);
		exit(1);
	}
	return fd;
}

static bool peer_send_to(int fd, int af, const void *data, size_t len, uint16_t stack_port)
{
	struct sockaddr_storage a;
	socklen_t alen = peer_sockaddr(af, H_STACK, stack_port, &a);

	return sendto(fd, data, len, 0, (struct sockaddr *)&a, alen) == (ssize_t)len;
}

static long peer_recv6(int fd, void *buf, size_t len, struct sockaddr_in6 *from, unsigned ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t fl = sizeof(*from);
	ssize_t n;

	memset(from, 0, sizeof(*from));
	if (poll(&p, 1, (int)ms) != 1)
		return -ETIMEDOUT;
	n = recvfrom(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)from, &fl);
	return n < 0 ? -errno : n;
}

static bool from_stack6(const struct sockaddr_in6 *from, uint16_t port)
{
	return from->sin6_family == PF_INET6 &&
	       memcmp(&from->sin6_addr, &h_ip6_stack, 16) == 0 &&
	       (port == 0 || from->sin6_port == htons(port));
}


/* A WskReceiveFrom in flight, with room for either family's address. */
struct rx {
	struct h_irp h;
	struct h_buf b;
	unsigned char data[4096];
	SOCKADDR_INET from;
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
	memset(&r->from, 0xee, sizeof(r->from));
	r->issued = DpwDatagramDispatch(s)->WskReceiveFrom(s, &r->b.wb, 0, (PSOCKADDR)&r->from,
							   &r->ctl_len, NULL, &r->ctl_flags,
							   r->h.irp);
	return r;
}

static void rx_free(struct rx *r)
{
	if (r->h.completions == 0)
		return;   /* still the provider's, with its buffer */
	h_irp_free(&r->h);
	h_buf_free(&r->b);
	free(r);
}

/* The receive-from event (runs on the lcore): what the last indication held. */
static struct {
	_Atomic int calls;
	int count;
	size_t len;
	unsigned char data[64];
	SOCKADDR_INET from;
	ULONG from_len;
} ev;

static NTSTATUS WSKAPI on_receive_from(PVOID ctx, ULONG flags, PWSK_DATAGRAM_INDICATION ind)
{
	int n = 0;

	(void)ctx;
	(void)flags;
	for (PWSK_DATAGRAM_INDICATION d = ind; d != NULL; d = d->Next, n++) {
		ULONG alen = DpwSockaddrLength(d->RemoteAddress);

		if (n > 0)
			continue;
		ev.len = d->Buffer.Length;
		if (d->Buffer.Mdl != NULL)
			memcpy(ev.data,
			       (char *)MmGetSystemAddressForMdlSafe(d->Buffer.Mdl, 0) + d->Buffer.Offset,
			       d->Buffer.Length < sizeof(ev.data) ? d->Buffer.Length : sizeof(ev.data));
		memset(&ev.from, 0, sizeof(ev.from));
		ev.from_len = alen;
		if (alen > 0 && alen <= sizeof(ev.from))
			memcpy(&ev.from, d->RemoteAddress, alen);
	}
	ev.count = n;
	ev.calls++;
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_DATAGRAM_DISPATCH dg_events = { on_receive_from };

static int ev_want;
static bool ev_calls_reach(void *arg)
{
	(void)arg;
	return ev.calls >= ev_want;
}

static void test_udp(void)
{
	static unsigned char big[4000], got[4096];
	SOCKADDR_INET sa, to;
	struct sockaddr_in6 from;
	PWSK_SOCKET s, s2;
	ULONG_PTR info = 0;
	struct rx *r;
	long n;
	int pfd = peer_udp6(UDP_PEER);

	h_test("AF_INET6 datagram socket bound to [2001:2::2]:6901: WskGetLocalAddress says so, "
	       "family 23 (WSK-F8, F1)");
	if (!H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s),
			    STATUS_SUCCESS)) {
		close(pfd);
		return;
	}
	h_addr(&sa, AF_INET6, H_STACK, UDP_STACK);
	H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&sa), STATUS_SUCCESS);
	H_CHECK_STATUS(h_local_address_sa(s, &sa), STATUS_SUCCESS);
	addr_ok("datagram local", &sa, AF_INET6, H_STACK, UDP_STACK);

	h_test("WskSendTo [2001:2::1]:7801: SUCCESS, Information 11; Linux receives the bytes from "
	       "[2001:2::2]:6901 (WSK-F8)");
	h_addr(&to, AF_INET6, H_PEER, UDP_PEER);
	H_CHECK_STATUS(h_send_to(s, "hello, ipv6", 11, &to, &info), STATUS_SUCCESS);
	H_CHECK(info == 11);
	n = peer_recv6(pfd, got, sizeof(got), &from, 5000);
	H_CHECK(n == 11 && memcmp(got, "hello, ipv6", 11) == 0);
	H_CHECK(from_stack6(&from, UDP_STACK));

	h_test("a 4000-byte WskSendTo leaves in IPv6 fragments; Linux reassembles it (WSK-F8)");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 13 + 5);
	H_CHECK_STATUS(h_send_to(s, big, sizeof(big), &to, &info), STATUS_SUCCESS);
	H_CHECK(info == sizeof(big));
	n = peer_recv6(pfd, got, sizeof(got), &from, 5000);
	H_CHECK(n == (long)sizeof(big) && memcmp(got, big, sizeof(big)) == 0);

	h_test("WskReceiveFrom pending before Linux sends: data, Information, RemoteAddress "
	       "[2001:2::1]:7801 as a SOCKADDR_IN6 with family 23 (WSK-F8)");
	r = rx_start(s, 100);
	H_CHECK_STATUS(r->issued, STATUS_PENDING);
	H_CHECK(peer_send_to(pfd, PF_INET6, "from linux v6", 13, UDP_STACK));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK_STATUS(r->h.status, STATUS_SUCCESS);
	H_CHECK(r->h.info == 13 && memcmp(r->data, "from linux v6", 13) == 0);
	addr_ok("receive-from remote", &r->from, AF_INET6, H_PEER, UDP_PEER);
	H_CHECK(r->ctl_flags == 0);
	rx_free(r);

	h_test("the largest single-frame IPv6 datagram from Linux, 1452 bytes (WSK-F8)");
	r = rx_start(s, sizeof(r->data));
	H_CHECK(peer_send_to(pfd, PF_INET6, big, 1452, UDP_STACK));
	H_CHECK(h_wait(&r->h, 5000));
	H_CHECK(r->h.status == STATUS_SUCCESS && r->h.info == 1452 &&
		memcmp(r->data, big, 1452) == 0);
	rx_free(r);

	h_test("an unbound AF_INET6 datagram socket: WskSendTo binds an ephemeral port; Linux sees "
	       "it from 2001:2::2, WskGetLocalAddress has that port, family 23 (WSK-F8)");
	if (H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s2),
			   STATUS_SUCCESS)) {
		H_CHECK_STATUS(h_send_to(s2, "auto", 4, &to, NULL), STATUS_SUCCESS);
		n = peer_recv6(pfd, got, sizeof(got), &from, 5000);
		H_CHECK(n == 4 && memcmp(got, "auto", 4) == 0 && from_stack6(&from, 0));
		H_CHECK(from.sin6_port != 0 && from.sin6_port != htons(UDP_STACK));
		H_CHECK_STATUS(h_local_address_sa(s2, &sa), STATUS_SUCCESS);
		H_CHECK(sa.si_family == AF_INET6 && sa.Ipv6.sin6_port == from.sin6_port);
		r = rx_start(s2, 100);
		H_CHECK(peer_send_to(pfd, PF_INET6, "reply", 5, ntohs(from.sin6_port)));
		H_CHECK(h_wait(&r->h, 5000));
		H_CHECK(r->h.info == 5 && memcmp(r->data, "reply", 5) == 0);
		addr_ok("reply remote", &r->from, AF_INET6, H_PEER, UDP_PEER);
		rx_free(r);
		H_CHECK_STATUS(h_close(s2), STATUS_SUCCESS);
	}
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);

	h_test("an AF_INET socket on 0.0.0.0:6902 and an AF_INET6 one on [::]:6902 coexist; each "
	       "receives only its own family's datagrams (WSK-F2, F8)");
	{
		PWSK_SOCKET u4 = NULL, u6 = NULL;
		struct rx *r4, *r6;
		int p4 = peer_socket_af(PF_INET, SOCK_DGRAM);

		H_CHECK_STATUS(h_socket_af(AF_INET, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &u4),
			       STATUS_SUCCESS);
		H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &u6),
			       STATUS_SUCCESS);
		if (u4 != NULL && u6 != NULL && p4 >= 0) {
			h_addr(&sa, AF_INET, H_ANY, UDP_SHARED);
			H_CHECK_STATUS(h_bind_sa(u4, (PSOCKADDR)&sa), STATUS_SUCCESS);
			h_addr(&sa, AF_INET6, H_ANY, UDP_SHARED);
			H_CHECK_STATUS(h_bind_sa(u6, (PSOCKADDR)&sa), STATUS_SUCCESS);
			r4 = rx_start(u4, 100);
			r6 = rx_start(u6, 100);
			H_CHECK_STATUS(r4->issued, STATUS_PENDING);
			H_CHECK_STATUS(r6->issued, STATUS_PENDING);
			H_CHECK(peer_send_to(pfd, PF_INET6, "to six", 6, UDP_SHARED));
			H_CHECK(h_wait(&r6->h, 5000));
			H_CHECK(r6->h.status == STATUS_SUCCESS && r6->h.info == 6 &&
				memcmp(r6->data, "to six", 6) == 0);
			addr_ok("v6 socket's sender", &r6->from, AF_INET6, H_PEER, UDP_PEER);
			H_CHECK(r4->h.completions == 0);
			H_CHECK(peer_send_to(p4, PF_INET, "to four", 7, UDP_SHARED));
			H_CHECK(h_wait(&r4->h, 5000));
			H_CHECK(r4->h.status == STATUS_SUCCESS && r4->h.info == 7 &&
				memcmp(r4->data, "to four", 7) == 0);
			addr_ok("v4 socket's sender", &r4->from, AF_INET, H_PEER,
				peer_local_port(p4));
			/* and nothing went to the v6 socket meanwhile */
			rx_free(r6);
			r6 = rx_start(u6, 100);
			h_pump(50);
			H_CHECK(r6->h.completions == 0);
			H_CHECK_STATUS(h_close(u6), STATUS_SUCCESS);
			H_CHECK(r6->h.completions == 1 && r6->h.status == STATUS_CANCELLED);   /* C2 */
			u6 = NULL;
			rx_free(r4);
			rx_free(r6);
		}
		if (u4 != NULL)
			H_CHECK_STATUS(h_close(u4), STATUS_SUCCESS);
		if (u6 != NULL)
			H_CHECK_STATUS(h_close(u6), STATUS_SUCCESS);
		if (p4 >= 0)
			close(p4);
	}

	h_test("the receive-from event on an AF_INET6 socket: the indication's RemoteAddress is a "
	       "SOCKADDR_IN6 [2001:2::1]:7801, family 23 (WSK-F7, F8)");
	if (H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_DATAGRAM_SOCKET, NULL, &dg_events, &s),
			   STATUS_SUCCESS)) {
		h_addr(&sa, AF_INET6, H_STACK, UDP_EVENT);
		H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&sa), STATUS_SUCCESS);
		H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE_FROM), STATUS_SUCCESS);
		ev_want = ev.calls + 1;
		H_CHECK(peer_send_to(pfd, PF_INET6, "event v6", 8, UDP_EVENT));
		H_CHECK(h_pump_until(ev_calls_reach, NULL, 5000));
		H_CHECK(ev.count == 1 && ev.len == 8 && memcmp(ev.data, "event v6", 8) == 0);
		H_CHECK(ev.from_len == sizeof(SOCKADDR_IN6));
		addr_ok("event remote", &ev.from, AF_INET6, H_PEER, UDP_PEER);
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}
	close(pfd);
}

/* ---- close on the wire ------------------------------------------------------------------------ */

/* After the close: Linux has the reset; the tap, read on a while, counts exactly one RST from
 * the stack, no FIN, every TCP segment IPv6 (C3). */
static void expect_one_rst6(struct h_tap *tap)
{
	struct h_tap_counts c = { 0 };

	h_tap_collect(tap, &c, 200);
	H_CHECK(c.rst_from_stack == 1);
	H_CHECK(c.fin_from_stack == 0);
	H_CHECK(c.v6_tcp >= 1 && c.v4_tcp == 0);
	if (c.rst_from_stack != 1 || c.fin_from_stack != 0 || c.v6_tcp == 0)
		printf("  wire: %u RST, %u FIN from the stack; %u IPv6, %u IPv4 TCP segments\n",
		       c.rst_from_stack, c.fin_from_stack, c.v6_tcp, c.v4_tcp);
	h_tap_close(tap);
}

static void close_checked(PWSK_SOCKET s)
{
	struct h_irp cl;
	NTSTATUS st;

	h_irp_init(&cl);
	st = DpwStreamDispatch(s)->WskCloseSocket(s, cl.irp);
	H_CHECK(st == STATUS_PENDING || st == STATUS_SUCCESS);
	H_CHECK(h_wait(&cl, 5000));
	H_CHECK_STATUS(cl.status, STATUS_SUCCESS);
	H_CHECK(cl.info == 0);
	h_pump(20);
	H_CHECK(cl.completions == 1);
	if (cl.completions > 0)
		h_irp_free(&cl);
}

static void test_close_rst(void)
{
	struct h_tap tap;
	PWSK_SOCKET s, l;
	uint32_t pcbs;
	char buf[16];
	int fd;

	h_test("WskCloseSocket of an established IPv6 connection (WskBind [::] + WskConnect), both "
	       "directions open: a RST on the wire (one, no FIN, IPv6), Linux reads ECONNRESET, no "
	       "pcb left (WSK-C3, C1)");
	pcbs = h_tcp_pcbs_in_use();
	if (!H_CHECK_STATUS(h_connect_to_peer_af(AF_INET6, WSK_FLAG_STREAM_SOCKET, NULL, NULL,
						 PEER_PORT, &s),
			    STATUS_SUCCESS))
		return;
	fd = peer_accept(lfd6, 5000);
	if (!H_CHECK(fd >= 0)) {
		h_close(s);
		return;
	}
	H_CHECK(peer_write_all(fd, "ping", 4));
	H_CHECK_STATUS(h_receive(s, buf, 4, WSK_FLAG_WAITALL, NULL), STATUS_SUCCESS);
	H_CHECK(h_pump_until(all_acked, &fd, 5000));   /* nothing in flight: a quiet peer */
	H_CHECK(h_tap_open(&tap));
	close_checked(s);
	H_CHECK(h_tcp_pcbs_in_use() == pcbs);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);
	expect_one_rst6(&tap);
	close(fd);

	h_test("WskCloseSocket of an accepted IPv6 connection holding unread data: RST, Linux "
	       "reads ECONNRESET, no pcb left (WSK-C3)");
	if (!H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_LISTEN_SOCKET, H_STACK, RST_PORT,
					  NULL, NULL, &l),
			    STATUS_SUCCESS))
		return;
	pcbs = h_tcp_pcbs_in_use();
	fd = peer_connect_af(AF_INET6, RST_PORT);
	H_CHECK(fd >= 0);
	if (fd >= 0 && H_CHECK_STATUS(h_accept_sa(l, NULL, NULL, NULL, NULL, &s), STATUS_SUCCESS)) {
		H_CHECK(peer_write_all(fd, "unread", 6));
		H_CHECK(h_pump_until(all_acked, &fd, 5000));
		H_CHECK(h_tap_open(&tap));
		close_checked(s);
		H_CHECK(h_tcp_pcbs_in_use() == pcbs);
		H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == -ECONNRESET);
		expect_one_rst6(&tap);
	}
	if (fd >= 0)
		close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
}

static void test_graceful(void)
{
	struct h_tap_counts c = { 0 };
	struct h_tap tap;
	PWSK_SOCKET l, s;
	char buf[16];
	size_t got = 99;
	int fd;

	h_test("graceful over IPv6: WskDisconnect with a final buffer completes SUCCESS; Linux "
	       "reads the bytes, then end of stream (WSK-F5)");
	if (!H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_STREAM_SOCKET, H_ANY, GRACE_PORT, NULL,
					  NULL, &l),
			    STATUS_SUCCESS))
		return;
	fd = peer_connect_af(AF_INET6, GRACE_PORT);
	if (!H_CHECK(fd >= 0) ||
	    !H_CHECK_STATUS(h_accept_sa(l, NULL, NULL, NULL, NULL, &s), STATUS_SUCCESS)) {
		if (fd >= 0)
			close(fd);
		h_close(l);
		return;
	}
	H_CHECK(h_tap_open(&tap));
	H_CHECK_STATUS(h_disconnect(s, "bye", 3, 0), STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	H_CHECK(peer_read_all(fd, buf, 3, 5000) == 3 && memcmp(buf, "bye", 3) == 0);
	H_CHECK(peer_read(fd, buf, sizeof(buf), 5000) == 0);

	h_test("Linux's FIN: a pending WskReceive completes SUCCESS with 0 bytes (WSK-F4)");
	shutdown(fd, SHUT_WR);
	H_CHECK_STATUS(h_receive(s, buf, sizeof(buf), 0, &got), STATUS_SUCCESS);
	H_CHECK(got == 0);

	h_test("close after the complete exchange: nothing more on the wire, no RST; the wire saw "
	       "one FIN each way, all of it IPv6; Linux keeps a clean end of stream (WSK-C3, C1)");
	close_checked(s);
	h_tap_collect(&tap, &c, 200);
	H_CHECK(c.rst_from_stack == 0 && c.rst_from_peer == 0);
	H_CHECK(c.fin_from_stack == 1 && c.fin_from_peer == 1);
	H_CHECK(c.v6_tcp >= 3 && c.v4_tcp == 0);
	if (c.rst_from_stack != 0 || c.fin_from_stack != 1 || c.fin_from_peer != 1)
		printf("  wire: stack %u RST %u FIN, peer %u RST %u FIN; %u IPv6 segments\n",
		       c.rst_from_stack, c.fin_from_stack, c.rst_from_peer, c.fin_from_peer,
		       c.v6_tcp);
	H_CHECK(peer_wait_error(fd, 100) == 0);
	h_tap_close(&tap);
	close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
}

int main(int argc, char **argv)
{
	DPW_IRP_STATS is;

	h_need_ip6();
	h_start(argc, argv);
	if (!h_have_ip6) {
		fprintf(stderr, "harness started without IPv6\n");
		return 1;
	}
	lfd6 = peer_listen_af(AF_INET6, PEER_PORT);

	test_socket_connect();
	test_listen_accept();
	test_families_apart();
	test_foreign_bind();
	test_off_link();
	test_family_mismatch();
	test_udp();
	/* The resets before the graceful exchange: they count pcbs, exact only while no
	 * TIME_WAIT pcb can expire meanwhile. */
	test_close_rst();
	test_graceful();

	h_test("no IRP completed twice, no socket left open (WSK-R2, C1, C8)");
	DpwGetIrpStats(&is);
	H_CHECK(is.DoubleCompletions == 0);
	H_CHECK(is.BadRuns == 0);
	H_CHECK(h_wait_sockets_open(0, 5000));

	close(lfd6);
	return h_finish();
}
