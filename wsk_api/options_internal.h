/* Between control.c, udp.c and security.c: the datagram defaults control.c reports, and the
 * security descriptor cache (WSK-F8, F9, F2, C7). lcore unless marked. */
#ifndef DPWSK_OPTIONS_INTERNAL_H
#define DPWSK_OPTIONS_INTERNAL_H

#include "socket_internal.h"

/* udp.c */
#define DPW_UDP_QUEUE_MAX      256u            /* datagrams queued per socket, at most */
#define DPW_UDP_RCVBUF_DEFAULT (256u * 1024)   /* SO_RCVBUF of a datagram socket by default */
#define DPW_UDP_SNDBUF_DEFAULT (64u * 1024)    /* SO_SNDBUF reported (sends are not buffered) */

/* security.c */
/* Any thread (WskControlClient): WSK_CACHE_SD and WSK_RELEASE_SD. */
NTSTATUS dpw_security_cache(struct dpw_client *c, SIZE_T in_len, PVOID in, SIZE_T out_len,
			    PVOID out, SIZE_T *out_used);
NTSTATUS dpw_security_release(struct dpw_client *c, SIZE_T in_len, PVOID in);
/* A new cached handle of s's descriptor (NULL if none), for WskGetOption(SO_WSK_SECURITY). */
PVOID dpw_security_socket_get(struct dpw_socket *s);

#endif /* DPWSK_OPTIONS_INTERNAL_H */
