/* lwIP hooks (LWIP_HOOK_FILENAME in lwipopts.h), included by lwIP's own sources. */
#ifndef DPW_LWIP_HOOKS_H
#define DPW_LWIP_HOOKS_H

#include "lwip/err.h"
#include "lwip/ip_addr.h"

/* RFC 6528 initial sequence numbers: a 4 µs clock plus a keyed hash of the connection's
 * addresses, so that ISNs cannot be predicted from one connection to the next (lwIP's
 * default is a counter). */
u32_t dpw_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
		  u16_t remote_port);

/* A SYN beyond a TIME_WAIT connection's sequence space opens a new connection (RFC 1122
 * 4.2.2.13) instead of being answered with an ACK that the client resets, stalling its
 * connect (tcp_timewait.c). ERR_OK: lwIP goes on as usual; otherwise the segment was handled. */
struct tcp_pcb;
struct tcp_hdr;
struct pbuf;
err_t dpw_tcp_timewait_syn(struct tcp_pcb *pcb, struct tcp_hdr *hdr, u16_t optlen, u8_t *opt2,
			   struct pbuf *p);

/* TSO (lwip-0020, netif_dpdk.c): the largest segment tcp_write builds for a connection with
 * this MSS; whether the interface cuts TCP segments itself; a segment going out, and its
 * MSS (the size the device cuts it to). */
struct netif;
u16_t dpw_tcp_seg_max(u16_t mss);
int dpw_netif_tso(const struct netif *netif);
void dpw_tcp_seg_out(u16_t mss, const struct pbuf *p);

#endif /* DPW_LWIP_HOOKS_H */
