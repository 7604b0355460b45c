/* Bad input gets a status, never a crash (WSK-R3, R4, R5, F1, F2, C6, R1; ours where Windows
 * would crash): NULL IRPs, NULL and garbage sockets, calls through the wrong category's
 * table, bad flags, bad WSK_BUFs, unsupported options, calls in the wrong state, addresses in
 * use, a refused connect, an IRP given twice, registration misuse, and calls through a closed
 * socket. Every failed call must also complete its IRP with the same status, once (R3, R2). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

#define PEER_PORT   5401
#define CLOSED_PORT 5499   /* nothing listens there on the peer */
#define STACK_PORT  6101

/* A call that fails: it returns want, and its IRP completes with want, 0 bytes, once. The
 * call expression names its IRP IRP. */
#define EXPECT(want, call)                                                              \
	do {                                                                            \
		struct h_irp x_;                                                        \
		h_irp_init(&x_);                                                        \
		{                                                                       \
			PIRP IRP = x_.irp;                                              \
			h_check_status((call), (want), #call, __FILE__, __LINE__);      \
		}                                                                       \
		H_CHECK(h_wait(&x_, 2000));                                             \
		H_CHECK_STATUS(x_.status, want);                                        \
		H_CHECK(x_.info == 0);                                                  \
		H_CHECK(x_.completions == 1);                                           \
		h_irp_free(&x_);                                                        \
	} while (0)

/* The same for a failure that only the polling core can tell (the socket's state): the call
 * may return STATUS_PENDING first (R3: the result comes later), or the status itself. */
#define EXPECT_LATER(want, call)                                                        \
	do {                                                                            \
		struct h_irp x_;                                                        \
		NTSTATUS r_;                                                            \
		h_irp_init(&x_);                                                        \
		{                                                                       \
			PIRP IRP = x_.irp;                                              \
			r_ = (call);                                                    \
		}                                                                       \
		if (r_ != STATUS_PENDING)                                               \
			h_check_status(r_, (want), #call, __FILE__, __LINE__);          \
		H_CHECK(h_wait(&x_, 2000));                                             \
		h_check_status(x_.status, (want), #call " completed", __FILE__, __LINE__); \
		H_CHECK(x_.info == 0);                                                  \
		H_CHECK(x_.completions == 1);                                           \
		h_irp_free(&x_);                                                        \
	} while (0)

/* A call without an IRP: STATUS_INVALID_PARAMETER at once (R3). */
#define EXPECT_NULL_IRP(call)                                                           \
	h_check_status((call), STATUS_INVALID_PARAMETER, #call, __FILE__, __LINE__)

static ULONGLONG completions_posted(void)
{
	DPW_PROVIDER_STATS ps;

	DpwGetProviderStats(&ps);
	return ps.Completions;
}

/* The tables of each category, from sockets of that category (R5). */
static const WSK_PROVIDER_STREAM_DISPATCH *SD;
static const WSK_PROVIDER_CONNECTION_DISPATCH *CD;
static const WSK_PROVIDER_LISTEN_DISPATCH *LD;

static PWSK_SOCKET s_conn;    /* a stream socket connected to the peer */
static PWSK_SOCKET s_listen;  /* a listen-category socket, listening on STACK_PORT */
static PWSK_SOCKET s_cs;      /* a connection socket, unbound */
static int peer_fd = -1;

static char data[64];
static MDL mdl;
static WSK_BUF good;          /* 16 bytes of data */
static SOCKADDR_IN any, peer;

static void test_null_irp(void)
{
	const WSK_PROVIDER_NPI *n = &h_npi;
	PWSK_SOCKET s = s_conn, l = s_listen, cs = s_cs;
	ULONGLONG before = completions_posted();
	WSK_INSPECT_ID id = { 0, 0 };
	ULONG ulong = 0;

	h_test("NULL IRP: STATUS_INVALID_PARAMETER at once, nothing completed, for every "
	       "function that takes one (WSK-R3)");
	EXPECT_NULL_IRP(n->Dispatch->WskSocket(n->Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
					       WSK_FLAG_STREAM_SOCKET, NULL, NULL, NULL, NULL,
					       NULL, NULL));
	EXPECT_NULL_IRP(n->Dispatch->WskSocketConnect(n->Client, SOCK_STREAM, IPPROTO_TCP,
						      (PSOCKADDR)&any, (PSOCKADDR)&peer, 0, NULL,
						      NULL, NULL, NULL, NULL, NULL));
	EXPECT_NULL_IRP(n->Dispatch->WskGetAddressInfo(n->Client, NULL, NULL, 0, NULL, NULL, NULL,
						       NULL, NULL, NULL));
	EXPECT_NULL_IRP(n->Dispatch->WskGetNameInfo(n->Client, (PSOCKADDR)&peer, sizeof(peer),
						    NULL, NULL, 0, NULL, NULL, NULL));
	EXPECT_NULL_IRP(SD->WskControlSocket(s, WskGetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
					     0, NULL, 0, NULL, NULL, NULL));
	EXPECT_NULL_IRP(SD->WskCloseSocket(s, NULL));
	EXPECT_NULL_IRP(CD->WskBind(cs, (PSOCKADDR)&any, 0, NULL));
	EXPECT_NULL_IRP(CD->WskConnect(cs, (PSOCKADDR)&peer, 0, NULL));
	EXPECT_NULL_IRP(SD->WskListen(s, NULL));
	EXPECT_NULL_IRP(LD->WskAccept(l, 0, NULL, NULL, NULL, NULL, NULL));
	EXPECT_NULL_IRP(LD->WskInspectComplete(l, &id, WskInspectAccept, NULL));
	EXPECT_NULL_IRP(SD->WskSend(s, &good, 0, NULL));
	EXPECT_NULL_IRP(SD->WskReceive(s, &good, 0, NULL));
	EXPECT_NULL_IRP(SD->WskDisconnect(s, NULL, 0, NULL));
	EXPECT_NULL_IRP(SD->WskGetLocalAddress(s, (PSOCKADDR)&any, NULL));
	EXPECT_NULL_IRP(SD->WskGetRemoteAddress(s, (PSOCKADDR)&any, NULL));
	EXPECT_NULL_IRP(SD->WskConnectEx(s, (PSOCKADDR)&peer, NULL, 0, NULL));
	EXPECT_NULL_IRP(SD->WskSendEx(s, &good, 0, 0, NULL, NULL));
	EXPECT_NULL_IRP(SD->WskReceiveEx(s, &good, 0, &ulong, NULL, &ulong, NULL));
	h_pump(100);
	H_CHECK(completions_posted() == before);          /* nothing completed */
	/* The socket the NULL-IRP close was aimed at is still open and working. */
	H_CHECK_STATUS(h_send(s, "alive", 5, 0), STATUS_SUCCESS);
	H_CHECK(peer_read_all(peer_fd, data + 32, 5, 5000) == 5);
}

static void test_null_and_garbage_socket(void)
{
	PWSK_SOCKET bad[3];
	WSK_SOCKET fake = { SD };
	const char *names[3] = { "NULL socket", "a fake WSK_SOCKET (garbage pointer)",
				 "a misaligned pointer into a real socket" };
	SOCKADDR_IN sa;

	bad[0] = NULL;
	bad[1] = &fake;
	bad[2] = (PWSK_SOCKET)((char *)s_conn + 8);
	for (int i = 0; i < 3; i++) {
		PWSK_SOCKET b = bad[i];
		char title[160];

		snprintf(title, sizeof(title),
			 "%s: STATUS_INVALID_HANDLE, the IRP completed with it (WSK-R3, C6, ours)",
			 names[i]);
		h_test(title);
		EXPECT(STATUS_INVALID_HANDLE,
		       SD->WskControlSocket(b, WskGetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET, 0,
					    NULL, 0, NULL, NULL, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskCloseSocket(b, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskBind(b, (PSOCKADDR)&any, 0, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskConnect(b, (PSOCKADDR)&peer, 0, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskListen(b, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskAccept(b, 0, NULL, NULL, NULL, NULL, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskSend(b, &good, 0, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskReceive(b, &good, 0, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskDisconnect(b, NULL, 0, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskGetLocalAddress(b, (PSOCKADDR)&sa, IRP));
		EXPECT(STATUS_INVALID_HANDLE, SD->WskGetRemoteAddress(b, (PSOCKADDR)&sa, IRP));
		/* WskRelease has no IRP: only a status. */
		H_CHECK(SD->WskRelease(b, (PWSK_DATA_INDICATION)&good) != STATUS_SUCCESS);
	}
	/* The real socket next to the misaligned pointer is unharmed. */
	H_CHECK_STATUS(h_send(s_conn, "still", 5, 0), STATUS_SUCCESS);
	H_CHECK(peer_read_all(peer_fd, data + 32, 5, 5000) == 5);
}

static void test_wrong_category(void)
{
	SOCKADDR_IN sa;

	h_test("WskSend on a listen socket (through the stream table): "
	       "STATUS_INVALID_DEVICE_REQUEST (WSK-R5)");
	EXPECT(STATUS_INVALID_DEVICE_REQUEST, SD->WskSend(s_listen, &good, 0, IRP));
	EXPECT(STATUS_INVALID_DEVICE_REQUEST, SD->WskReceive(s_listen, &good, 0, IRP));
	EXPECT(STATUS_INVALID_DEVICE_REQUEST, SD->WskConnect(s_listen, (PSOCKADDR)&peer, 0, IRP));
	EXPECT(STATUS_INVALID_DEVICE_REQUEST,
	       SD->WskGetRemoteAddress(s_listen, (PSOCKADDR)&sa, IRP));

	h_test("WskListen on a connection socket (through the stream table): "
	       "STATUS_INVALID_DEVICE_REQUEST (WSK-R5)");
	EXPECT(STATUS_INVALID_DEVICE_REQUEST, SD->WskListen(s_cs, IRP));
	EXPECT(STATUS_INVALID_DEVICE_REQUEST, SD->WskAccept(s_cs, 0, NULL, NULL, NULL, NULL, IRP));

	h_test("WskListen on a listen-category socket: STATUS_INVALID_DEVICE_REQUEST (WSK-R5)");
	EXPECT(STATUS_INVALID_DEVICE_REQUEST, SD->WskListen(s_listen, IRP));
}

static void test_bad_flags(void)
{
	PWSK_SOCKET s = s_conn;
	WSK_BUF none = { NULL, 0, 0 };

	h_test("WskSend with an unknown flag: STATUS_INVALID_PARAMETER (WSK-R3, F3)");
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskSend(s, &good, 0x00100000, IRP));

	h_test("WskReceive with WAITALL | DRAIN: STATUS_INVALID_PARAMETER (WSK-F4)");
	EXPECT(STATUS_INVALID_PARAMETER,
	       SD->WskReceive(s, &none, WSK_FLAG_WAITALL | WSK_FLAG_DRAIN, IRP));

	h_test("WskReceive, WskDisconnect, WskAccept with unknown flags: STATUS_INVALID_PARAMETER "
	       "(WSK-R3)");
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskReceive(s, &good, 0x00100000, IRP));
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskDisconnect(s, NULL, 0x00100000, IRP));
	EXPECT(STATUS_INVALID_PARAMETER, LD->WskAccept(s_listen, 0x00100000, NULL, NULL, NULL,
						       NULL, IRP));

	h_test("WskSocket with an unknown category flag: STATUS_INVALID_PARAMETER (WSK-R5)");
	EXPECT(STATUS_INVALID_PARAMETER,
	       h_npi.Dispatch->WskSocket(h_npi.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
					 WSK_FLAG_LISTEN_SOCKET | WSK_FLAG_CONNECTION_SOCKET, NULL,
					 NULL, NULL, NULL, NULL, IRP));
	h_test("WskSocket with a type or protocol its category cannot carry (a stream socket of "
	       "UDP, a datagram socket of SOCK_STREAM): STATUS_INVALID_PARAMETER (WSK-R5)");
	EXPECT(STATUS_INVALID_PARAMETER,
	       h_npi.Dispatch->WskSocket(h_npi.Client, AF_INET, SOCK_STREAM, IPPROTO_UDP,
					 WSK_FLAG_STREAM_SOCKET, NULL, NULL, NULL, NULL, NULL, IRP));
	EXPECT(STATUS_INVALID_PARAMETER,
	       h_npi.Dispatch->WskSocket(h_npi.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
					 WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, NULL, NULL, NULL,
					 IRP));
	EXPECT(STATUS_INVALID_PARAMETER,
	       h_npi.Dispatch->WskSocket(h_npi.Client, AF_INET, SOCK_DGRAM, IPPROTO_TCP,
					 WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, NULL, NULL, NULL,
					 IRP));
	/* The socket the rejected calls named is fine. */
	H_CHECK_STATUS(h_send(s, "ok", 2, 0), STATUS_SUCCESS);
	H_CHECK(peer_read_all(peer_fd, data + 32, 2, 5000) == 2);
}

/* W4: Windows creates a datagram socket with the listen flag and fails its bind. */
static void test_datagram_listen(void)
{
	struct h_irp x;
	PWSK_SOCKET d = NULL;
	SOCKADDR_IN sa;
	NTSTATUS st;

	h_test("a datagram socket made with the listen flag: created, with the listen table; "
	       "WskBind fails with STATUS_NOT_IMPLEMENTED; close succeeds (WSK-W4)");
	h_irp_init(&x);
	st = h_npi.Dispatch->WskSocket(h_npi.Client, AF_INET, SOCK_DGRAM, IPPROTO_UDP,
				       WSK_FLAG_LISTEN_SOCKET, NULL, NULL, NULL, NULL, NULL, x.irp);
	H_CHECK(st == STATUS_PENDING || st == STATUS_SUCCESS);
	H_CHECK(h_wait(&x, 2000));
	H_CHECK_STATUS(x.status, STATUS_SUCCESS);
	d = x.status == STATUS_SUCCESS ? (PWSK_SOCKET)x.info : NULL;
	h_irp_free(&x);
	if (d == NULL)
		return;
	H_CHECK(d->Dispatch == LD);
	h_sockaddr(&sa, h_ip_stack, 6199);
	EXPECT_LATER(STATUS_NOT_IMPLEMENTED, LD->WskBind(d, (PSOCKADDR)&sa, 0, IRP));
	H_CHECK_STATUS(h_close(d), STATUS_SUCCESS);
}

static void test_bad_buffers(void)
{
	PWSK_SOCKET s = s_conn;
	WSK_BUF b;

	h_test("a WSK_BUF longer than its MDL chain: STATUS_INVALID_PARAMETER (WSK-R4, ours)");
	b = good;
	b.Length = MmGetMdlByteCount(&mdl) + 1;
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskSend(s, &b, 0, IRP));
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskReceive(s, &b, 0, IRP));
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskDisconnect(s, &b, 0, IRP));

	h_test("an Offset outside the first MDL: STATUS_INVALID_PARAMETER (WSK-R4, ours)");
	b = good;
	b.Offset = MmGetMdlByteCount(&mdl) + 1;
	b.Length = 1;
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskSend(s, &b, 0, IRP));
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskReceive(s, &b, 0, IRP));
	b.Offset = MmGetMdlByteCount(&mdl);   /* the very end, with bytes asked for */
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskSend(s, &b, 0, IRP));

	h_test("a NULL MDL with a non-zero Length: STATUS_INVALID_PARAMETER (WSK-R4, ours)");
	b.Mdl = NULL;
	b.Offset = 0;
	b.Length = 10;
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskSend(s, &b, 0, IRP));
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskReceive(s, &b, 0, IRP));

	h_test("a NULL WSK_BUF for WskSend and WskReceive: STATUS_INVALID_PARAMETER (WSK-R4)");
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskSend(s, NULL, 0, IRP));
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskReceive(s, NULL, 0, IRP));

	/* Nothing of the refused sends went out: the peer reads only what comes next. */
	H_CHECK_STATUS(h_send(s, "clean", 5, 0), STATUS_SUCCESS);
	memset(data + 32, 0, 16);
	H_CHECK(peer_read_all(peer_fd, data + 32, 5, 5000) == 5 &&
		memcmp(data + 32, "clean", 5) == 0);
	H_CHECK(peer_read(peer_fd, data + 32, 16, 100) == -ETIMEDOUT);
}

static void test_bad_addresses(void)
{
	SOCKADDR_IN sa;
	PWSK_SOCKET s;

	h_test("bind/connect with a NULL or unknown-family address: a status, not a crash "
	       "(WSK-R3, ours)");
	if (!H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS))
		return;
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskBind(s, NULL, 0, IRP));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = 99;
	H_CHECK(SD->WskBind(s, (PSOCKADDR)&sa, 0, NULL) == STATUS_INVALID_PARAMETER);
	{
		struct h_irp x;

		h_irp_init(&x);
		H_CHECK(SD->WskBind(s, (PSOCKADDR)&sa, 0, x.irp) != STATUS_SUCCESS);
		H_CHECK(h_wait(&x, 2000) && !NT_SUCCESS(x.status));
		h_irp_free(&x);
	}
	EXPECT(STATUS_INVALID_PARAMETER, SD->WskConnect(s, NULL, 0, IRP));
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
}

static void test_unsupported_option(void)
{
	PWSK_SOCKET s = s_conn;
	ULONG v = 1;
	SIZE_T used = 99;

	h_test("an unsupported option: STATUS_NOT_SUPPORTED (WSK-F9)");
	EXPECT_LATER(STATUS_NOT_SUPPORTED,
		     SD->WskControlSocket(s, WskSetOption, 0x7777, SOL_SOCKET, sizeof(v), &v, 0,
					  NULL, NULL, IRP));
	EXPECT_LATER(STATUS_NOT_SUPPORTED,
		     SD->WskControlSocket(s, WskGetOption, 0x7777, SOL_SOCKET, 0, NULL, sizeof(v),
					  &v, &used, IRP));
	EXPECT_LATER(STATUS_NOT_SUPPORTED,
		     SD->WskControlSocket(s, WskIoctl, 0x4F0000FFu, 0, 0, NULL, sizeof(v), &v,
					  &used, IRP));
	H_CHECK(used == 0);

	h_test("an unknown WskControlClient code: STATUS_NOT_SUPPORTED (WSK-F9)");
	H_CHECK_STATUS(h_npi.Dispatch->WskControlClient(h_npi.Client, 0x7777, 0, NULL, 0, NULL,
							NULL, NULL),
		       STATUS_NOT_SUPPORTED);

	h_test("an unknown WskControlClient code with an IRP: refused, and the IRP completes with "
	       "the same status, once (WSK-F9, R3)");
	EXPECT(STATUS_NOT_SUPPORTED,
	       h_npi.Dispatch->WskControlClient(h_npi.Client, 0x7777, 0, NULL, 0, NULL, NULL,
						IRP));
}

static void test_wrong_state(void)
{
	PWSK_SOCKET s;
	SOCKADDR_IN sa;

	h_test("WskConnect and WskConnectEx on an unbound socket: STATUS_INVALID_DEVICE_STATE, "
	       "returned at once as Windows does (WSK-F1, W3)");
	EXPECT(STATUS_INVALID_DEVICE_STATE, CD->WskConnect(s_cs, (PSOCKADDR)&peer, 0, IRP));
	EXPECT(STATUS_INVALID_DEVICE_STATE,
	       CD->WskConnectEx(s_cs, (PSOCKADDR)&peer, NULL, 0, IRP));

	h_test("WskGetLocalAddress on an unbound socket: STATUS_INVALID_DEVICE_STATE (WSK-F1)");
	EXPECT_LATER(STATUS_INVALID_DEVICE_STATE,
		     CD->WskGetLocalAddress(s_cs, (PSOCKADDR)&sa, IRP));

	h_test("WskGetRemoteAddress on a bound, unconnected socket: STATUS_INVALID_DEVICE_STATE "
	       "(WSK-F1)");
	if (H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS)) {
		EXPECT_LATER(STATUS_INVALID_DEVICE_STATE,
			     SD->WskGetRemoteAddress(s, (PSOCKADDR)&sa, IRP));
		H_CHECK_STATUS(h_bind(s, 0, 0), STATUS_SUCCESS);
		EXPECT_LATER(STATUS_INVALID_DEVICE_STATE,
			     SD->WskGetRemoteAddress(s, (PSOCKADDR)&sa, IRP));
		H_CHECK_STATUS(h_local_address(s, &sa), STATUS_SUCCESS);   /* bound: fine */

		h_test("WskSend and WskReceive on an unconnected socket: an error status, not a "
		       "hang (WSK-R3)");
		H_CHECK(h_send(s, "x", 1, 0) != STATUS_SUCCESS);
		H_CHECK_STATUS(h_receive(s, data, 1, 0, NULL), STATUS_INVALID_DEVICE_STATE);

		h_test("WskAccept on a stream socket that is not listening: "
		       "STATUS_INVALID_DEVICE_STATE (WSK-F6)");
		EXPECT_LATER(STATUS_INVALID_DEVICE_STATE,
			     SD->WskAccept(s, 0, NULL, NULL, NULL, NULL, IRP));
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	}
}

static void test_twice(void)
{
	PWSK_SOCKET s, l;
	SOCKADDR_IN sa;

	h_test("a second WskBind on a bound socket: STATUS_INVALID_DEVICE_STATE (WSK-F1, R3)");
	if (!H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS))
		return;
	H_CHECK_STATUS(h_bind(s, h_ip_stack, STACK_PORT + 3), STATUS_SUCCESS);
	h_sockaddr(&sa, h_ip_stack, STACK_PORT + 4);
	EXPECT_LATER(STATUS_INVALID_DEVICE_STATE, SD->WskBind(s, (PSOCKADDR)&sa, 0, IRP));

	h_test("a second WskListen on a listening socket: STATUS_INVALID_DEVICE_STATE (WSK-R3)");
	H_CHECK_STATUS(h_listen(s), STATUS_SUCCESS);
	EXPECT_LATER(STATUS_INVALID_DEVICE_STATE, SD->WskListen(s, IRP));

	h_test("WskConnect on a listening socket: STATUS_INVALID_DEVICE_STATE (WSK-R3)");
	EXPECT_LATER(STATUS_INVALID_DEVICE_STATE, SD->WskConnect(s, (PSOCKADDR)&peer, 0, IRP));
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);

	h_test("WskConnect on a connected socket: STATUS_INVALID_DEVICE_STATE (WSK-R3)");
	EXPECT_LATER(STATUS_INVALID_DEVICE_STATE, SD->WskConnect(s_conn, (PSOCKADDR)&peer, 0, IRP));
	H_CHECK_STATUS(h_send(s_conn, "fine", 4, 0), STATUS_SUCCESS);   /* unharmed */
	H_CHECK(peer_read_all(peer_fd, data + 32, 4, 5000) == 4);

	h_test("WskAccept on an unbound listen-category socket: STATUS_INVALID_DEVICE_STATE "
	       "(WSK-F6)");
	if (H_CHECK_STATUS(h_socket(WSK_FLAG_LISTEN_SOCKET, NULL, NULL, &l), STATUS_SUCCESS)) {
		EXPECT_LATER(STATUS_INVALID_DEVICE_STATE,
			     LD->WskAccept(l, 0, NULL, NULL, NULL, NULL, IRP));
		H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
	}
}

static void test_address_in_use(void)
{
	PWSK_SOCKET a, b;

	h_test("bind to a port another socket has bound: STATUS_ADDRESS_ALREADY_ASSOCIATED "
	       "(WSK-F2)");
	H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &a), STATUS_SUCCESS);
	H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &b), STATUS_SUCCESS);
	if (a == NULL || b == NULL)
		return;
	H_CHECK_STATUS(h_bind(a, h_ip_stack, STACK_PORT + 1), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(b, h_ip_stack, STACK_PORT + 1), STATUS_ADDRESS_ALREADY_ASSOCIATED);

	h_test("bind to a listening socket's port: STATUS_ADDRESS_ALREADY_ASSOCIATED (WSK-F2)");
	H_CHECK_STATUS(h_bind(b, h_ip_stack, STACK_PORT), STATUS_ADDRESS_ALREADY_ASSOCIATED);
	/* Refused binds leave the socket usable: another port works. */
	H_CHECK_STATUS(h_bind(b, h_ip_stack, STACK_PORT + 2), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(b), STATUS_SUCCESS);
}

static void test_refused(void)
{
	PWSK_SOCKET s;

	h_test("connect to a closed Linux port: STATUS_CONNECTION_REFUSED (WSK-R6)");
	H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS);
	if (s == NULL)
		return;
	H_CHECK_STATUS(h_bind(s, 0, 0), STATUS_SUCCESS);
	H_CHECK_STATUS(h_connect(s, h_ip_peer, CLOSED_PORT), STATUS_CONNECTION_REFUSED);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);

	h_test("WskSocketConnect to a closed Linux port: STATUS_CONNECTION_REFUSED, no socket "
	       "left behind (WSK-R6, R2)");
	{
		SOCKADDR_IN local, remote;
		ULONG open_before = h_sockets_open();

		h_sockaddr(&local, 0, 0);
		h_sockaddr(&remote, h_ip_peer, CLOSED_PORT);
		EXPECT_LATER(STATUS_CONNECTION_REFUSED,
			     h_npi.Dispatch->WskSocketConnect(h_npi.Client, SOCK_STREAM,
							      IPPROTO_TCP, (PSOCKADDR)&local,
							      (PSOCKADDR)&remote, 0, NULL, NULL,
							      NULL, NULL, NULL, IRP));
		H_CHECK(h_wait_sockets_open(open_before, 2000));
	}
}

static void test_irp_twice(void)
{
	DPW_IRP_STATS before, after;
	SOCKADDR_IN sa;
	struct h_irp rx;
	struct h_buf b;
	char buf[16];

	h_test("the same IRP given to a second call while pending: STATUS_INVALID_PARAMETER, the "
	       "first call unharmed (WSK-R2, R3)");
	DpwGetIrpStats(&before);
	memset(buf, 0, sizeof(buf));
	h_buf_init(&b, buf, sizeof(buf));
	h_irp_init(&rx);
	H_CHECK_STATUS(SD->WskReceive(s_conn, &b.wb, 0, rx.irp), STATUS_PENDING);
	H_CHECK_STATUS(SD->WskSend(s_conn, &good, 0, rx.irp), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(SD->WskReceive(s_conn, &good, 0, rx.irp), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(SD->WskCloseSocket(s_listen, rx.irp), STATUS_INVALID_PARAMETER);
	h_pump(100);
	H_CHECK(rx.completions == 0);                       /* untouched: still pending */
	H_CHECK(peer_read(peer_fd, data + 32, 16, 100) == -ETIMEDOUT);   /* nothing sent */
	H_CHECK(peer_write_all(peer_fd, "first", 5));
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_SUCCESS);
	H_CHECK(rx.info == 5 && memcmp(buf, "first", 5) == 0);
	h_pump(50);
	H_CHECK(rx.completions == 1);
	DpwGetIrpStats(&after);
	H_CHECK(after.BusyStarts == before.BusyStarts + 3);  /* each refusal noticed */
	h_irp_free(&rx);
	h_buf_free(&b);
	/* The listener the refused close named is still there. */
	H_CHECK_STATUS(h_local_address(s_listen, &sa), STATUS_SUCCESS);
}

static void test_registration(void)
{
	WSK_CLIENT_DISPATCH cd = { MAKE_WSK_VERSION(1, 0), 0, NULL };
	WSK_CLIENT_NPI npi = { NULL, &cd };
	WSK_PROVIDER_NPI pnpi, stale_npi;
	WSK_REGISTRATION reg, stale;
	struct h_client c;
	struct h_irp x;

	h_test("WskRegister with NULL arguments: STATUS_INVALID_PARAMETER (WSK-R1, R3)");
	H_CHECK_STATUS(WskRegister(NULL, &reg), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(WskRegister(&npi, NULL), STATUS_INVALID_PARAMETER);

	h_test("a client version with another major: capture STATUS_NOINTERFACE (WSK-R1)");
	H_CHECK_STATUS(h_client_open(&c, MAKE_WSK_VERSION(2, 0)), STATUS_NOINTERFACE);

	h_test("capture after deregister: STATUS_DEVICE_NOT_READY (WSK-R1)");
	H_CHECK_STATUS(WskRegister(&npi, &reg), STATUS_SUCCESS);
	H_CHECK_STATUS(WskCaptureProviderNPI(&reg, WSK_NO_WAIT, &pnpi), STATUS_SUCCESS);
	stale_npi = pnpi;
	WskReleaseProviderNPI(&reg);
	stale = reg;
	WskDeregister(&reg);
	H_CHECK_STATUS(WskCaptureProviderNPI(&reg, WSK_NO_WAIT, &pnpi), STATUS_DEVICE_NOT_READY);
	H_CHECK_STATUS(WskCaptureProviderNPI(&stale, WSK_NO_WAIT, &pnpi), STATUS_DEVICE_NOT_READY);

	h_test("a call through a deregistered client: STATUS_DEVICE_NOT_READY, IRP completed "
	       "(WSK-R1, R3)");
	h_irp_init(&x);
	H_CHECK_STATUS(stale_npi.Dispatch->WskSocket(stale_npi.Client, AF_INET, SOCK_STREAM,
						     IPPROTO_TCP, WSK_FLAG_STREAM_SOCKET, NULL,
						     NULL, NULL, NULL, NULL, x.irp),
		       STATUS_DEVICE_NOT_READY);
	H_CHECK(x.completions == 1 && x.status == STATUS_DEVICE_NOT_READY);
	h_irp_free(&x);
	H_CHECK_STATUS(stale_npi.Dispatch->WskControlClient(stale_npi.Client, 0x7777, 0, NULL, 0,
							    NULL, NULL, NULL),
		       STATUS_DEVICE_NOT_READY);
	h_irp_init(&x);
	H_CHECK_STATUS(stale_npi.Dispatch->WskControlClient(stale_npi.Client, 0x7777, 0, NULL, 0,
							    NULL, NULL, x.irp),
		       STATUS_DEVICE_NOT_READY);
	H_CHECK(x.completions == 1 && x.status == STATUS_DEVICE_NOT_READY);   /* W2 */
	h_irp_free(&x);

	h_test("a NULL client handle: STATUS_INVALID_HANDLE, the IRP completed with it (WSK-W2, "
	       "W3)");
	h_irp_init(&x);
	H_CHECK_STATUS(stale_npi.Dispatch->WskSocket(NULL, AF_INET, SOCK_STREAM, IPPROTO_TCP,
						     WSK_FLAG_STREAM_SOCKET, NULL, NULL, NULL,
						     NULL, NULL, x.irp),
		       STATUS_INVALID_HANDLE);
	H_CHECK(x.completions == 1 && x.status == STATUS_INVALID_HANDLE);
	h_irp_free(&x);
	H_CHECK_STATUS(stale_npi.Dispatch->WskControlClient(NULL, 0x7777, 0, NULL, 0, NULL, NULL,
							    NULL),
		       STATUS_INVALID_HANDLE);
	h_irp_init(&x);
	H_CHECK_STATUS(stale_npi.Dispatch->WskControlClient(NULL, 0x7777, 0, NULL, 0, NULL, NULL,
							    x.irp),
		       STATUS_INVALID_HANDLE);
	H_CHECK(x.completions == 1 && x.status == STATUS_INVALID_HANDLE);   /* W2, W3 */
	h_irp_free(&x);
}

static void test_after_close(void)
{
	PWSK_SOCKET s = s_conn, l = s_listen;
	SOCKADDR_IN sa;

	h_test("calls through a socket after its close: STATUS_INVALID_HANDLE, the IRP completed "
	       "with it (WSK-C6)");
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
	EXPECT(STATUS_INVALID_HANDLE, SD->WskSend(s, &good, 0, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskReceive(s, &good, 0, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskDisconnect(s, NULL, 0, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskBind(s, (PSOCKADDR)&any, 0, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskConnect(s, (PSOCKADDR)&peer, 0, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskListen(s, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskGetLocalAddress(s, (PSOCKADDR)&sa, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskGetRemoteAddress(s, (PSOCKADDR)&sa, IRP));
	EXPECT(STATUS_INVALID_HANDLE, SD->WskControlSocket(s, WskGetOption, SO_WSK_EVENT_CALLBACK,
							   SOL_SOCKET, 0, NULL, 0, NULL, NULL,
							   IRP));
	EXPECT(STATUS_INVALID_HANDLE, LD->WskAccept(l, 0, NULL, NULL, NULL, NULL, IRP));

	h_test("a second close of the same socket: STATUS_INVALID_HANDLE (WSK-C6)");
	EXPECT(STATUS_INVALID_HANDLE, SD->WskCloseSocket(s, IRP));
	EXPECT(STATUS_INVALID_HANDLE, LD->WskCloseSocket(l, IRP));
}

int main(int argc, char **argv)
{
	DPW_IRP_STATS is;
	int lfd;

	h_start(argc, argv);
	lfd = peer_listen(PEER_PORT);
	MmInitializeMdl(&mdl, data, 16);
	good.Mdl = &mdl;
	good.Offset = 0;
	good.Length = 16;
	h_sockaddr(&any, 0, 0);
	h_sockaddr(&peer, h_ip_peer, PEER_PORT);

	if (h_connect_to_peer(PEER_PORT, &s_conn) != STATUS_SUCCESS ||
	    (peer_fd = peer_accept(lfd, 5000)) < 0 ||
	    h_listener(WSK_FLAG_LISTEN_SOCKET, STACK_PORT, NULL, NULL, &s_listen) !=
		    STATUS_SUCCESS ||
	    h_socket(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s_cs) != STATUS_SUCCESS) {
		H_CHECK(!"setup: sockets");
		return h_finish();
	}
	SD = s_conn->Dispatch;
	LD = s_listen->Dispatch;
	CD = s_cs->Dispatch;

	test_null_irp();
	test_null_and_garbage_socket();
	test_wrong_category();
	test_bad_flags();
	test_bad_buffers();
	test_bad_addresses();
	test_unsupported_option();
	test_wrong_state();
	test_datagram_listen();
	test_twice();
	test_address_in_use();
	test_refused();
	test_irp_twice();
	test_registration();
	test_after_close();

	h_test("no IRP completed twice, none left with the provider (WSK-R2)");
	H_CHECK_STATUS(h_close(s_cs), STATUS_SUCCESS);
	h_pump(50);
	DpwGetIrpStats(&is);
	H_CHECK(is.DoubleCompletions == 0);
	H_CHECK(is.BadRuns == 0);
	H_CHECK(is.BusyFrees == 0);
	H_CHECK(is.BadCompletionStatus == 0);
	H_CHECK(h_wait_sockets_open(0, 5000));

	close(peer_fd);
	close(lfd);
	return h_finish();
}
