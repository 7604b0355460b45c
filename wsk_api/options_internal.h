/* Between control.c, udp.c and security.c: the datagram side of the socket IOCTLs and
 * options, and the security descriptor cache (WSK-F8, F9, F2, C7). lcore unless marked. */
#ifndef DPWSK_OPTIONS_INTERNAL_H
#define DPWSK_OPTIONS_INTERNAL_H

#include "socket_internal.h"

/* udp.c */
#define DPW_UDP_QUEUE_MAX      256u            /* datagrams queued per socket, at most */
#define DPW_UDP_RCVBUF_DEFAULT (256u * 1024)   /* SO_RCVBUF of a datagram socket by default */
#define DPW_UDP_SNDBUF_DEFAULT (64u * 1024)    /* SO_SNDBUF reported (sends are not buffered) */
NTSTATUS dpw_udp_set_remote(struct dpw_socket *s, const SOCKADDR *addr, SIZE_T len);
NTSTATUS dpw_udp_set_sendto(struct dpw_socket *s, const SOCKADDR *addr, SIZE_T len);
SIZE_T dpw_udp_backlog(const struct dpw_socket *s);   /* bytes queued */
/* The receive-from event may have been enabled: indicate what is queued. */
void dpw_udp_events_changed(struct dpw_socket *s);

/* security.c */
/* Any thread (WskControlClient): WSK_CACHE_SD and WSK_RELEASE_SD. */
NTSTATUS dpw_security_cache(struct dpw_client *c, SIZE_T in_len, PVOID in, SIZE_T out_len,
			    PVOID out, SIZE_T *out_used);
NTSTATUS dpw_security_release(struct dpw_client *c, SIZE_T in_len, PVOID in);
/* A new cached handle of s's descriptor (NULL if none), for WskGetOption(SO_WSK_SECURITY). */
PVOID dpw_security_socket_get(struct dpw_socket *s);
void dpw_security_inherit(struct dpw_socket *conn, const struct dpw_socket *listener);

#endif /* DPWSK_OPTIONS_INTERNAL_H */
