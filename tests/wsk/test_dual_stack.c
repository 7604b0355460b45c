/* Dual stack (WSK-W6, F9): an AF_INET6 socket with IPV6_V6ONLY turned off before bind takes
 * IPv4 peers as well as IPv6 ones and reports IPv4 addresses IPv4-mapped (::ffff:a.b.c.d), as
 * Windows does and as Windows' own samples use it. Against Linux sockets of both families in
 * the peer namespace (the topology with IPv6: scripts/netns.sh with DPW_TOPO_IPV6=1): a
 * dual-stack listener accepts a Linux IPv4 and a Linux IPv6 connection and echoes on both; a
 * listener left IPv6-only refuses the IPv4 one; a dual-stack socket connects to an
 * IPv4-mapped address; a dual-stack datagram socket receives from and sends to an IPv4
 * socket; the option's refusals. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define DUAL_PORT   6851
#define V6ONLY_PORT 6852
#define PEER4_PORT  5851
#define UDP_DUAL    6951
#define UDP_PEER4   7851

static NTSTATUS v6only(PWSK_SOCKET s, WSK_CONTROL_SOCKET_TYPE type, ULONG *v)
{
	struct h_irp *h = h_irp_new();

	return h_irp_done(h, DpwBasicDispatch(s)->WskControlSocket(
				     s, type, WSK_IPV6_V6ONLY, WSK_IPPROTO_IPV6,
				     type == WskSetOption ? sizeof(*v) : 0,
				     type == WskSetOption ? v : NULL,
				     type == WskGetOption ? sizeof(*v) : 0,
				     type == WskGetOption ? v : NULL, NULL, h->irp),
			  NULL);
}

/* ::ffff:a.b.c.d for who's IPv4 address, port. */
static void mapped(SOCKADDR_IN6 *sa, uint32_t ip4, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	sa->sin6_addr.s6_addr[10] = 0xff;
	sa->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sa->sin6_addr.s6_addr[12], &ip4, 4);
}

static bool is_mapped(const SOCKADDR_INET *sa, uint32_t ip4, uint16_t port)
{
	SOCKADDR_IN6 want;

	mapped(&want, ip4, port);
	return sa->si_family == AF_INET6 &&
	       memcmp(&sa->Ipv6.sin6_addr, &want.sin6_addr, 16) == 0 &&
	       (port == 0 || sa->Ipv6.sin6_port == want.sin6_port);
}

static bool echo_once(PWSK_SOCKET s, int fd, const char *msg)
{
	char got[64];
	size_t n = strlen(msg), len = 0;

	if (!peer_write_all(fd, msg, n) ||
	    h_receive(s, got, n, WSK_FLAG_WAITALL, &len) != STATUS_SUCCESS || len != n ||
	    h_send(s, got, n, 0) != STATUS_SUCCESS)
		return false;
	return peer_read_all(fd, got, n, 5000) == (long)n && memcmp(got, msg, n) == 0;
}

static void test_listener(void)
{
	PWSK_SOCKET l, c;
	SOCKADDR_INET local, remote, any6;
	char text[128];
	ULONG v = 7;
	int fd;

	h_test("IPV6_V6ONLY is 1 on a new AF_INET6 socket, as on Windows; set to 0 before bind "
	       "(WSK-W6, F9)");
	H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_LISTEN_SOCKET, NULL, NULL, &l),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(v6only(l, WskGetOption, &v), STATUS_SUCCESS);
	H_CHECK(v == 1);
	v = 0;
	H_CHECK_STATUS(v6only(l, WskSetOption, &v), STATUS_SUCCESS);
	v = 7;
	H_CHECK_STATUS(v6only(l, WskGetOption, &v), STATUS_SUCCESS);
	H_CHECK(v == 0);
	h_addr(&any6, AF_INET6, H_ANY, DUAL_PORT);
	H_CHECK_STATUS(h_bind_sa(l, (PSOCKADDR)&any6), STATUS_SUCCESS);
	v = 1;
	H_CHECK_STATUS(v6only(l, WskSetOption, &v), STATUS_INVALID_DEVICE_STATE);

	h_test("a Linux IPv4 connection to the dual-stack listener: accepted, both addresses "
	       "IPv4-mapped AF_INET6, data both ways (WSK-W6, F6)");
	fd = peer_connect_af(AF_INET, DUAL_PORT);
	H_CHECK(fd >= 0);
	H_CHECK_STATUS(h_accept_sa(l, NULL, NULL, (PSOCKADDR)&local, (PSOCKADDR)&remote, &c),
		       STATUS_SUCCESS);
	if (!h_check(is_mapped(&remote, h_ip_peer, 0), "remote is ::ffff:198.18.0.1", __FILE__,
		     __LINE__))
		printf("  remote: %s\n", h_addr_str(&remote, text, sizeof(text)));
	H_CHECK(is_mapped(&local, h_ip_stack, DUAL_PORT));
	if (c != NULL) {
		H_CHECK_STATUS(h_remote_address_sa(c, &remote), STATUS_SUCCESS);
		H_CHECK(is_mapped(&remote, h_ip_peer, peer_local_port(fd)));
		H_CHECK(echo_once(c, fd, "over IPv4"));
		H_CHECK_STATUS(h_close(c), STATUS_SUCCESS);
	}
	if (fd >= 0)
		close(fd);

	h_test("a Linux IPv6 connection to the same listener: accepted, plain IPv6 addresses "
	       "(WSK-W6)");
	fd = peer_connect_af(AF_INET6, DUAL_PORT);
	H_CHECK(fd >= 0);
	H_CHECK_STATUS(h_accept_sa(l, NULL, NULL, (PSOCKADDR)&local, (PSOCKADDR)&remote, &c),
		       STATUS_SUCCESS);
	H_CHECK(h_addr_is(&remote, AF_INET6, H_PEER, peer_local_port(fd)));
	H_CHECK(h_addr_is(&local, AF_INET6, H_STACK, DUAL_PORT));
	if (c != NULL) {
		H_CHECK(echo_once(c, fd, "over IPv6"));
		H_CHECK_STATUS(h_close(c), STATUS_SUCCESS);
	}
	if (fd >= 0)
		close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);

	h_test("a listener left IPv6-only: a Linux IPv4 connection is refused (WSK-W6)");
	H_CHECK_STATUS(h_listener_af(AF_INET6, WSK_FLAG_LISTEN_SOCKET, H_ANY, V6ONLY_PORT, NULL,
				     NULL, &l),
		       STATUS_SUCCESS);
	fd = peer_connect_start_af(AF_INET, V6ONLY_PORT);
	H_CHECK(fd >= 0 && peer_connect_finish(fd, 5000) == -ECONNREFUSED);
	if (fd >= 0)
		close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
}

static void test_connect_mapped(void)
{
	PWSK_SOCKET s;
	SOCKADDR_INET any6, remote;
	SOCKADDR_IN6 to;
	ULONG v = 0;
	int lfd, fd;

	h_test("a dual-stack socket connects to an IPv4-mapped address: the Linux IPv4 listener "
	       "takes it; an IPv6-only one refuses the address (WSK-W6)");
	lfd = peer_listen_af(AF_INET, PEER4_PORT);
	H_CHECK(lfd >= 0);
	mapped(&to, h_ip_peer, PEER4_PORT);
	/* IPv6-only (the default): the mapped address is no address of its family */
	H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s),
		       STATUS_SUCCESS);
	h_addr(&any6, AF_INET6, H_ANY, 0);
	H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any6), STATUS_SUCCESS);
	H_CHECK_STATUS(h_connect_sa(s, (PSOCKADDR)&to), STATUS_INVALID_ADDRESS);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	/* dual stack */
	H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(v6only(s, WskSetOption, &v), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind_sa(s, (PSOCKADDR)&any6), STATUS_SUCCESS);
	H_CHECK_STATUS(h_connect_sa(s, (PSOCKADDR)&to), STATUS_SUCCESS);
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);
	H_CHECK_STATUS(h_remote_address_sa(s, &remote), STATUS_SUCCESS);
	H_CHECK(is_mapped(&remote, h_ip_peer, PEER4_PORT));
	if (fd >= 0) {
		H_CHECK(echo_once(s, fd, "mapped"));
		close(fd);
	}
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	close(lfd);

	h_test("IPV6_V6ONLY on an AF_INET socket: STATUS_INVALID_PARAMETER (F9)");
	H_CHECK_STATUS(h_socket_af(AF_INET, WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(v6only(s, WskSetOption, &v), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
}

static void test_datagrams(void)
{
	PWSK_SOCKET u;
	SOCKADDR_INET any6;
	SOCKADDR_IN6 from, to;
	struct sockaddr_in a = { .sin_family = PF_INET };
	struct h_irp x;
	struct h_buf b;
	char buf[64];
	ULONG v = 0, ctl = 0;
	int fd = peer_socket_af(AF_INET, SOCK_DGRAM);
	socklen_t alen = sizeof(a);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	h_test("a dual-stack datagram socket: a Linux IPv4 datagram arrives from ::ffff:a.b.c.d; "
	       "a WskSendTo to that address reaches the IPv4 socket (WSK-W6, F8)");
	a.sin_addr.s_addr = h_ip_peer;
	a.sin_port = htons(UDP_PEER4);
	H_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	H_CHECK_STATUS(h_socket_af(AF_INET6, WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &u),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(v6only(u, WskSetOption, &v), STATUS_SUCCESS);
	h_addr(&any6, AF_INET6, H_ANY, UDP_DUAL);
	H_CHECK_STATUS(h_bind_sa(u, (PSOCKADDR)&any6), STATUS_SUCCESS);

	h_irp_init(&x);
	h_buf_init(&b, buf, sizeof(buf));
	DpwDatagramDispatch(u)->WskReceiveFrom(u, &b.wb, 0, (PSOCKADDR)&from, 0, NULL, &ctl,
					       x.irp);
	a.sin_addr.s_addr = h_ip_stack;
	a.sin_port = htons(UDP_DUAL);
	H_CHECK(sendto(fd, "v4 to dual", 10, 0, (struct sockaddr *)&a, sizeof(a)) == 10);
	H_CHECK(h_wait(&x, 5000) && x.status == STATUS_SUCCESS && x.info == 10);
	H_CHECK(is_mapped((SOCKADDR_INET *)&from, h_ip_peer, UDP_PEER4));
	h_irp_free(&x);
	h_buf_free(&b);

	mapped(&to, h_ip_peer, UDP_PEER4);
	H_CHECK_STATUS(h_send_to(u, "dual to v4", 10, &to, NULL), STATUS_SUCCESS);
	H_CHECK(poll(&p, 1, 5000) == 1 &&
		recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&a, &alen) == 10 &&
		memcmp(buf, "dual to v4", 10) == 0 && a.sin_addr.s_addr == h_ip_stack);
	H_CHECK_STATUS(h_close(u), STATUS_SUCCESS);
	close(fd);
}

int main(int argc, char **argv)
{
	h_need_ip6();
	h_start(argc, argv);
	test_listener();
	test_connect_mapped();
	test_datagrams();
	return h_finish();
}
