/* WSK types: dispatch tables in WSK's member order (WSK-R5), and Windows' values for flags,
 * event masks, options and control codes. */
#include <stddef.h>
#include <string.h>

#include "wsk.h"
#include "wsk_test.h"

#define P sizeof(void *)

/* Every member of a dispatch table is a pointer, so "in WSK's order" means member i sits at
 * i pointers from the start, and the table holds nothing else. */
#define AT(type, member, i) CHECK(offsetof(type, member) == (size_t)(i) * P)

/* WSK-R5: BASIC {ControlSocket, CloseSocket}. */
static int test_basic_dispatch(void)
{
	AT(WSK_PROVIDER_BASIC_DISPATCH, WskControlSocket, 0);
	AT(WSK_PROVIDER_BASIC_DISPATCH, WskCloseSocket, 1);
	CHECK(sizeof(WSK_PROVIDER_BASIC_DISPATCH) == 2 * P);
	return 0;
}

/* WSK-R5: every other table starts with the basic two, reachable both as Windows C code
 * writes them (unnamed) and as its C++ headers do (Basic). */
#define BASIC_FIRST(type)                                      \
	do {                                                   \
		AT(type, Basic, 0);                            \
		AT(type, Basic.WskControlSocket, 0);           \
		AT(type, Basic.WskCloseSocket, 1);             \
		AT(type, WskControlSocket, 0);                 \
		AT(type, WskCloseSocket, 1);                   \
	} while (0)

/* WSK-R5: LISTEN {+Bind, Accept, InspectComplete, GetLocalAddress}. */
static int test_listen_dispatch(void)
{
	BASIC_FIRST(WSK_PROVIDER_LISTEN_DISPATCH);
	AT(WSK_PROVIDER_LISTEN_DISPATCH, WskBind, 2);
	AT(WSK_PROVIDER_LISTEN_DISPATCH, WskAccept, 3);
	AT(WSK_PROVIDER_LISTEN_DISPATCH, WskInspectComplete, 4);
	AT(WSK_PROVIDER_LISTEN_DISPATCH, WskGetLocalAddress, 5);
	CHECK(sizeof(WSK_PROVIDER_LISTEN_DISPATCH) == 6 * P);
	return 0;
}

/* WSK-R5: DATAGRAM {+Bind, SendTo, ReceiveFrom, Release, GetLocalAddress, SendMessages}. */
static int test_datagram_dispatch(void)
{
	BASIC_FIRST(WSK_PROVIDER_DATAGRAM_DISPATCH);
	AT(WSK_PROVIDER_DATAGRAM_DISPATCH, WskBind, 2);
	AT(WSK_PROVIDER_DATAGRAM_DISPATCH, WskSendTo, 3);
	AT(WSK_PROVIDER_DATAGRAM_DISPATCH, WskReceiveFrom, 4);
	AT(WSK_PROVIDER_DATAGRAM_DISPATCH, WskRelease, 5);
	AT(WSK_PROVIDER_DATAGRAM_DISPATCH, WskGetLocalAddress, 6);
	AT(WSK_PROVIDER_DATAGRAM_DISPATCH, WskSendMessages, 7);
	CHECK(sizeof(WSK_PROVIDER_DATAGRAM_DISPATCH) == 8 * P);
	return 0;
}

/* WSK-R5: CONNECTION {+Bind, Connect, GetLocalAddress, GetRemoteAddress, Send, Receive,
 * Disconnect, Release, ConnectEx, SendEx, ReceiveEx}. */
static int test_connection_dispatch(void)
{
	BASIC_FIRST(WSK_PROVIDER_CONNECTION_DISPATCH);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskBind, 2);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskConnect, 3);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskGetLocalAddress, 4);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskGetRemoteAddress, 5);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskSend, 6);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskReceive, 7);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskDisconnect, 8);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskRelease, 9);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskConnectEx, 10);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskSendEx, 11);
	AT(WSK_PROVIDER_CONNECTION_DISPATCH, WskReceiveEx, 12);
	CHECK(sizeof(WSK_PROVIDER_CONNECTION_DISPATCH) == 13 * P);
	return 0;
}

/* WSK-R5: STREAM {+Bind, Accept, Connect, Listen, Send, Receive, Disconnect, Release,
 * GetLocalAddress, GetRemoteAddress, ConnectEx, SendEx, ReceiveEx}. */
static int test_stream_dispatch(void)
{
	BASIC_FIRST(WSK_PROVIDER_STREAM_DISPATCH);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskBind, 2);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskAccept, 3);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskConnect, 4);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskListen, 5);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskSend, 6);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskReceive, 7);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskDisconnect, 8);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskRelease, 9);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskGetLocalAddress, 10);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskGetRemoteAddress, 11);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskConnectEx, 12);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskSendEx, 13);
	AT(WSK_PROVIDER_STREAM_DISPATCH, WskReceiveEx, 14);
	CHECK(sizeof(WSK_PROVIDER_STREAM_DISPATCH) == 15 * P);
	return 0;
}

/* WSK-R1: the client and provider NPI tables, and the client's event tables (WSK-F7). */
static int test_client_and_provider_tables(void)
{
	CHECK(offsetof(WSK_CLIENT_DISPATCH, Version) == 0);
	CHECK(offsetof(WSK_CLIENT_DISPATCH, Reserved) == 2);
	CHECK(offsetof(WSK_CLIENT_DISPATCH, WskClientEvent) == P);

	CHECK(offsetof(WSK_PROVIDER_DISPATCH, Version) == 0);
	CHECK(offsetof(WSK_PROVIDER_DISPATCH, Reserved) == 2);
	AT(WSK_PROVIDER_DISPATCH, WskSocket, 1);
	AT(WSK_PROVIDER_DISPATCH, WskSocketConnect, 2);
	AT(WSK_PROVIDER_DISPATCH, WskControlClient, 3);
	AT(WSK_PROVIDER_DISPATCH, WskGetAddressInfo, 4);
	AT(WSK_PROVIDER_DISPATCH, WskFreeAddressInfo, 5);
	AT(WSK_PROVIDER_DISPATCH, WskGetNameInfo, 6);

	AT(WSK_CLIENT_LISTEN_DISPATCH, WskAcceptEvent, 0);
	AT(WSK_CLIENT_LISTEN_DISPATCH, WskInspectEvent, 1);
	AT(WSK_CLIENT_LISTEN_DISPATCH, WskAbortEvent, 2);
	CHECK(sizeof(WSK_CLIENT_LISTEN_DISPATCH) == 3 * P);
	AT(WSK_CLIENT_DATAGRAM_DISPATCH, WskReceiveFromEvent, 0);
	CHECK(sizeof(WSK_CLIENT_DATAGRAM_DISPATCH) == P);
	AT(WSK_CLIENT_CONNECTION_DISPATCH, WskReceiveEvent, 0);
	AT(WSK_CLIENT_CONNECTION_DISPATCH, WskDisconnectEvent, 1);
	AT(WSK_CLIENT_CONNECTION_DISPATCH, WskSendBacklogEvent, 2);
	CHECK(sizeof(WSK_CLIENT_CONNECTION_DISPATCH) == 3 * P);
	AT(WSK_CLIENT_STREAM_DISPATCH, Listen, 0);
	AT(WSK_CLIENT_STREAM_DISPATCH, Connect, 1);

	AT(WSK_CLIENT_NPI, ClientContext, 0);
	AT(WSK_CLIENT_NPI, Dispatch, 1);
	AT(WSK_PROVIDER_NPI, Client, 0);
	AT(WSK_PROVIDER_NPI, Dispatch, 1);
	CHECK(offsetof(WSK_SOCKET, Dispatch) == 0);
	return 0;
}

static NTSTATUS WSKAPI fake_close(PWSK_SOCKET Socket, PIRP Irp)
{
	(void)Socket;
	(void)Irp;
	return STATUS_SUCCESS;
}

static NTSTATUS WSKAPI fake_send(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp)
{
	(void)Socket;
	(void)Buffer;
	(void)Flags;
	(void)Irp;
	return STATUS_PENDING;
}

/* WSK-R5: a provider fills its table by member name, and a client reaches close through the
 * basic view of any table, as Windows clients cast Socket->Dispatch. */
static int test_tables_through_basic_view(void)
{
	static const WSK_PROVIDER_CONNECTION_DISPATCH conn = {
		.WskCloseSocket = fake_close,
		.WskSend = fake_send,
	};
	WSK_SOCKET sock = { .Dispatch = &conn };
	const WSK_PROVIDER_BASIC_DISPATCH *basic = sock.Dispatch;

	CHECK(basic->WskCloseSocket == fake_close);
	CHECK(conn.Basic.WskCloseSocket == fake_close);
	CHECK(basic->WskControlSocket == NULL);
	CHECK(DpwConnectionDispatch(&sock)->WskSend(&sock, NULL, 0, NULL) == STATUS_PENDING);
	return 0;
}

/* WSK-R5 flags, and the send/receive/event flags of WSK-F3..F7, with Windows' values. */
static int test_flag_values(void)
{
	CHECK(WSK_FLAG_BASIC_SOCKET == 0);
	CHECK(WSK_FLAG_LISTEN_SOCKET == 1);
	CHECK(WSK_FLAG_CONNECTION_SOCKET == 2);
	CHECK(WSK_FLAG_DATAGRAM_SOCKET == 4);
	CHECK(WSK_FLAG_STREAM_SOCKET == 8);

	CHECK(WSK_FLAG_ABORTIVE == 0x1);
	CHECK(WSK_FLAG_RELEASE_ASAP == 0x2);
	CHECK(WSK_FLAG_ENTIRE_MESSAGE == 0x4);
	CHECK(WSK_FLAG_AT_DISPATCH_LEVEL == 0x8);
	CHECK(WSK_FLAG_OOB == 0x1);
	CHECK(WSK_FLAG_NODELAY == 0x2);
	CHECK(WSK_FLAG_WAITALL == 0x2);
	CHECK(WSK_FLAG_DRAIN == 0x4);
	CHECK((WSK_FLAG_WAITALL & WSK_FLAG_DRAIN) == 0);

	CHECK(WSK_EVENT_SEND_BACKLOG == 0x10);
	CHECK(WSK_EVENT_RECEIVE == 0x40);
	CHECK(WSK_EVENT_DISCONNECT == 0x80);
	CHECK(WSK_EVENT_RECEIVE_FROM == 0x100);
	CHECK(WSK_EVENT_ACCEPT == 0x200);
	CHECK(WSK_EVENT_DISABLE == 0x80000000u);
	return 0;
}

/* WSK-F7, F8, F9 and C7: options, IOCTLs and client control codes, Windows' numbers. */
static int test_control_values(void)
{
	CHECK(SO_WSK_SECURITY == 0x4001);
	CHECK(SO_WSK_EVENT_CALLBACK == 0x4002);

	CHECK(SIO_WSK_SET_REMOTE_ADDRESS == 0x8F000001u);
	CHECK(SIO_WSK_REGISTER_EXTENSION == 0xCF000002u);
	CHECK(SIO_WSK_QUERY_IDEAL_SEND_BACKLOG == 0x4F000003u);
	CHECK(SIO_WSK_QUERY_RECEIVE_BACKLOG == 0x4F000004u);
	CHECK(SIO_WSK_QUERY_INSPECT_ID == 0x4F000005u);
	CHECK(SIO_WSK_SET_SENDTO_ADDRESS == 0x8F000006u);
	CHECK(SIO_WSK_SET_TCP_SILENT_MODE == 0x2F000007u);

	CHECK(WSK_TRANSPORT_LIST_QUERY == 2);
	CHECK(WSK_TRANSPORT_LIST_CHANGE == 3);
	CHECK(WSK_CACHE_SD == 4);
	CHECK(WSK_RELEASE_SD == 5);
	CHECK(WSK_TDI_DEVICENAME_MAPPING == 6);
	CHECK(WSK_SET_STATIC_EVENT_CALLBACKS == 7);
	CHECK(WSK_TDI_BEHAVIOR == 8);

	CHECK(WskSetOption == 0 && WskGetOption == 1 && WskIoctl == 2);
	CHECK(WskInspectReject == 0 && WskInspectAccept == 1 && WskInspectPend == 2);
	return 0;
}

/* WSK-R1: version word, capture timeouts, the registration block's shape, the NPI id. */
static int test_registration_values(void)
{
	static const UCHAR npi_bytes[8] = { 0xAB, 0xAD, 0x00, 0x90, 0x27, 0x71, 0x9E, 0x09 };
	USHORT v = MAKE_WSK_VERSION(1, 0);

	CHECK(v == 0x0100);
	CHECK(WSK_MAJOR_VERSION(v) == 1 && WSK_MINOR_VERSION(v) == 0);
	CHECK(MAKE_WSK_VERSION(2, 3) == 0x0203);
	CHECK(WSK_NO_WAIT == 0);
	CHECK(WSK_INFINITE_WAIT == 0xffffffffu);
	CHECK(sizeof(WSK_REGISTRATION) == 8 + 2 * P);
	CHECK(NPI_WSK_INTERFACE_ID.Data1 == 0x2227E803 && NPI_WSK_INTERFACE_ID.Data2 == 0x8D8B &&
	      NPI_WSK_INTERFACE_ID.Data3 == 0x11D4);
	CHECK(memcmp(NPI_WSK_INTERFACE_ID.Data4, npi_bytes, 8) == 0);
	return 0;
}

/* WSK-R4: the buffer structures' fields, in Windows' order. */
static int test_buffer_structures(void)
{
	CHECK(offsetof(WSK_BUF, Mdl) == 0);
	CHECK(offsetof(WSK_BUF, Offset) == P);
	CHECK(offsetof(WSK_BUF, Length) == 2 * P);
	CHECK(offsetof(WSK_DATA_INDICATION, Next) == 0);
	CHECK(offsetof(WSK_DATA_INDICATION, Buffer) == P);
	CHECK(offsetof(WSK_EVENT_CALLBACK_CONTROL, NpiId) == 0);
	CHECK(offsetof(WSK_EVENT_CALLBACK_CONTROL, EventMask) == P);
	CHECK(offsetof(MDL, Next) == 0);
	CHECK(offsetof(MDL, ByteCount) < offsetof(MDL, ByteOffset));
	CHECK(offsetof(IO_STATUS_BLOCK, Status) == 0);
	CHECK(offsetof(IO_STATUS_BLOCK, Information) == P);
	/* Windows' base types keep their widths on a 64-bit Linux host. */
	CHECK(sizeof(ULONG) == 4 && sizeof(USHORT) == 2 && sizeof(UCHAR) == 1);
	CHECK(sizeof(NTSTATUS) == 4 && sizeof(ULONG_PTR) == P && sizeof(BOOLEAN) == 1);
	return 0;
}

int main(void)
{
	int failures = 0;

	RUN(test_basic_dispatch);
	RUN(test_listen_dispatch);
	RUN(test_datagram_dispatch);
	RUN(test_connection_dispatch);
	RUN(test_stream_dispatch);
	RUN(test_client_and_provider_tables);
	RUN(test_tables_through_basic_view);
	RUN(test_flag_values);
	RUN(test_control_values);
	RUN(test_registration_values);
	RUN(test_buffer_structures);
	return failures != 0;
}
