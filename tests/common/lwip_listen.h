/* A raw-lwIP TCP listener, for the test probes and fuzz harnesses that drive lwIP directly
 * (the probes in tests/unit, tests/fuzz/peer_lwip.c). Polling thread only. */
#ifndef DPW_TEST_LWIP_LISTEN_H
#define DPW_TEST_LWIP_LISTEN_H

#include "lwip/tcp.h"

/* Listen on port of every address of type (IPADDR_TYPE_V4, _V6 or _ANY), with at most
 * backlog half-open connections (0: lwIP's default); accept runs with arg for each new
 * connection. The listening pcb, or NULL with nothing left allocated. */
struct tcp_pcb *lwip_listen(u8_t type, u16_t port, u16_t backlog, tcp_accept_fn accept,
			    void *arg);

#endif /* DPW_TEST_LWIP_LISTEN_H */
