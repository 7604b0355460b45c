/* What a WSK client passes to WskControlSocket and WskControlClient beyond wsk_types.h: the
 * socket option numbers (WSK-F9) with Windows' values, the datagram control flags (WSK-F8),
 * and dpwsk's userspace security descriptor (WSK-F2, C7). Included by wsk.h. */
#ifndef DPWSK_WSK_OPTIONS_H
#define DPWSK_WSK_OPTIONS_H

#include "wsk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Socket options, Windows' numbers (winsock2.h, ws2def.h, ws2ipdef.h).
 *
 * glibc's <sys/socket.h> defines SOL_SOCKET, SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF and
 * SO_RCVBUF too, with other values (SOL_SOCKET 1, SO_REUSEADDR 2, SO_KEEPALIVE 9, SO_SNDBUF 7,
 * SO_RCVBUF 8: Linux's SO_RCVBUF is Windows' SO_KEEPALIVE!). A WSK client includes both, so
 * Windows' values get names of their own here, WSK_-prefixed, and the provider only ever
 * reads option numbers as Windows': pass WSK_SO_RCVBUF, never SO_RCVBUF. The one exception
 * is the level: glibc's SOL_SOCKET (1) is accepted as well as WSK_SOL_SOCKET, since no
 * Windows level is 1 and code ported from Windows often spells the level SOL_SOCKET.
 * IPPROTO_TCP (6) and TCP_NODELAY (1) happen to be equal on both systems; the WSK_ names
 * exist for symmetry.
 */
#define WSK_SOL_SOCKET           0xffff   /* Windows' SOL_SOCKET */
#define WSK_SO_REUSEADDR         0x0004
#define WSK_SO_KEEPALIVE         0x0008
#define WSK_SO_SNDBUF            0x1001
#define WSK_SO_RCVBUF            0x1002
#define WSK_SO_EXCLUSIVEADDRUSE  ((int)(~WSK_SO_REUSEADDR))   /* 0xfffffffb */
#define WSK_IPPROTO_TCP          6        /* level of TCP_NODELAY */
#define WSK_TCP_NODELAY          0x0001
#define WSK_IPPROTO_IPV6         41       /* level of IPV6_V6ONLY */
#define WSK_IPV6_V6ONLY          27       /* Windows' number (Linux's is 26) */
/* SO_WSK_SECURITY and SO_WSK_EVENT_CALLBACK are WSK's own (wsk_types.h), level SOL_SOCKET. */

/*
 * What each option does here (set with a ULONG, 0 or 1 for the flags; get returns a ULONG):
 *
 *  WSK_SO_REUSEADDR, WSK_SO_EXCLUSIVEADDRUSE   before bind (STATUS_INVALID_DEVICE_STATE after);
 *      listening, datagram, connection and stream sockets. Whether a second socket may bind
 *      a port another holds follows Microsoft's table for sharing transport addresses
 *      (WSK-F2, W5): each one's option, wildcard or specific address, and where the table
 *      asks, the first socket's security descriptor. The two options exclude each other:
 *      setting one while the other is on is STATUS_INVALID_PARAMETER.
 *  WSK_SO_RCVBUF  datagram sockets: the bytes of datagrams queued while no WskReceiveFrom is
 *      pending and the receive-from event is off (beyond it, and beyond 256 datagrams,
 *      arrivals are dropped and counted). TCP sockets: recorded and reported back only; lwIP's
 *      receive window is fixed when the stack is built (TCP_WND, 128 KiB).
 *  WSK_SO_SNDBUF  recorded and reported back only: a datagram send completes once the datagram
 *      is handed to the transport (nothing is buffered), and lwIP's TCP send buffer is fixed
 *      when the stack is built (TCP_SND_BUF, 128 KiB).
 *  WSK_SO_KEEPALIVE  listening, connection and stream sockets: lwIP's TCP keepalive (first
 *      probe after 2 hours idle, as on Windows).
 *  WSK_TCP_NODELAY (level WSK_IPPROTO_TCP)  connection and stream sockets (recorded on
 *      listening ones, for the connections they accept): disables Nagle's algorithm.
 *  WSK_IPV6_V6ONLY (level WSK_IPPROTO_IPV6)  AF_INET6 sockets, before bind (after:
 *      STATUS_INVALID_DEVICE_STATE; on an AF_INET socket STATUS_INVALID_PARAMETER): 1, the
 *      default as on Windows, IPv6 only; 0, dual stack (WSK-W6): bound to "::" the socket
 *      takes IPv4 peers too, IPv4-mapped addresses (::ffff:a.b.c.d) reach IPv4 ones, and
 *      IPv4 addresses are reported IPv4-mapped.
 *  Accepted connections inherit all of these from their listening socket.
 *
 *  SIO_WSK_QUERY_RECEIVE_BACKLOG  (WskIoctl, output SIZE_T) bytes received and not yet taken:
 *      TCP data not yet received by the client, or the datagrams queued on a datagram socket.
 *  SIO_WSK_QUERY_IDEAL_SEND_BACKLOG  (WskIoctl, output SIZE_T) connected TCP sockets: lwIP's
 *      send buffer size (TCP_SND_BUF), the most send data worth keeping outstanding. The same
 *      figure goes to WskSendBacklogEvent once, when that event is enabled on a connected
 *      socket or a socket with it enabled connects (it is fixed, so it never changes later).
 *  SIO_WSK_SET_REMOTE_ADDRESS  (WskIoctl, input a SOCKADDR; none to clear it) bound datagram
 *      sockets: WskSendTo/WskSendMessages with a NULL RemoteAddress go there, and only
 *      datagrams from that address are received.
 *  SIO_WSK_SET_SENDTO_ADDRESS  (WskIoctl, input a SOCKADDR; none to clear it) datagram
 *      sockets: sends with a NULL RemoteAddress go there (the remote address, if also set,
 *      wins); what is received is not filtered.
 *
 * Any other option or IOCTL: STATUS_NOT_SUPPORTED, as is an option on a category it does not
 * apply to. A get with OutputSize too small: STATUS_BUFFER_TOO_SMALL.
 */

/*
 * Datagram control flags (ws2def.h), reported in WskReceiveFrom's *ControlFlags and in the
 * Flags of WskReceiveFromEvent. DPW_ names, since glibc's MSG_TRUNC (0x20) and friends differ.
 */
#define DPW_MSG_TRUNC   0x0100   /* the datagram was longer than the buffer: the rest is lost */
#define DPW_MSG_CTRUNC  0x0200   /* control data truncated (never: none is produced) */
#define DPW_MSG_BCAST   0x0400   /* received as a broadcast */
#define DPW_MSG_MCAST   0x0800   /* received on a multicast address (never: no IGMP) */

/*
 * Security descriptors, userspace meaning. On Windows a security descriptor on a socket says
 * who may share its local address. Here the "who" is a registered WSK client: a descriptor
 * is the set of clients (their PWSK_CLIENT, WSK_PROVIDER_NPI.Client) allowed to share.
 *
 *   WskControlClient(Client, WSK_CACHE_SD, sizeof(PSECURITY_DESCRIPTOR), &in,
 *                    sizeof(PSECURITY_DESCRIPTOR), &cached, NULL, NULL)
 *       in: a PSECURITY_DESCRIPTOR variable pointing to a DPW_SECURITY_DESCRIPTOR (the caller's,
 *       copied: it may go away afterwards); cached: receives the provider's handle.
 *   WskSocket(..., cached, Irp) or WskControlSocket(WskSetOption, SO_WSK_SECURITY, SOL_SOCKET,
 *                    sizeof(PSECURITY_DESCRIPTOR), &cached, ...)   before bind
 *   WskControlClient(Client, WSK_RELEASE_SD, sizeof(PSECURITY_DESCRIPTOR), &cached, 0, NULL,
 *                    NULL, NULL)
 *
 * A socket holds its own reference: the descriptor stays cached after the socket closes, and
 * only WSK_RELEASE_SD gives up the client's handle (WSK-C7). A WskGetOption of SO_WSK_SECURITY
 * returns another cached handle, to be released the same way. Handles are per client.
 * WskDeregister reports (on stderr, and in DPW_SECURITY_STATS) handles never released, and
 * releases them. Without a descriptor a socket shares with nobody (unless SO_REUSEADDR).
 */
#define DPW_SECURITY_DESCRIPTOR_REVISION 1
#define DPW_SD_SHARE_ANY_CLIENT 0x00000001   /* Flags: every registered client may share */
#define DPW_SD_MAX_CLIENTS      4096         /* more: STATUS_INVALID_PARAMETER */

typedef struct _DPW_SECURITY_DESCRIPTOR {
	ULONG Revision;                  /* DPW_SECURITY_DESCRIPTOR_REVISION */
	ULONG Flags;                     /* DPW_SD_* */
	ULONG ClientCount;               /* entries in Clients */
	const PWSK_CLIENT *Clients;      /* clients allowed to share the local address */
} DPW_SECURITY_DESCRIPTOR, *PDPW_SECURITY_DESCRIPTOR;

/* Counters (dpwsk's own, for tests and telemetry). */
typedef struct _DPW_SECURITY_STATS {
	ULONG Descriptors;                 /* descriptor objects alive (cached or held by sockets) */
	ULONG CachedHandles;               /* handles given to clients and not yet released */
	ULONGLONG ReportedAtDeregister;    /* handles WskDeregister found unreleased (C7) */
} DPW_SECURITY_STATS, *PDPW_SECURITY_STATS;
VOID DpwGetSecurityStats(PDPW_SECURITY_STATS Stats);

typedef struct _DPW_DATAGRAM_STATS {
	ULONGLONG Sent;                    /* datagrams handed to the transport */
	ULONGLONG Received;                /* datagrams that reached a datagram socket */
	ULONGLONG QueueDrops;              /* dropped: the socket's queue was full (SO_RCVBUF) */
	ULONGLONG Indicated;               /* given to WskReceiveFromEvent */
	ULONG Retained;                    /* indications kept by clients, not yet released */
} DPW_DATAGRAM_STATS, *PDPW_DATAGRAM_STATS;
VOID DpwGetDatagramStats(PDPW_DATAGRAM_STATS Stats);

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_WSK_OPTIONS_H */
