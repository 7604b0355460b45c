/* Socket options and IOCTLs (WSK-F9) and local-address sharing (WSK-F2): defaults, set and
 * get back with Windows' option numbers, unknown options, argument checks, bind conflicts with
 * and without SO_REUSEADDR and SO_EXCLUSIVEADDRUSE (datagram and TCP), what SO_RCVBUF does to
 * a datagram queue, TCP options reaching the connection and inherited on accept, and the two
 * backlog queries. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* WskControlSocket is first in every table (R5). */
static NTSTATUS ctl(PWSK_SOCKET s, WSK_CONTROL_SOCKET_TYPE type, ULONG code, ULONG level,
		    void *in, size_t in_len, void *out, size_t out_len, ULONG_PTR *info)
{
	struct h_irp *h = h_irp_new();
	static SIZE_T ret;   /* static: written on the lcore, maybe late */
	ULONG_PTR got;
	NTSTATUS st;

	ret = 12345;
	st = h_irp_done(h, DpwBasicDispatch(s)->WskControlSocket(s, type, code, level, in_len, in,
								 out_len, out, &ret, h->irp), &got);
	/* *OutputSizeReturned says the same as Information. */
	if (st == STATUS_SUCCESS)
		H_CHECK(ret == got);
	if (info != NULL)
		*info = got;
	return st;
}

static NTSTATUS set_ulong(PWSK_SOCKET s, ULONG level, ULONG code, ULONG v)
{
	return ctl(s, WskSetOption, code, level, &v, sizeof(v), NULL, 0, NULL);
}

/* The option's value, or 0xdeadbeef when the get failed (its status in *st). */
static ULONG get_ulong(PWSK_SOCKET s, ULONG level, ULONG code, NTSTATUS *st)
{
	ULONG v = 0xdeadbeef;
	ULONG_PTR info = 0;
	NTSTATUS r = ctl(s, WskGetOption, code, level, NULL, 0, &v, sizeof(v), &info);

	if (st != NULL)
		*st = r;
	if (r == STATUS_SUCCESS && info != sizeof(ULONG))
		return 0xbadbad;
	return r == STATUS_SUCCESS ? v : 0xdeadbeef;
}

static SIZE_T query(PWSK_SOCKET s, ULONG code, NTSTATUS *st)
{
	SIZE_T v = (SIZE_T)-1;
	ULONG_PTR info = 0;
	NTSTATUS r = ctl(s, WskIoctl, code, 0, NULL, 0, &v, sizeof(v), &info);

	if (st != NULL)
		*st = r;
	return r == STATUS_SUCCESS && info == sizeof(SIZE_T) ? v : (SIZE_T)-1;
}

#define SOL WSK_SOL_SOCKET
#define EXCL ((ULONG)WSK_SO_EXCLUSIVEADDRUSE)

static PWSK_SOCKET sock(ULONG category)
{
	PWSK_SOCKET s = NULL;

	H_CHECK_STATUS(h_socket(category, NULL, NULL, &s), STATUS_SUCCESS);
	return s;
}

/* ---- the Linux peer's UDP side ------------------------------------------------------------- */

static int peer_udp(void)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = 0 };
	int fd = peer_socket(SOCK_DGRAM);

	a.sin_addr.s_addr = h_ip_peer;
	H_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

static bool peer_send(int fd, const void *data, size_t len, uint16_t stack_port)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = htons(stack_port) };

	a.sin_addr.s_addr = h_ip_stack;
	return sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)len;
}

static ULONGLONG received_target, drops_target;

struct backlog_wait {
	PWSK_SOCKET s;
	SIZE_T want;
};
static bool backlog_is(void *arg)
{
	struct backlog_wait *w = arg;

	return query(w->s, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL) == w->want;
}

/* W5, cell by cell: Microsoft's table for sharing transport addresses. For each option of the
 * first and the second socket (none, SO_REUSEADDR, SO_EXCLUSIVEADDRUSE) and each address
 * (wildcard or the stack's), the second bind's result. S: success, U: in use (the very same
 * address: STATUS_ADDRESS_ALREADY_ASSOCIATED, as Windows was seen to answer; overlapping
 * only: STATUS_ADDRESS_ALREADY_EXISTS), D: STATUS_ACCESS_DENIED, C: the first socket's
 * descriptor decides; it has none here, which admits nobody, so denied. */
static void test_sharing_table(void)
{
	static const char table[3][2][3][2] = {
		/* second: none         first: none W,S    REUSE W,S    EXCL W,S */
		{ { { 'U', 'S' }, { 'U', 'S' }, { 'U', 'S' } },      /* wildcard */
		  { { 'C', 'U' }, { 'C', 'D' }, { 'D', 'U' } } },    /* specific */
		/* second: SO_REUSEADDR */
		{ { { 'D', 'S' }, { 'S', 'S' }, { 'D', 'S' } },
		  { { 'C', 'D' }, { 'S', 'S' }, { 'D', 'D' } } },
		/* second: SO_EXCLUSIVEADDRUSE */
		{ { { 'U', 'U' }, { 'U', 'U' }, { 'U', 'U' } },
		  { { 'C', 'U' }, { 'C', 'U' }, { 'D', 'U' } } },
	};
	static const ULONG opt[3] = { 0, WSK_SO_REUSEADDR, EXCL };
	uint16_t port = 6400;
	int wrong = 0;

	h_test("Microsoft's table for sharing transport addresses, all 36 cells, datagram "
	       "sockets (WSK-W5, F2)");
	for (int so = 0; so < 3; so++)
		for (int ss = 0; ss < 2; ss++)
			for (int fo = 0; fo < 3; fo++)
				for (int fs = 0; fs < 2; fs++, port++) {
					char cell = table[so][ss][fo][fs];
					NTSTATUS want, got;
					PWSK_SOCKET first = sock(WSK_FLAG_DATAGRAM_SOCKET);
					PWSK_SOCKET second = sock(WSK_FLAG_DATAGRAM_SOCKET);

					want = cell == 'S' ? STATUS_SUCCESS
					       : cell == 'U' ? (ss == fs ? STATUS_ADDRESS_ALREADY_ASSOCIATED
									: STATUS_ADDRESS_ALREADY_EXISTS)
							     : STATUS_ACCESS_DENIED;
					if (opt[fo] != 0)
						H_CHECK_STATUS(set_ulong(first, SOL, opt[fo], 1),
							       STATUS_SUCCESS);
					if (opt[so] != 0)
						H_CHECK_STATUS(set_ulong(second, SOL, opt[so], 1),
							       STATUS_SUCCESS);
					H_CHECK_STATUS(h_bind(first, fs ? h_ip_stack : 0, port),
						       STATUS_SUCCESS);
					got = h_bind(second, ss ? h_ip_stack : 0, port);
					if (got != want) {
						wrong++;
						printf("  W5 cell: second %d/%s, first %d/%s: %s, want "
						       "%s\n", so, ss ? "specific" : "wildcard", fo,
						       fs ? "specific" : "wildcard", DpwNtStatusName(got),
						       DpwNtStatusName(want));
					}
					H_CHECK_STATUS(h_close(second), STATUS_SUCCESS);
					H_CHECK_STATUS(h_close(first), STATUS_SUCCESS);
				}
	H_CHECK(wrong == 0);
}

int main(int argc, char **argv)
{
	PWSK_SOCKET u, u2, u3, t, t2, c, l, a;
	NTSTATUS st;
	int pfd, lfd, fd;

	h_start(argc, argv);

	h_test("defaults, datagram socket: Information and *OutputSizeReturned = sizeof(ULONG) "
	       "(WSK-F9)");
	u = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK(get_ulong(u, SOL, WSK_SO_REUSEADDR, &st) == 0);
	H_CHECK_STATUS(st, STATUS_SUCCESS);
	H_CHECK(get_ulong(u, SOL, EXCL, NULL) == 0);
	H_CHECK(get_ulong(u, SOL, WSK_SO_RCVBUF, NULL) == 256 * 1024);
	H_CHECK(get_ulong(u, SOL, WSK_SO_SNDBUF, NULL) == 64 * 1024);

	h_test("defaults, stream socket: lwIP's window and send buffer, no keepalive, Nagle on (F9)");
	t = sock(WSK_FLAG_STREAM_SOCKET);
	H_CHECK(get_ulong(t, SOL, WSK_SO_RCVBUF, NULL) == 128 * 1024);
	H_CHECK(get_ulong(t, SOL, WSK_SO_SNDBUF, NULL) == 128 * 1024);
	H_CHECK(get_ulong(t, SOL, WSK_SO_KEEPALIVE, NULL) == 0);
	H_CHECK(get_ulong(t, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, NULL) == 0);

	h_test("set, then get back what was set (F9)");
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK(get_ulong(u, SOL, WSK_SO_REUSEADDR, NULL) == 1);
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_REUSEADDR, 0), STATUS_SUCCESS);
	H_CHECK(get_ulong(u, SOL, WSK_SO_REUSEADDR, NULL) == 0);
	H_CHECK_STATUS(set_ulong(u, SOL, EXCL, 1), STATUS_SUCCESS);
	H_CHECK(get_ulong(u, SOL, EXCL, NULL) == 1);
	H_CHECK_STATUS(set_ulong(u, SOL, EXCL, 0), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_RCVBUF, 12345), STATUS_SUCCESS);
	H_CHECK(get_ulong(u, SOL, WSK_SO_RCVBUF, NULL) == 12345);
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_SNDBUF, 4096), STATUS_SUCCESS);
	H_CHECK(get_ulong(u, SOL, WSK_SO_SNDBUF, NULL) == 4096);
	H_CHECK_STATUS(set_ulong(t, SOL, WSK_SO_KEEPALIVE, 1), STATUS_SUCCESS);
	H_CHECK(get_ulong(t, SOL, WSK_SO_KEEPALIVE, NULL) == 1);
	H_CHECK_STATUS(set_ulong(t, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, 1), STATUS_SUCCESS);
	H_CHECK(get_ulong(t, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, NULL) == 1);
	H_CHECK_STATUS(set_ulong(t, SOL, WSK_SO_RCVBUF, 65536), STATUS_SUCCESS);
	H_CHECK(get_ulong(t, SOL, WSK_SO_RCVBUF, NULL) == 65536);

	h_test("glibc's SOL_SOCKET (1) is taken as Windows' 0xffff (F9)");
	H_CHECK_STATUS(set_ulong(u, SOL_SOCKET, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK(get_ulong(u, WSK_SOL_SOCKET, WSK_SO_REUSEADDR, NULL) == 1);
	H_CHECK(get_ulong(u, SOL_SOCKET, WSK_SO_REUSEADDR, NULL) == 1);
	H_CHECK_STATUS(set_ulong(u, SOL_SOCKET, WSK_SO_REUSEADDR, 0), STATUS_SUCCESS);

	h_test("unknown options, levels and IOCTLs: STATUS_NOT_SUPPORTED (F9)");
	H_CHECK_STATUS(set_ulong(u, SOL, 0x1234, 1), STATUS_NOT_SUPPORTED);
	get_ulong(u, SOL, 0x1234, &st);
	H_CHECK_STATUS(st, STATUS_NOT_SUPPORTED);
	H_CHECK_STATUS(set_ulong(u, 0x77, WSK_SO_REUSEADDR, 1), STATUS_NOT_SUPPORTED);
	H_CHECK_STATUS(set_ulong(t, WSK_IPPROTO_TCP, 0x55, 1), STATUS_NOT_SUPPORTED);
	query(u, 0x4F0000FFu, &st);
	H_CHECK_STATUS(st, STATUS_NOT_SUPPORTED);
	/* options that do not apply to the socket's kind */
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_KEEPALIVE, 1), STATUS_NOT_SUPPORTED);
	H_CHECK_STATUS(set_ulong(u, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, 1), STATUS_NOT_SUPPORTED);
	query(u, SIO_WSK_QUERY_IDEAL_SEND_BACKLOG, &st);
	H_CHECK_STATUS(st, STATUS_NOT_SUPPORTED);
	{
		SOCKADDR_IN sa;

		h_sockaddr(&sa, h_ip_peer, 9);
		H_CHECK_STATUS(ctl(t, WskIoctl, SIO_WSK_SET_REMOTE_ADDRESS, 0, &sa, sizeof(sa), NULL,
				   0, NULL),
			       STATUS_NOT_SUPPORTED);
	}
	{
		PWSK_SOCKET b = sock(WSK_FLAG_BASIC_SOCKET);

		H_CHECK_STATUS(set_ulong(b, SOL, WSK_SO_REUSEADDR, 1), STATUS_NOT_SUPPORTED);
		H_CHECK_STATUS(h_close(b), STATUS_SUCCESS);
	}

	h_test("argument checks: no input STATUS_INVALID_PARAMETER, short output "
	       "STATUS_BUFFER_TOO_SMALL (F9, R3)");
	H_CHECK_STATUS(ctl(u, WskSetOption, WSK_SO_RCVBUF, SOL, NULL, 0, NULL, 0, NULL),
		       STATUS_INVALID_PARAMETER);
	{
		USHORT small = 0;
		ULONG_PTR info = 99;

		H_CHECK_STATUS(ctl(u, WskGetOption, WSK_SO_RCVBUF, SOL, NULL, 0, &small,
				   sizeof(small), &info),
			       STATUS_BUFFER_TOO_SMALL);
		H_CHECK(info == 0 && small == 0);
	}
	H_CHECK_STATUS(ctl(u, (WSK_CONTROL_SOCKET_TYPE)7, WSK_SO_RCVBUF, SOL, NULL, 0, NULL, 0,
			   NULL),
		       STATUS_INVALID_PARAMETER);

	h_test("SO_REUSEADDR and SO_EXCLUSIVEADDRUSE exclude each other (F9)");
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(u, SOL, EXCL, 1), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_REUSEADDR, 0), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(u, SOL, EXCL, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_REUSEADDR, 1), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(set_ulong(u, SOL, EXCL, 0), STATUS_SUCCESS);

	h_test("both only before bind: STATUS_INVALID_DEVICE_STATE after (F9)");
	H_CHECK_STATUS(h_bind(u, h_ip_stack, 6100), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(u, SOL, WSK_SO_REUSEADDR, 1), STATUS_INVALID_DEVICE_STATE);
	H_CHECK_STATUS(set_ulong(u, SOL, EXCL, 1), STATUS_INVALID_DEVICE_STATE);
	H_CHECK(get_ulong(u, SOL, WSK_SO_REUSEADDR, NULL) == 0);

	h_test("bind to the very address in use: STATUS_ADDRESS_ALREADY_ASSOCIATED; the wildcard "
	       "beside a specific address, both without options: allowed, as Microsoft's table "
	       "says (WSK-F2, W5)");
	u2 = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(h_bind(u2, h_ip_stack, 6100), STATUS_ADDRESS_ALREADY_ASSOCIATED);
	/* a failed bind leaves the socket usable */
	H_CHECK_STATUS(h_bind(u2, 0, 6100), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(u2), STATUS_SUCCESS);

	h_test("bind to an address that is not the stack's: STATUS_INVALID_ADDRESS_COMPONENT");
	u2 = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(h_bind(u2, h_ip_peer, 6100), STATUS_INVALID_ADDRESS_COMPONENT);
	H_CHECK_STATUS(h_close(u2), STATUS_SUCCESS);

	h_test("two datagram sockets with SO_REUSEADDR share an address; one alone does not (F2)");
	u2 = sock(WSK_FLAG_DATAGRAM_SOCKET);
	u3 = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_ulong(u2, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(u3, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(u2, h_ip_stack, 6101), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(u3, 0, 6101), STATUS_SUCCESS);
	{
		PWSK_SOCKET x = sock(WSK_FLAG_DATAGRAM_SOCKET), y;

		/* W5: no option against SO_REUSEADDR holders (specific and wildcard): denied */
		H_CHECK_STATUS(h_bind(x, h_ip_stack, 6101), STATUS_ACCESS_DENIED);
		/* the first socket without it: a second with it still cannot join */
		H_CHECK_STATUS(set_ulong(x, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
		H_CHECK_STATUS(h_bind(x, h_ip_stack, 6101), STATUS_SUCCESS);   /* all three share */
		y = sock(WSK_FLAG_DATAGRAM_SOCKET);
		H_CHECK_STATUS(set_ulong(y, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
		H_CHECK_STATUS(h_bind(y, h_ip_stack, 6100), STATUS_ACCESS_DENIED);   /* W5 */

		h_test("SO_EXCLUSIVEADDRUSE: no sharing of its specific address, whoever has "
		       "SO_REUSEADDR; SO_REUSEADDR on the wildcard beside it is allowed (F2, F9, "
		       "W5)");
		H_CHECK_STATUS(h_close(y), STATUS_SUCCESS);
		y = sock(WSK_FLAG_DATAGRAM_SOCKET);
		H_CHECK_STATUS(set_ulong(y, SOL, EXCL, 1), STATUS_SUCCESS);
		H_CHECK_STATUS(h_bind(y, h_ip_stack, 6101), STATUS_ACCESS_DENIED);
		H_CHECK_STATUS(h_bind(y, h_ip_stack, 6102), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
		x = sock(WSK_FLAG_DATAGRAM_SOCKET);
		H_CHECK_STATUS(set_ulong(x, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
		H_CHECK_STATUS(h_bind(x, 0, 6102), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(y), STATUS_SUCCESS);
	}

	h_test("a datagram to the shared address reaches one of the sharing sockets (F2)");
	pfd = peer_udp();
	{
		DPW_DATAGRAM_STATS s0;

		DpwGetDatagramStats(&s0);
		received_target = s0.Received + 1;
		H_CHECK(peer_send(pfd, "shared", 6, 6101));
		H_CHECK(h_pump_until(h_datagrams_received, &received_target, 5000));
		H_CHECK(query(u2, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL) +
				query(u3, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL) == 6);
	}
	H_CHECK_STATUS(h_close(u3), STATUS_SUCCESS);

	h_test("the address is free again once its socket is closed (F2)");
	H_CHECK_STATUS(h_close(u), STATUS_SUCCESS);
	u = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(h_bind(u, h_ip_stack, 6100), STATUS_SUCCESS);

	h_test("SO_RCVBUF bounds a datagram socket's queue in bytes; the rest is dropped and "
	       "counted (F9)");
	{
		static char d300[300];
		DPW_DATAGRAM_STATS s0, s1;

		H_CHECK_STATUS(h_close(u2), STATUS_SUCCESS);
		u2 = sock(WSK_FLAG_DATAGRAM_SOCKET);
		H_CHECK_STATUS(set_ulong(u2, SOL, WSK_SO_RCVBUF, 1000), STATUS_SUCCESS);
		H_CHECK_STATUS(h_bind(u2, h_ip_stack, 6103), STATUS_SUCCESS);
		DpwGetDatagramStats(&s0);
		for (int i = 0; i < 10; i++) {
			H_CHECK(peer_send(pfd, d300, sizeof(d300), 6103));
			received_target = s0.Received + (ULONGLONG)i + 1;
			H_CHECK(h_pump_until(h_datagrams_received, &received_target, 5000));
		}
		/* The last drop may be counted a moment after its datagram (h_datagrams_dropped). */
		drops_target = s0.QueueDrops + 7;
		H_CHECK(h_pump_until(h_datagrams_dropped, &drops_target, 5000));
		DpwGetDatagramStats(&s1);
		H_CHECK(query(u2, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL) == 900);
		H_CHECK(s1.QueueDrops - s0.QueueDrops == 7);
		/* 0: an empty queue still takes one datagram */
		H_CHECK_STATUS(h_close(u2), STATUS_SUCCESS);
		u2 = sock(WSK_FLAG_DATAGRAM_SOCKET);
		H_CHECK_STATUS(set_ulong(u2, SOL, WSK_SO_RCVBUF, 0), STATUS_SUCCESS);
		H_CHECK(get_ulong(u2, SOL, WSK_SO_RCVBUF, NULL) == 0);
		H_CHECK_STATUS(h_bind(u2, h_ip_stack, 6103), STATUS_SUCCESS);
		DpwGetDatagramStats(&s0);
		H_CHECK(peer_send(pfd, d300, sizeof(d300), 6103));
		H_CHECK(peer_send(pfd, d300, 10, 6103));
		received_target = s0.Received + 2;
		H_CHECK(h_pump_until(h_datagrams_received, &received_target, 5000));
		drops_target = s0.QueueDrops + 1;
		H_CHECK(h_pump_until(h_datagrams_dropped, &drops_target, 5000));
		DpwGetDatagramStats(&s1);
		H_CHECK(query(u2, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL) == 300);
		H_CHECK(s1.QueueDrops - s0.QueueDrops == 1);
		H_CHECK_STATUS(h_close(u2), STATUS_SUCCESS);
	}
	close(pfd);

	h_test("TCP: a bound port conflicts unless both sockets have SO_REUSEADDR (F2, W5: "
	       "STATUS_ACCESS_DENIED when the first has it and the second not)");
	t2 = sock(WSK_FLAG_CONNECTION_SOCKET);
	H_CHECK_STATUS(set_ulong(t, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(t, h_ip_stack, 6110), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(t2, h_ip_stack, 6110), STATUS_ACCESS_DENIED);

	h_test("SO_REUSEADDR set after a failed bind reaches the socket's transport (F2, F9)");
	H_CHECK_STATUS(set_ulong(t2, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(t2, h_ip_stack, 6110), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(t2), STATUS_SUCCESS);
	t2 = sock(WSK_FLAG_CONNECTION_SOCKET);
	H_CHECK_STATUS(set_ulong(t2, SOL, EXCL, 1), STATUS_SUCCESS);
	/* W5: SO_EXCLUSIVEADDRUSE on the wildcard over specific holders: in use (the table's
	 * STATUS_ADDRESS_ALREADY_EXISTS: the address overlaps, it is not the same) */
	H_CHECK_STATUS(h_bind(t2, 0, 6110), STATUS_ADDRESS_ALREADY_EXISTS);
	H_CHECK_STATUS(h_close(t2), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(t), STATUS_SUCCESS);

	h_test("two listening sockets with SO_REUSEADDR on the same address both listen, and "
	       "either takes connections (W5: the table's SUCCESS, as Windows lets them)");
	{
		PWSK_SOCKET l1 = sock(WSK_FLAG_LISTEN_SOCKET), l2 = sock(WSK_FLAG_LISTEN_SOCKET);
		PWSK_SOCKET s3 = sock(WSK_FLAG_STREAM_SOCKET), got = NULL;

		H_CHECK_STATUS(set_ulong(l1, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
		H_CHECK_STATUS(set_ulong(l2, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
		H_CHECK_STATUS(set_ulong(s3, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
		H_CHECK_STATUS(h_bind(l1, h_ip_stack, 6115), STATUS_SUCCESS);   /* listens */
		H_CHECK_STATUS(h_bind(l2, h_ip_stack, 6115), STATUS_SUCCESS);   /* listens too */
		/* the one that took connections goes: the other has been listening all along */
		H_CHECK_STATUS(h_close(l2), STATUS_SUCCESS);
		fd = peer_connect(6115);
		H_CHECK(fd >= 0);
		H_CHECK_STATUS(h_accept(l1, NULL, NULL, NULL, NULL, &got), STATUS_SUCCESS);
		if (got != NULL)
			H_CHECK_STATUS(h_close(got), STATUS_SUCCESS);
		close(fd);
		/* a stream socket's WskListen (after its bind) on the address l1 listens on */
		H_CHECK_STATUS(h_bind(s3, h_ip_stack, 6115), STATUS_SUCCESS);
		H_CHECK_STATUS(h_listen(s3), STATUS_SUCCESS);
		H_CHECK_STATUS(h_close(l1), STATUS_SUCCESS);
		got = NULL;
		fd = peer_connect(6115);
		H_CHECK(fd >= 0);
		H_CHECK_STATUS(h_accept(s3, NULL, NULL, NULL, NULL, &got), STATUS_SUCCESS);
		if (got != NULL)
			H_CHECK_STATUS(h_close(got), STATUS_SUCCESS);
		close(fd);
		H_CHECK_STATUS(h_close(s3), STATUS_SUCCESS);
	}

	h_test("SO_KEEPALIVE and TCP_NODELAY set before connect are on the connection (F9)");
	lfd = peer_listen(6120);
	c = sock(WSK_FLAG_STREAM_SOCKET);
	H_CHECK_STATUS(set_ulong(c, SOL, WSK_SO_KEEPALIVE, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(c, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, 1), STATUS_SUCCESS);
	query(c, SIO_WSK_QUERY_RECEIVE_BACKLOG, &st);
	H_CHECK_STATUS(st, STATUS_INVALID_DEVICE_STATE);   /* not connected yet */
	query(c, SIO_WSK_QUERY_IDEAL_SEND_BACKLOG, &st);
	H_CHECK_STATUS(st, STATUS_INVALID_DEVICE_STATE);
	H_CHECK_STATUS(h_bind(c, 0, 0), STATUS_SUCCESS);
	H_CHECK_STATUS(h_connect(c, h_ip_peer, 6120), STATUS_SUCCESS);
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);
	H_CHECK(get_ulong(c, SOL, WSK_SO_KEEPALIVE, NULL) == 1);
	H_CHECK(get_ulong(c, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, NULL) == 1);
	H_CHECK_STATUS(set_ulong(c, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, 0), STATUS_SUCCESS);
	H_CHECK(get_ulong(c, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, NULL) == 0);
	H_CHECK_STATUS(set_ulong(c, SOL, WSK_SO_KEEPALIVE, 0), STATUS_SUCCESS);
	H_CHECK(get_ulong(c, SOL, WSK_SO_KEEPALIVE, NULL) == 0);

	h_test("SIO_WSK_QUERY_RECEIVE_BACKLOG: bytes the peer sent, not yet received (F9)");
	{
		static char data[1000], got[1000];
		struct backlog_wait w = { c, 1000 };
		size_t n = 0;

		memset(data, 'k', sizeof(data));
		H_CHECK(query(c, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL) == 0);
		H_CHECK(peer_write_all(fd, data, sizeof(data)));
		H_CHECK(h_pump_until(backlog_is, &w, 5000));
		H_CHECK_STATUS(h_receive(c, got, sizeof(got), WSK_FLAG_WAITALL, &n), STATUS_SUCCESS);
		H_CHECK(n == 1000 && memcmp(got, data, n) == 0);
		H_CHECK(query(c, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL) == 0);
	}

	h_test("SIO_WSK_QUERY_IDEAL_SEND_BACKLOG: lwIP's send buffer (F9)");
	H_CHECK(query(c, SIO_WSK_QUERY_IDEAL_SEND_BACKLOG, NULL) == 128 * 1024);
	H_CHECK_STATUS(h_close(c), STATUS_SUCCESS);
	close(fd);
	close(lfd);

	h_test("an accepted connection inherits its listener's options (F9)");
	l = sock(WSK_FLAG_LISTEN_SOCKET);
	H_CHECK_STATUS(set_ulong(l, SOL, WSK_SO_REUSEADDR, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(l, SOL, WSK_SO_KEEPALIVE, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(l, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(l, SOL, WSK_SO_RCVBUF, 5000), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(l, h_ip_stack, 6130), STATUS_SUCCESS);   /* listens on bind */
	H_CHECK(get_ulong(l, SOL, WSK_SO_KEEPALIVE, NULL) == 1);
	H_CHECK(get_ulong(l, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, NULL) == 1);
	fd = peer_connect(6130);
	H_CHECK(fd >= 0);
	{
		SOCKADDR_IN local, remote;

		H_CHECK_STATUS(h_accept(l, NULL, NULL, &local, &remote, &a), STATUS_SUCCESS);
	}
	if (a != NULL) {
		H_CHECK(get_ulong(a, SOL, WSK_SO_KEEPALIVE, NULL) == 1);
		H_CHECK(get_ulong(a, WSK_IPPROTO_TCP, WSK_TCP_NODELAY, NULL) == 1);
		H_CHECK(get_ulong(a, SOL, WSK_SO_REUSEADDR, NULL) == 1);
		H_CHECK(get_ulong(a, SOL, WSK_SO_RCVBUF, NULL) == 5000);
		H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	}
	close(fd);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);

	h_test("options of a closed socket: STATUS_INVALID_HANDLE (C6)");
	H_CHECK_STATUS(set_ulong(l, SOL, WSK_SO_REUSEADDR, 1), STATUS_INVALID_HANDLE);
	H_CHECK_STATUS(h_close(u), STATUS_SUCCESS);

	test_sharing_table();
	return h_finish();
}
