/* lwIP hooks (LWIP_HOOK_FILENAME in lwipopts.h), included by lwIP's own sources. */
#ifndef DPW_LWIP_HOOKS_H
#define DPW_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

/* RFC 6528 initial sequence numbers: a 4 µs clock plus a keyed hash of the connection's
 * addresses, so that ISNs cannot be predicted from one connection to the next (lwIP's
 * default is a counter). */
u32_t dpw_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
		  u16_t remote_port);

#endif /* DPW_LWIP_HOOKS_H */
