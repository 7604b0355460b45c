/* The applications inside the fuzzed engine, on lwIP's raw API, and the reset between
 * inputs. Kept apart from the DPDK side because lwIP's and <netinet/ip.h>'s macros clash.
 * Call on the polling thread only. */
#ifndef DPW_FUZZ_PEER_LWIP_H
#define DPW_FUZZ_PEER_LWIP_H

#include <stdint.h>

/* The ports and the peer the harness's applications use (the seeds use them too). */
#define FUZZ_TCP_ECHO_PORT 7     /* echoes, closes when the peer does */
#define FUZZ_TCP_HOLD_PORT 9     /* refuses every byte: lwIP keeps it (refused_data) */
#define FUZZ_UDP_ECHO_PORT 7
#define FUZZ_UDP_HOLD_PORT 9     /* keeps the last few datagrams until the reset */
#define FUZZ_CLIENT_PORT 5000    /* the stack's own connection, to the peer's port 80 */
#define FUZZ_PEER_PORT 80

/* Room for the engine's pbuf in each mbuf of the harness's RX pool (the zero-copy path
 * needs it, see dpw_engine_input); peer_lwip.c checks that lwIP's pbuf_custom fits. */
#define FUZZ_RX_PRIV 64

/* Listeners and datagram sockets, once. 0 or -1. */
int fuzz_apps_start(void);

/* Bring lwIP back to the state right after fuzz_apps_start(), so that every input starts
 * from the same state: connections aborted, datagrams held released, reassembly, ARP and
 * neighbour caches emptied. */
void fuzz_apps_reset(void *netif);

/* Open the stack's own connection, FUZZ_CLIENT_PORT to peer_ip (IPv4, network byte order)
 * port FUZZ_PEER_PORT; its SYN waits for ARP, as any first connection's does. */
void fuzz_apps_open_client(uint32_t peer_ip);

/* After fuzz_apps_reset(): NULL when lwIP holds nothing it should not (no pcb besides the
 * listeners and datagram sockets, no segment, reassembly or queued packet), else what. */
const char *fuzz_apps_leftover(void);

#endif /* DPW_FUZZ_PEER_LWIP_H */
