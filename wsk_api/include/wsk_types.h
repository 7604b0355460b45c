/* Winsock Kernel types: socket and NPI objects, buffers, flags, control codes, and the client
 * and provider dispatch tables with their members in WSK's order (WSK-R5). Values are Windows'. */
#ifndef DPWSK_WSK_TYPES_H
#define DPWSK_WSK_TYPES_H

#include "irp.h"
#include "mdl.h"
#include "ntstatus.h"
#include "sockaddr.h"
#include "wsk_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The socket object. Dispatch points to one of the five WSK_PROVIDER_*_DISPATCH tables,
 * chosen by the WSK_FLAG_*_SOCKET the socket was created with. */
typedef struct _WSK_SOCKET {
	const VOID *Dispatch;
} WSK_SOCKET, *PWSK_SOCKET;

/* The client object, as returned in WSK_PROVIDER_NPI.Client. */
typedef PVOID PWSK_CLIENT;

/* The WSK interface identifier, for WSK_EVENT_CALLBACK_CONTROL.NpiId. */
extern const NPIID NPI_WSK_INTERFACE_ID;

#define MAKE_WSK_VERSION(Mj, Mn) ((USHORT)((Mj) << 8) | (USHORT)((Mn) & 0xff))
#define WSK_MAJOR_VERSION(V)     ((UCHAR)((V) >> 8))
#define WSK_MINOR_VERSION(V)     ((UCHAR)(V))

/* WskCaptureProviderNPI wait times, in milliseconds. */
#define WSK_NO_WAIT       0
#define WSK_INFINITE_WAIT 0xffffffff

typedef struct _WSK_PROVIDER_CHARACTERISTICS {
	USHORT HighestVersion;
	USHORT LowestVersion;
} WSK_PROVIDER_CHARACTERISTICS, *PWSK_PROVIDER_CHARACTERISTICS;

typedef struct _WSK_TRANSPORT {
	USHORT Version;
	USHORT SocketType;
	ULONG Protocol;
	ADDRESS_FAMILY AddressFamily;
	GUID ProviderId;
} WSK_TRANSPORT, *PWSK_TRANSPORT;

/* A data buffer (WSK-R4): Length bytes of the MDL chain, starting Offset bytes into the first
 * MDL; Offset must lie inside that first MDL. */
typedef struct _WSK_BUF {
	PMDL Mdl;
	ULONG Offset;
	SIZE_T Length;
} WSK_BUF, *PWSK_BUF;

/* WskSendMessages' list of datagrams. */
typedef struct _WSK_BUF_LIST {
	struct _WSK_BUF_LIST *Next;
	WSK_BUF Buffer;
} WSK_BUF_LIST, *PWSK_BUF_LIST;

/* Received data handed to WskReceiveEvent; retained ones go back through WskRelease. */
typedef struct _WSK_DATA_INDICATION {
	struct _WSK_DATA_INDICATION *Next;
	WSK_BUF Buffer;
} WSK_DATA_INDICATION, *PWSK_DATA_INDICATION;

/* Windows' control-message header (ws2def.h WSACMSGHDR), for datagram control data. */
typedef struct _WSACMSGHDR {
	SIZE_T cmsg_len;
	INT cmsg_level;
	INT cmsg_type;
} WSACMSGHDR, *PWSACMSGHDR, CMSGHDR, *PCMSGHDR;

typedef struct _WSK_DATAGRAM_INDICATION {
	struct _WSK_DATAGRAM_INDICATION *Next;
	WSK_BUF Buffer;
	PCMSGHDR ControlInfo;
	ULONG ControlInfoLength;
	PSOCKADDR RemoteAddress;
} WSK_DATAGRAM_INDICATION, *PWSK_DATAGRAM_INDICATION;

/* Conditional accept: a connection request awaiting the client's decision. */
typedef struct _WSK_INSPECT_ID {
	ULONG_PTR Key;
	ULONG SerialNumber;
} WSK_INSPECT_ID, *PWSK_INSPECT_ID;

typedef enum {
	WskInspectReject,
	WskInspectAccept,
	WskInspectPend,
	WskInspectMax
} WSK_INSPECT_ACTION, *PWSK_INSPECT_ACTION;

typedef enum {
	WskSetOption,
	WskGetOption,
	WskIoctl,
	WskControlMax
} WSK_CONTROL_SOCKET_TYPE, *PWSK_CONTROL_SOCKET_TYPE;

/*
 * Flags. Several share a value: each applies to a different call or callback.
 */

/* Socket categories, WskSocket's Flags (WSK-R5). */
#define WSK_FLAG_BASIC_SOCKET      0x00000000
#define WSK_FLAG_LISTEN_SOCKET     0x00000001
#define WSK_FLAG_CONNECTION_SOCKET 0x00000002
#define WSK_FLAG_DATAGRAM_SOCKET   0x00000004
#define WSK_FLAG_STREAM_SOCKET     0x00000008

/* Event callbacks' Flags. */
#define WSK_FLAG_ABORTIVE          0x00000001  /* WskDisconnectEvent; also WskDisconnect */
#define WSK_FLAG_RELEASE_ASAP      0x00000002  /* WskReceiveEvent: do not retain for long */
#define WSK_FLAG_ENTIRE_MESSAGE    0x00000004  /* WskReceiveEvent: a whole message */
#define WSK_FLAG_AT_DISPATCH_LEVEL 0x00000008  /* callback at DISPATCH_LEVEL (never here) */

/* WskSend / WskSendEx. */
#define WSK_FLAG_OOB               0x00000001
#define WSK_FLAG_NODELAY           0x00000002

/* WskReceive / WskReceiveEx; mutually exclusive (WSK-F4). */
#define WSK_FLAG_WAITALL           0x00000002
#define WSK_FLAG_DRAIN             0x00000004

/*
 * Options and control codes.
 */

/* Socket-level options of WSK's own (ws2def.h: WSK_SO_BASE 0x4000). */
#define WSK_SO_BASE           0x4000
#define SO_WSK_SECURITY       (WSK_SO_BASE + 1)
#define SO_WSK_EVENT_CALLBACK (WSK_SO_BASE + 2)

/* Event masks for SO_WSK_EVENT_CALLBACK and WSK_SET_STATIC_EVENT_CALLBACKS (WSK-F7). */
#define WSK_EVENT_SEND_BACKLOG 0x00000010  /* connection and listening sockets */
#define WSK_EVENT_RECEIVE      0x00000040  /* connection and listening sockets */
#define WSK_EVENT_DISCONNECT   0x00000080  /* connection and listening sockets */
#define WSK_EVENT_RECEIVE_FROM 0x00000100  /* datagram sockets */
#define WSK_EVENT_ACCEPT       0x00000200  /* listening sockets */
#define WSK_EVENT_DISABLE      0x80000000  /* or'ed in: disable the events named */

typedef struct _WSK_EVENT_CALLBACK_CONTROL {
	PNPIID NpiId;       /* &NPI_WSK_INTERFACE_ID */
	ULONG EventMask;
} WSK_EVENT_CALLBACK_CONTROL, *PWSK_EVENT_CALLBACK_CONTROL;

/*
 * WSK socket IOCTLs. Windows builds them as _WSAIOW/_WSAIOR/_WSAIORW/_WSAIO(IOC_WSK, n) with
 * IOC_IN 0x80000000, IOC_OUT 0x40000000, IOC_VOID 0x20000000, IOC_WSK 0x0F000000; written out
 * here because Linux's <asm/ioctl.h> has an IOC_IN of its own.
 */
#define SIO_WSK_SET_REMOTE_ADDRESS       0x8F000001u  /* _WSAIOW(IOC_WSK, 1) */
#define SIO_WSK_REGISTER_EXTENSION       0xCF000002u  /* _WSAIORW(IOC_WSK, 2) */
#define SIO_WSK_QUERY_IDEAL_SEND_BACKLOG 0x4F000003u  /* _WSAIOR(IOC_WSK, 3) */
#define SIO_WSK_QUERY_RECEIVE_BACKLOG    0x4F000004u  /* _WSAIOR(IOC_WSK, 4) */
#define SIO_WSK_QUERY_INSPECT_ID         0x4F000005u  /* _WSAIOR(IOC_WSK, 5) */
#define SIO_WSK_SET_SENDTO_ADDRESS       0x8F000006u  /* _WSAIOW(IOC_WSK, 6) */
#define SIO_WSK_SET_TCP_SILENT_MODE      0x2F000007u  /* _WSAIO(IOC_WSK, 7) */

typedef struct _WSK_EXTENSION_CONTROL_IN {
	PNPIID NpiId;
	PVOID ClientContext;
	const VOID *ClientDispatch;
} WSK_EXTENSION_CONTROL_IN, *PWSK_EXTENSION_CONTROL_IN;

typedef struct _WSK_EXTENSION_CONTROL_OUT {
	PVOID ProviderContext;
	const VOID *ProviderDispatch;
} WSK_EXTENSION_CONTROL_OUT, *PWSK_EXTENSION_CONTROL_OUT;

/* WskControlClient control codes. */
#define WSK_TRANSPORT_LIST_QUERY       2
#define WSK_TRANSPORT_LIST_CHANGE      3
#define WSK_CACHE_SD                   4
#define WSK_RELEASE_SD                 5
#define WSK_TDI_DEVICENAME_MAPPING     6
#define WSK_SET_STATIC_EVENT_CALLBACKS 7
#define WSK_TDI_BEHAVIOR               8

#define WSK_TDI_BEHAVIOR_BYPASS_TDI 0x00000001

typedef struct _WSK_TDI_MAP {
	USHORT SocketType;
	ADDRESS_FAMILY AddressFamily;
	ULONG Protocol;
	PCWSTR TdiDeviceName;
} WSK_TDI_MAP, *PWSK_TDI_MAP;

typedef struct _WSK_TDI_MAP_INFO {
	const ULONG ElementCount;
	const WSK_TDI_MAP *Map;
} WSK_TDI_MAP_INFO, *PWSK_TDI_MAP_INFO;

/* WskGetAddressInfo's hints and results (ws2def.h's layout). ai_family is Windows' (AF_INET6
 * 23); ai_addr is a SOCKADDR_IN or SOCKADDR_IN6; ai_canonname is UTF-16. */
typedef struct addrinfoexW {
	int ai_flags;                   /* DPW_AI_* */
	int ai_family;
	int ai_socktype;
	int ai_protocol;
	size_t ai_addrlen;
	PWSTR ai_canonname;
	struct sockaddr *ai_addr;
	void *ai_blob;
	size_t ai_bloblen;
	GUID *ai_provider;
	struct addrinfoexW *ai_next;
} ADDRINFOEXW, *PADDRINFOEXW, *LPADDRINFOEXW;

/* Name spaces (WskGetAddressInfo's NameSpace) and flags, Windows' numbers. The AI_/NI_ names
 * themselves are in km/include/ntddk.h (glibc's <netdb.h> has other values for some). */
#define NS_ALL 0
#define NS_DNS 12
#define DPW_AI_PASSIVE     0x01
#define DPW_AI_CANONNAME   0x02
#define DPW_AI_NUMERICHOST 0x04
#define DPW_NI_NOFQDN      0x01
#define DPW_NI_NUMERICHOST 0x02
#define DPW_NI_NAMEREQD    0x04
#define DPW_NI_NUMERICSERV 0x08
#define DPW_NI_DGRAM       0x10

/*
 * Client event callbacks. They run on the stack's polling core and must not block (WSK-F7).
 */

typedef struct _WSK_CLIENT_CONNECTION_DISPATCH WSK_CLIENT_CONNECTION_DISPATCH,
	*PWSK_CLIENT_CONNECTION_DISPATCH;

typedef NTSTATUS (WSKAPI *PFN_WSK_CLIENT_EVENT)(PVOID ClientContext, ULONG EventType,
						PVOID Information, SIZE_T InformationLength);

typedef NTSTATUS (WSKAPI *PFN_WSK_RECEIVE_FROM_EVENT)(PVOID SocketContext, ULONG Flags,
						      PWSK_DATAGRAM_INDICATION DataIndication);

typedef NTSTATUS (WSKAPI *PFN_WSK_ACCEPT_EVENT)(
	PVOID SocketContext, ULONG Flags, PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress,
	PWSK_SOCKET AcceptSocket, PVOID *AcceptSocketContext,
	const WSK_CLIENT_CONNECTION_DISPATCH **AcceptSocketDispatch);

typedef WSK_INSPECT_ACTION (WSKAPI *PFN_WSK_INSPECT_EVENT)(PVOID SocketContext,
							   PSOCKADDR LocalAddress,
							   PSOCKADDR RemoteAddress,
							   PWSK_INSPECT_ID InspectID);

typedef NTSTATUS (WSKAPI *PFN_WSK_ABORT_EVENT)(PVOID SocketContext, PWSK_INSPECT_ID InspectID);

typedef NTSTATUS (WSKAPI *PFN_WSK_SEND_BACKLOG_EVENT)(PVOID SocketContext,
						      SIZE_T IdealBacklogSize);

typedef NTSTATUS (WSKAPI *PFN_WSK_RECEIVE_EVENT)(PVOID SocketContext, ULONG Flags,
						 PWSK_DATA_INDICATION DataIndication,
						 SIZE_T BytesIndicated, SIZE_T *BytesAccepted);

typedef NTSTATUS (WSKAPI *PFN_WSK_RECEIVE_EX_EVENT)(PVOID SocketContext, ULONG Flags,
						    PWSK_DATA_INDICATION DataIndication,
						    PCMSGHDR ControlInfo, ULONG ControlInfoLength,
						    SIZE_T BytesIndicated, SIZE_T *BytesAccepted);

typedef NTSTATUS (WSKAPI *PFN_WSK_DISCONNECT_EVENT)(PVOID SocketContext, ULONG Flags);

/*
 * Provider functions, called through the dispatch tables.
 */

typedef NTSTATUS (WSKAPI *PFN_WSK_SOCKET)(PWSK_CLIENT Client, ADDRESS_FAMILY AddressFamily,
					  USHORT SocketType, ULONG Protocol, ULONG Flags,
					  PVOID SocketContext, const VOID *Dispatch,
					  PEPROCESS OwningProcess, PETHREAD OwningThread,
					  PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_SOCKET_CONNECT)(
	PWSK_CLIENT Client, USHORT SocketType, ULONG Protocol, PSOCKADDR LocalAddress,
	PSOCKADDR RemoteAddress, ULONG Flags, PVOID SocketContext,
	const WSK_CLIENT_CONNECTION_DISPATCH *Dispatch, PEPROCESS OwningProcess,
	PETHREAD OwningThread, PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_CONTROL_CLIENT)(PWSK_CLIENT Client, ULONG ControlCode,
						  SIZE_T InputSize, PVOID InputBuffer,
						  SIZE_T OutputSize, PVOID OutputBuffer,
						  SIZE_T *OutputSizeReturned, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_GET_ADDRESS_INFO)(
	PWSK_CLIENT Client, PUNICODE_STRING NodeName, PUNICODE_STRING ServiceName,
	ULONG NameSpace, GUID *Provider, PADDRINFOEXW Hints, PADDRINFOEXW *Result,
	PEPROCESS OwningProcess, PETHREAD OwningThread, PIRP Irp);

typedef VOID (WSKAPI *PFN_WSK_FREE_ADDRESS_INFO)(PWSK_CLIENT Client, PADDRINFOEXW AddrInfo);

typedef NTSTATUS (WSKAPI *PFN_WSK_GET_NAME_INFO)(PWSK_CLIENT Client, PSOCKADDR SockAddr,
						 ULONG SockAddrLength, PUNICODE_STRING NodeName,
						 PUNICODE_STRING ServiceName, ULONG Flags,
						 PEPROCESS OwningProcess, PETHREAD OwningThread,
						 PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_CONTROL_SOCKET)(
	PWSK_SOCKET Socket, WSK_CONTROL_SOCKET_TYPE RequestType, ULONG ControlCode, ULONG Level,
	SIZE_T InputSize, PVOID InputBuffer, SIZE_T OutputSize, PVOID OutputBuffer,
	SIZE_T *OutputSizeReturned, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_CLOSE_SOCKET)(PWSK_SOCKET Socket, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_BIND)(PWSK_SOCKET Socket, PSOCKADDR LocalAddress, ULONG Flags,
					PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_ACCEPT)(PWSK_SOCKET ListenSocket, ULONG Flags,
					  PVOID AcceptSocketContext,
					  const WSK_CLIENT_CONNECTION_DISPATCH *AcceptSocketDispatch,
					  PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_INSPECT_COMPLETE)(PWSK_SOCKET ListenSocket,
						    PWSK_INSPECT_ID InspectID,
						    WSK_INSPECT_ACTION Action, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_GET_LOCAL_ADDRESS)(PWSK_SOCKET Socket,
						     PSOCKADDR LocalAddress, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_GET_REMOTE_ADDRESS)(PWSK_SOCKET Socket,
						      PSOCKADDR RemoteAddress, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_SEND_TO)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
					   PSOCKADDR RemoteAddress, ULONG ControlInfoLength,
					   PCMSGHDR ControlInfo, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_SEND_MESSAGES)(PWSK_SOCKET Socket, PWSK_BUF_LIST BufferList,
						 ULONG Flags, PSOCKADDR RemoteAddress,
						 ULONG ControlInfoLength, PCMSGHDR ControlInfo,
						 PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_RECEIVE_FROM)(PWSK_SOCKET Socket, PWSK_BUF Buffer,
						ULONG Flags, PSOCKADDR RemoteAddress,
						PULONG ControlLength, PCMSGHDR ControlInfo,
						PULONG ControlFlags, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_RELEASE_DATA_INDICATION_LIST)(
	PWSK_SOCKET Socket, PWSK_DATA_INDICATION DataIndication);

typedef NTSTATUS (WSKAPI *PFN_WSK_RELEASE_DATAGRAM_INDICATION_LIST)(
	PWSK_SOCKET Socket, PWSK_DATAGRAM_INDICATION DatagramIndication);

typedef NTSTATUS (WSKAPI *PFN_WSK_CONNECT)(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress,
					   ULONG Flags, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_CONNECT_EX)(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress,
					      PWSK_BUF Buffer, ULONG Flags, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_LISTEN)(PWSK_SOCKET Socket, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_SEND)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
					PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_SEND_EX)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
					   ULONG ControlInfoLength, PCMSGHDR ControlInfo,
					   PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_RECEIVE)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
					   PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_RECEIVE_EX)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
					      PULONG ControlInfoLength, PCMSGHDR ControlInfo,
					      PULONG ControlFlags, PIRP Irp);

typedef NTSTATUS (WSKAPI *PFN_WSK_DISCONNECT)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
					      PIRP Irp);

/*
 * Dispatch tables. Member order is WSK's (WSK-R5): a WSK client built for Windows indexes
 * them the same way.
 */

/* The client's table, given to WskRegister. */
typedef struct _WSK_CLIENT_DISPATCH {
	USHORT Version;                 /* MAKE_WSK_VERSION(1, 0) */
	USHORT Reserved;
	PFN_WSK_CLIENT_EVENT WskClientEvent;
} WSK_CLIENT_DISPATCH, *PWSK_CLIENT_DISPATCH;

typedef struct _WSK_CLIENT_LISTEN_DISPATCH {
	PFN_WSK_ACCEPT_EVENT WskAcceptEvent;
	PFN_WSK_INSPECT_EVENT WskInspectEvent;
	PFN_WSK_ABORT_EVENT WskAbortEvent;
} WSK_CLIENT_LISTEN_DISPATCH, *PWSK_CLIENT_LISTEN_DISPATCH;

typedef struct _WSK_CLIENT_DATAGRAM_DISPATCH {
	PFN_WSK_RECEIVE_FROM_EVENT WskReceiveFromEvent;
} WSK_CLIENT_DATAGRAM_DISPATCH, *PWSK_CLIENT_DATAGRAM_DISPATCH;

struct _WSK_CLIENT_CONNECTION_DISPATCH {
	PFN_WSK_RECEIVE_EVENT WskReceiveEvent;
	PFN_WSK_DISCONNECT_EVENT WskDisconnectEvent;
	PFN_WSK_SEND_BACKLOG_EVENT WskSendBacklogEvent;
};

/* A stream socket listens or connects: it takes both tables. */
typedef struct _WSK_CLIENT_STREAM_DISPATCH {
	const WSK_CLIENT_LISTEN_DISPATCH *Listen;
	const WSK_CLIENT_CONNECTION_DISPATCH *Connect;
} WSK_CLIENT_STREAM_DISPATCH, *PWSK_CLIENT_STREAM_DISPATCH;

/* The provider's client-level table, in WSK_PROVIDER_NPI.Dispatch. */
typedef struct _WSK_PROVIDER_DISPATCH {
	USHORT Version;
	USHORT Reserved;
	PFN_WSK_SOCKET WskSocket;
	PFN_WSK_SOCKET_CONNECT WskSocketConnect;
	PFN_WSK_CONTROL_CLIENT WskControlClient;
	PFN_WSK_GET_ADDRESS_INFO WskGetAddressInfo;
	PFN_WSK_FREE_ADDRESS_INFO WskFreeAddressInfo;
	PFN_WSK_GET_NAME_INFO WskGetNameInfo;
} WSK_PROVIDER_DISPATCH, *PWSK_PROVIDER_DISPATCH;

typedef struct _WSK_PROVIDER_BASIC_DISPATCH {
	PFN_WSK_CONTROL_SOCKET WskControlSocket;
	PFN_WSK_CLOSE_SOCKET WskCloseSocket;
} WSK_PROVIDER_BASIC_DISPATCH, *PWSK_PROVIDER_BASIC_DISPATCH;

/*
 * Windows' C headers embed the basic table unnamed (a Microsoft extension) and its C++ headers
 * name it Basic. The anonymous union gives both spellings, d->WskCloseSocket and
 * d->Basic.WskCloseSocket, over the same two pointers. Initialise tables with designators
 * (.WskCloseSocket = ...); a flat positional list still works but -Wmissing-braces notes it.
 */
#define DPW_WSK_BASIC_MEMBERS                                   \
	union {                                                 \
		WSK_PROVIDER_BASIC_DISPATCH Basic;              \
		struct {                                        \
			PFN_WSK_CONTROL_SOCKET WskControlSocket; \
			PFN_WSK_CLOSE_SOCKET WskCloseSocket;     \
		};                                              \
	}

typedef struct _WSK_PROVIDER_LISTEN_DISPATCH {
	DPW_WSK_BASIC_MEMBERS;
	PFN_WSK_BIND WskBind;
	PFN_WSK_ACCEPT WskAccept;
	PFN_WSK_INSPECT_COMPLETE WskInspectComplete;
	PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
} WSK_PROVIDER_LISTEN_DISPATCH, *PWSK_PROVIDER_LISTEN_DISPATCH;

typedef struct _WSK_PROVIDER_DATAGRAM_DISPATCH {
	DPW_WSK_BASIC_MEMBERS;
	PFN_WSK_BIND WskBind;
	PFN_WSK_SEND_TO WskSendTo;
	PFN_WSK_RECEIVE_FROM WskReceiveFrom;
	PFN_WSK_RELEASE_DATAGRAM_INDICATION_LIST WskRelease;
	PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
	PFN_WSK_SEND_MESSAGES WskSendMessages;
} WSK_PROVIDER_DATAGRAM_DISPATCH, *PWSK_PROVIDER_DATAGRAM_DISPATCH;

typedef struct _WSK_PROVIDER_CONNECTION_DISPATCH {
	DPW_WSK_BASIC_MEMBERS;
	PFN_WSK_BIND WskBind;
	PFN_WSK_CONNECT WskConnect;
	PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
	PFN_WSK_GET_REMOTE_ADDRESS WskGetRemoteAddress;
	PFN_WSK_SEND WskSend;
	PFN_WSK_RECEIVE WskReceive;
	PFN_WSK_DISCONNECT WskDisconnect;
	PFN_WSK_RELEASE_DATA_INDICATION_LIST WskRelease;
	PFN_WSK_CONNECT_EX WskConnectEx;
	PFN_WSK_SEND_EX WskSendEx;
	PFN_WSK_RECEIVE_EX WskReceiveEx;
} WSK_PROVIDER_CONNECTION_DISPATCH, *PWSK_PROVIDER_CONNECTION_DISPATCH;

typedef struct _WSK_PROVIDER_STREAM_DISPATCH {
	DPW_WSK_BASIC_MEMBERS;
	PFN_WSK_BIND WskBind;
	PFN_WSK_ACCEPT WskAccept;
	PFN_WSK_CONNECT WskConnect;
	PFN_WSK_LISTEN WskListen;
	PFN_WSK_SEND WskSend;
	PFN_WSK_RECEIVE WskReceive;
	PFN_WSK_DISCONNECT WskDisconnect;
	PFN_WSK_RELEASE_DATA_INDICATION_LIST WskRelease;
	PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
	PFN_WSK_GET_REMOTE_ADDRESS WskGetRemoteAddress;
	PFN_WSK_CONNECT_EX WskConnectEx;
	PFN_WSK_SEND_EX WskSendEx;
	PFN_WSK_RECEIVE_EX WskReceiveEx;
} WSK_PROVIDER_STREAM_DISPATCH, *PWSK_PROVIDER_STREAM_DISPATCH;

/*
 * Typed views of Socket->Dispatch (a dpwsk addition, hence the Dpw prefix; Windows has none).
 * WSK hands out the table as an untyped pointer whose type follows the WSK_FLAG_*_SOCKET the
 * socket was made with; every caller would otherwise write the same cast. They check nothing:
 * asking a listening socket for its connection table is the caller's mistake, as the cast was.
 * Every table starts with the basic members, so DpwBasicDispatch fits any socket.
 */
static inline const WSK_PROVIDER_BASIC_DISPATCH *DpwBasicDispatch(PWSK_SOCKET Socket)
{
	return (const WSK_PROVIDER_BASIC_DISPATCH *)Socket->Dispatch;
}

static inline const WSK_PROVIDER_LISTEN_DISPATCH *DpwListenDispatch(PWSK_SOCKET Socket)
{
	return (const WSK_PROVIDER_LISTEN_DISPATCH *)Socket->Dispatch;
}

static inline const WSK_PROVIDER_DATAGRAM_DISPATCH *DpwDatagramDispatch(PWSK_SOCKET Socket)
{
	return (const WSK_PROVIDER_DATAGRAM_DISPATCH *)Socket->Dispatch;
}

static inline const WSK_PROVIDER_CONNECTION_DISPATCH *DpwConnectionDispatch(PWSK_SOCKET Socket)
{
	return (const WSK_PROVIDER_CONNECTION_DISPATCH *)Socket->Dispatch;
}

static inline const WSK_PROVIDER_STREAM_DISPATCH *DpwStreamDispatch(PWSK_SOCKET Socket)
{
	return (const WSK_PROVIDER_STREAM_DISPATCH *)Socket->Dispatch;
}

/*
 * Registration (WSK-R1).
 */

typedef struct _WSK_CLIENT_NPI {
	PVOID ClientContext;
	const WSK_CLIENT_DISPATCH *Dispatch;
} WSK_CLIENT_NPI, *PWSK_CLIENT_NPI;

typedef struct _WSK_PROVIDER_NPI {
	PWSK_CLIENT Client;
	const WSK_PROVIDER_DISPATCH *Dispatch;
} WSK_PROVIDER_NPI, *PWSK_PROVIDER_NPI;

/* Filled by WskRegister; opaque to the client, which only keeps it alive until
 * WskDeregister returns. Same size and fields as Windows'. */
typedef struct _WSK_REGISTRATION {
	ULONGLONG ReservedRegistrationState;
	PVOID ReservedRegistrationContext;
	KSPIN_LOCK ReservedRegistrationLock;
} WSK_REGISTRATION, *PWSK_REGISTRATION;

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_WSK_TYPES_H */
